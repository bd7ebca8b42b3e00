"""``Family``: what the rest of the product knows about one kind of model, without importing it.

A family is a class with class attributes and class/static methods (never instantiated)::

    inputs        ⊆ {"image", "pose2d", "pose3d"}
    outputs       ⊆ {"pose3d", "pose2d", "heatmaps", "hypotheses", "embeddings", "latent",
                     "projection", "prediction", "logits"}
    feature_names   the named features a model of the family can offer (embedding explorer,
                    CKA, kernels read them; a given model may offer fewer, see its
                    ``feature_names``)
    resolve(backbone, options) -> config   fill in defaults, validate, return the resolved config
                                            (what a checkpoint stores)
    build(config) -> nn.Module              the model of a resolved config
    recognise(state, hints) -> Recognised | None
                    foreign checkpoint layouts of the family; families that share a recogniser
                    share the function object, and the checkpoint reader asks each distinct
                    function once
    predict(model, batch) -> Prediction     one batch (``{"image": (N, 3, S, S)}``,
                    ``{"joints_2d": ...}``, ...) through the model, under the caller's no-grad

The table of families is :data:`hpe_core.models.families.FAMILIES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Mapping

if TYPE_CHECKING:
    from torch import nn

    from hpe_core.models.layouts import Recognised
    from hpe_core.predictions import Prediction

INPUTS = frozenset({"image", "pose2d", "pose3d"})
OUTPUTS = frozenset({"pose3d", "pose2d", "heatmaps", "hypotheses", "embeddings", "latent",
                     "projection", "prediction", "logits"})


class Family:
    """Base of every model family (see the module docstring)."""

    name: ClassVar[str] = ""
    seed: ClassVar[str] = ""  # the seed report it comes from ("000", "001", ...)
    aliases: ClassVar[tuple[str, ...]] = ()  # other names accepted for it ("supervised", ...)
    inputs: ClassVar[frozenset[str]] = frozenset()
    outputs: ClassVar[frozenset[str]] = frozenset()
    feature_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bad = (set(cls.inputs) - INPUTS) | (set(cls.outputs) - OUTPUTS)
        if bad:
            raise TypeError(f"family {cls.__name__}: unknown inputs/outputs {sorted(bad)}")

    @classmethod
    def resolve(cls, backbone: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        """The resolved config (``{"family", "backbone", ...}``) of ``options``; InputError if invalid."""
        raise NotImplementedError

    @classmethod
    def build(cls, config: Mapping[str, Any]) -> "nn.Module":
        """A model of the resolved ``config`` (weights freshly initialised)."""
        raise NotImplementedError

    @staticmethod
    def recognise(state: Mapping[str, Any], hints: Mapping[str, Any]) -> "Recognised | None":
        """A foreign state dict in this family's layouts, remapped; None when it is not one."""
        return None

    @classmethod
    def predict(cls, model: "nn.Module", batch: Mapping[str, Any]) -> "Prediction":
        """One batch through ``model`` -> :class:`~hpe_core.predictions.Prediction` (numpy, CPU)."""
        raise NotImplementedError
