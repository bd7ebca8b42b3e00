"""The model families: one module per family, one table.

    FAMILIES["simclr"].outputs            # frozenset({"embeddings", "projection"})
    model = build_model("regressor", "resnet18", head_layers=2)
    FAMILIES[model.family].predict(model, {"image": x})   # -> Prediction

:data:`FAMILIES` maps a family name to its :class:`Family` class (a plain dict, no registry);
adding a family is a module here, its entry below, and its tests.
"""

from __future__ import annotations

from typing import Any

from hpe_core.errors import InputError
from hpe_core.models.families.base import INPUTS, OUTPUTS, Family
from hpe_core.models.families.contrastive import MoCoFamily, SimCLRFamily, SimSiamFamily
from hpe_core.models.families.encoder import HPEModel
from hpe_core.models.families.heatmap2d import Heatmap2DFamily
from hpe_core.models.families.lifter import LifterFamily
from hpe_core.models.families.multitask import MultitaskFamily
from hpe_core.models.families.regressor import RegressorFamily, regressor_from
from hpe_core.models.families.resnet import ResNetFamily
from hpe_core.models.families.vae_lifter import VAELifterFamily
from hpe_core.models.families.unihpe import UniHPEFamily

FAMILIES: dict[str, type[Family]] = {
    "resnet": ResNetFamily,
    "simclr": SimCLRFamily,
    "simsiam": SimSiamFamily,
    "moco": MoCoFamily,
    "regressor": RegressorFamily,
    "vae_lifter": VAELifterFamily,
    "heatmap2d": Heatmap2DFamily,
    "lifter": LifterFamily,
    "multitask": MultitaskFamily,
    "unihpe": UniHPEFamily,
}

__all__ = ["FAMILIES", "Family", "HPEModel", "INPUTS", "OUTPUTS", "build_model", "canonical_family",
           "family_of", "predicts_pose", "regressor_from"]


def canonical_family(family: str) -> str:
    """The :data:`FAMILIES` key of ``family`` or one of its aliases; InputError naming the valid ones."""
    name = str(family).lower()
    for key, cls in FAMILIES.items():
        if name == key or name in cls.aliases:
            return key
    raise InputError(f"model family {family!r}: valid families are {', '.join(FAMILIES)}")


def family_of(model: Any) -> type[Family]:
    """The family class of a built model (its ``family`` attribute)."""
    name = getattr(model, "family", None)
    if name not in FAMILIES:
        raise InputError(f"{type(model).__name__}: not a model of a known family ({name!r})")
    return FAMILIES[name]


def predicts_pose(model: Any) -> bool:
    """Whether ``model`` predicts joints: its ``has_pose_head``, else its family's outputs."""
    has = getattr(model, "has_pose_head", None)
    if has is None:
        has = bool({"pose3d", "pose2d"} & family_of(model).outputs)
    return bool(has)


def build_model(family: str, backbone: str = "resnet18", **config: Any):
    """Build a fresh model of ``family`` on ``backbone`` (resnet18/34/50/101 for the encoder families).

    Keywords: width (64), in_channels (3), and each family's own options (see its module:
    resnet ``num_classes``; simclr/moco/simsiam projector options; regressor head options).
    Unknown keywords raise InputError.
    """
    cls = FAMILIES[canonical_family(family)]
    return cls.build(cls.resolve(backbone, config))
