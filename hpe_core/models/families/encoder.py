"""What the seed-000 families share: a ResNet encoder with optional projection / prediction MLPs.

:class:`HPEModel` is that network (``.encoder``, a ResNet; ``.projector``, ``.predictor``; the
regressor adds a pose ``head``); every model exposes its features by name and ``model.config``
is the resolved config that rebuilds it. :class:`EncoderFamily` is the family base of resnet,
simclr, simsiam, moco and regressor: one config resolution, one ResNet layout recogniser
(:func:`hpe_core.models.layouts.recognise`), one ``predict`` (encoder embeddings).
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from hpe_core.errors import InputError
from hpe_core.models import heads
from hpe_core.models.families.base import Family
from hpe_core.models.family_net import FamilyNet
from hpe_core.models.resnet import ARCHS, STAGES, build_resnet

MAPS = ("conv1", *STAGES)
COMMON = {"width": 64, "in_channels": 3}


class HPEModel(FamilyNet):
    """Encoder (``.encoder``, a ResNet) + optional ``projector``, ``predictor``, pose ``head``.

    Build one with :func:`hpe_core.models.build_model`; ``config`` must be a resolved config
    (what ``model.config`` returns).
    """

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.family = config["family"]
        self.encoder = build_resnet(self.backbone_name, config["width"], config["in_channels"],
                                    config.get("num_classes", 0))
        self.projector = heads.build_mlp(config["projector"]) if config.get("projector") else None
        self.predictor = heads.build_mlp(config["predictor"]) if config.get("predictor") else None
        self.head: nn.Module | None = None
        self.skeleton: str | None = config.get("skeleton")
        self.num_joints: int | None = config.get("num_joints")
        self.train(False)

    # --- what the model offers -------------------------------------------------------------
    @property
    def has_pose_head(self) -> bool:
        return self.head is not None

    @property
    def output_names(self) -> tuple[str, ...]:
        """The head outputs it computes: of logits, projection, prediction, pose."""
        present = {"logits": bool(self.encoder.num_classes), "projection": self.projector is not None,
                   "prediction": self.predictor is not None, "pose": self.head is not None}
        return tuple(name for name, there in present.items() if there)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return (*MAPS, "encoder", *self.output_names)

    def feature_dims(self) -> dict[str, int]:
        """Width of each named feature once pooled/flattened: {name: d}."""
        stage = self.encoder.stage_channels()
        dims = {name: stage[name] for name in MAPS}
        dims["encoder"] = self.encoder.num_features
        if "logits" in self.output_names:
            dims["logits"] = self.encoder.num_classes
        if self.projector is not None:
            dims["projection"] = heads.spec_out_dim(self.config["projector"])
        if self.predictor is not None:
            dims["prediction"] = heads.spec_out_dim(self.config["predictor"])
        if self.head is not None:
            dims["pose"] = self.num_joints * 3
        return dims

    # --- computing ------------------------------------------------------------------------
    def _check_names(self, names: Iterable[str] | None) -> tuple[str, ...]:
        wanted = self.feature_names if names is None else tuple(names)
        unknown = [n for n in wanted if n not in self.feature_names]
        if unknown:
            raise InputError(f"features {unknown} are not offered by this {self.family} model; "
                             f"valid names: {', '.join(self.feature_names)}")
        return wanted

    def features(self, x: torch.Tensor, names: Iterable[str] | None = None,
                 pooled: bool = True) -> dict[str, torch.Tensor]:
        """x (N, C, H, W) normalised images -> {name: (N, d)} in the order asked.

        conv1/layerK are global-average pooled to (N, C) unless ``pooled=False`` (then (N, C, h, w)).
        "pose" is (N, J*3) in mm, root-relative; "logits" is (N, num_classes).
        """
        wanted = self._check_names(names)
        need_pooled = any(n not in MAPS for n in wanted)
        raw = self.encoder.forward_features(x, [n for n in wanted if n in MAPS] + ["pooled"] * need_pooled)
        out = {n: F.adaptive_avg_pool2d(raw[n], 1).flatten(1) if pooled else raw[n] for n in wanted if n in MAPS}
        h = raw.get("pooled")
        if "encoder" in wanted:
            out["encoder"] = h
        if "logits" in wanted:
            out["logits"] = self.encoder.fc(h)
        if "projection" in wanted or "prediction" in wanted:
            z = self.projector(h)
            out["projection"] = z
            if "prediction" in wanted:
                out["prediction"] = self.predictor(z)
        if "pose" in wanted:
            out["pose"] = self.pose_from_features(h).flatten(1)
        return {n: out[n] for n in wanted}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"encoder": (N, d), plus each head output of the family} (see :meth:`features`)."""
        return self.features(x, ("encoder", *self.output_names))

    def predict_pose(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) normalised images -> (N, J, 3) mm, root-relative (root row zeros)."""
        return self.pose_from_features(self.encoder.forward_features(x, ("pooled",))["pooled"])

    def pose_from_features(self, h: torch.Tensor) -> torch.Tensor:
        """Encoder features (N, d) -> (N, J, 3) mm, root-relative (e.g. from a feature cache)."""
        raise InputError(f"this {self.family} model ({self.backbone_name}) has no pose head; "
                         "load a regressor checkpoint to predict poses")


def recognise_resnet(state: Mapping[str, torch.Tensor], hints: Mapping[str, Any]):
    """The ResNet-encoder layouts of :mod:`hpe_core.models.layouts` (all five seed-000 families)."""
    from hpe_core.models.layouts import recognise

    return recognise(dict(state), dict(hints))


class EncoderFamily(Family):
    """A ResNet encoder family: config keywords ``width`` (64), ``in_channels`` (3) plus
    :attr:`defaults`; the keywords in :attr:`convenience` shape the heads but are not stored."""

    seed = "000"
    inputs = frozenset({"image"})
    defaults: ClassVar[dict[str, Any]] = {}
    convenience: ClassVar[frozenset[str]] = frozenset()
    model_class: ClassVar[type[HPEModel]] = HPEModel
    recognise = staticmethod(recognise_resnet)

    @classmethod
    def resolve(cls, backbone: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        if backbone not in ARCHS:
            raise InputError(f"backbone {backbone!r}: valid backbones are {', '.join(ARCHS)}")
        allowed = {**COMMON, **cls.defaults}
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise InputError(f"{cls.name} model: unknown option(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(sorted(allowed))}")
        cfg = {**allowed, **options}
        cfg["width"], cfg["in_channels"] = int(cfg["width"]), int(cfg["in_channels"])
        block_expansion = 4 if ARCHS[backbone][0] == "bottleneck" else 1
        d = cfg["width"] * 8 * block_expansion
        cls.resolve_heads(cfg, d)
        _check_mlps(cfg, d)
        return {"family": cls.name, "backbone": backbone,
                **{k: v for k, v in cfg.items() if k not in cls.convenience}}

    @classmethod
    def resolve_heads(cls, cfg: dict[str, Any], d: int) -> None:
        """Fill in the head specs of ``cfg`` for encoder features of width ``d`` (in place)."""

    @classmethod
    def build(cls, config: Mapping[str, Any]) -> HPEModel:
        return cls.model_class(config)

    @classmethod
    def predict(cls, model: HPEModel, batch: Mapping[str, Any]):
        """``{"image": (N, 3, S, S)}`` -> Prediction with ``embeddings["image"]`` (N, d) encoder features."""
        from hpe_core.predictions import Prediction

        h = model.features(batch["image"], ("encoder",))["encoder"]
        return Prediction(embeddings={"image": h.float().cpu().numpy()}, skeleton=model.skeleton)


def _check_mlps(cfg: dict[str, Any], d: int) -> None:
    for name in ("projector", "predictor"):
        if cfg.get(name):
            cfg[name] = heads.check_spec(cfg[name], name)
            takes = d if name == "projector" else heads.spec_out_dim(cfg["projector"])
            dims = heads.spec_dims(cfg[name])
            if not dims or dims[0] != takes:
                raise InputError(f"{name}: needs a first linear layer taking {takes} inputs")
