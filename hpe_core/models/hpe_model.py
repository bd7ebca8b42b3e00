"""``HPEModel``: a ResNet encoder plus the heads of its family, and ``build_model``.

Families (seed 000): ``resnet`` (plain / supervised, optional ``fc``), ``simclr`` and ``moco``
(encoder + projection MLP), ``simsiam`` (encoder + BN projector + bottleneck predictor),
``regressor`` (a frozen encoder + a 1/2/3-layer 3D pose head). Every model exposes its features by
name; ``model.config`` holds everything ``build_model(**model.config)`` needs to rebuild it.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from hpe_core.errors import InputError
from hpe_core.models import heads
from hpe_core.models.fk_head import build_pose_head, resolve_config as resolve_pose_head
from hpe_core.models.resnet import ARCHS, STAGES, build_resnet
from hpe_core.skeleton import get_skeleton

FAMILIES = ("resnet", "simclr", "simsiam", "moco", "regressor")
FAMILY_ALIASES = {"supervised": "resnet", "plain": "resnet"}
MAPS = ("conv1", *STAGES)


def canonical_family(family: str) -> str:
    name = FAMILY_ALIASES.get(str(family).lower(), str(family).lower())
    if name not in FAMILIES:
        raise InputError(f"model family {family!r}: valid families are {', '.join(FAMILIES)}")
    return name


class HPEModel(nn.Module):
    """Encoder (``.encoder``, a ResNet) + optional ``projector``, ``predictor``, pose ``head``.

    Build it with :func:`build_model`; ``config`` must be a resolved config (what
    ``model.config`` returns).
    """

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        self.family = config["family"]
        self.backbone_name = config["backbone"]
        num_classes = config.get("num_classes", 0) if self.family == "resnet" else 0
        self.encoder = build_resnet(self.backbone_name, config["width"], config["in_channels"], num_classes)
        self.projector = heads.build_mlp(config["projector"]) if config.get("projector") else None
        self.predictor = heads.build_mlp(config["predictor"]) if config.get("predictor") else None
        self.head = None
        self.skeleton: str | None = config.get("skeleton")
        self.num_joints: int | None = config.get("num_joints")
        if self.family == "regressor":
            self.head = build_pose_head(config)  # free (MLP) or fk (seed 004), by config["pose_head"]
            self.root_index = int(config["root_index"])
            self.pose_scale = float(config["pose_scale"])
            if config["freeze_encoder"]:
                self.encoder.requires_grad_(False)
        self.train(False)

    # --- what the model offers -------------------------------------------------------------
    @property
    def has_pose_head(self) -> bool:
        return self.head is not None

    @property
    def output_names(self) -> tuple[str, ...]:
        names = {"resnet": ("logits",) if self.encoder.num_classes else (),
                 "simclr": ("projection",), "moco": ("projection",),
                 "simsiam": ("projection", "prediction"), "regressor": ("pose",)}[self.family]
        if self.family == "simsiam" and self.predictor is None:
            names = ("projection",)
        return names

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

    def train(self, mode: bool = True) -> "HPEModel":
        super().train(mode)
        if self.family == "regressor" and self.config.get("freeze_encoder"):
            self.encoder.eval()  # a frozen encoder keeps its BatchNorm statistics
        return self

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
            out["pose"] = self._pose(h).flatten(1)
        return {n: out[n] for n in wanted}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"encoder": (N, d), plus each head output of the family} (see :meth:`features`)."""
        return self.features(x, ("encoder", *self.output_names))

    def _pose(self, h: torch.Tensor) -> torch.Tensor:
        if getattr(self.head, "outputs_joints", False):  # the fk head composes the pose itself
            return self.head(h)
        flat = self.head(h) * self.pose_scale  # (N, (J-1)*3)
        joints = flat.reshape(flat.shape[0], self.num_joints - 1, 3)
        zero = joints.new_zeros(joints.shape[0], 1, 3)
        r = self.root_index
        return torch.cat([joints[:, :r], zero, joints[:, r:]], dim=1)

    def predict_pose(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, H, W) normalised images -> (N, J, 3) mm, root-relative (root row zeros)."""
        return self.pose_from_features(self.encoder.forward_features(x, ("pooled",))["pooled"])

    def pose_from_features(self, h: torch.Tensor) -> torch.Tensor:
        """Encoder features (N, d) -> (N, J, 3) mm, root-relative (e.g. from a feature cache)."""
        if self.head is None:
            raise InputError(f"this {self.family} model ({self.backbone_name}) has no pose head; "
                             "load a regressor checkpoint to predict poses")
        return self._pose(h)


# --- building --------------------------------------------------------------------------------
_COMMON = {"width": 64, "in_channels": 3}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "resnet": {"num_classes": 1000},
    "simclr": {"projector": None, "proj_hidden": None, "proj_dim": 128},
    "moco": {"projector": None, "proj_hidden": None, "proj_dim": 128},
    "simsiam": {"projector": None, "predictor": None, "proj_dim": None, "pred_hidden": None},
    "regressor": {"head": None, "head_layers": 2, "head_hidden": None, "num_joints": None,
                  "skeleton": "panoptic19", "root_index": None, "layernorm": False, "noise_std": 0.0,
                  "encoder_family": "simclr", "pose_scale": 1.0, "freeze_encoder": True,
                  "pose_head": "free", "bone_lengths": None, "fk_hips": "frame",
                  "fk_frames": "face"},
}
_CONVENIENCE = {"proj_hidden", "proj_dim", "pred_hidden", "head_hidden"}


def _resolve_pose(cfg: dict[str, Any], d: int) -> None:
    if cfg["skeleton"] is not None:
        sk = get_skeleton(cfg["skeleton"])
        if cfg["num_joints"] is not None and int(cfg["num_joints"]) != sk.num_joints:
            raise InputError(f"num_joints {cfg['num_joints']} disagrees with skeleton {sk.name} "
                             f"({sk.num_joints} joints); pass the matching skeleton or skeleton=None")
        cfg["num_joints"], cfg["root_index"] = sk.num_joints, sk.root
    if cfg["num_joints"] is None:
        raise InputError("regressor: give num_joints or a skeleton")
    cfg["num_joints"] = int(cfg["num_joints"])
    cfg["root_index"] = int(cfg["root_index"] or 0)
    resolve_pose_head(cfg, d)
    if cfg["pose_head"] != "free":
        return
    if cfg["head"] is None:
        cfg["head"] = heads.regression_spec(d, int(cfg["head_layers"]), cfg["num_joints"], cfg["head_hidden"])
    cfg["head"] = heads.check_spec(cfg["head"], "pose head")
    cfg["head_layers"] = sum(layer[0] == "linear" for layer in cfg["head"])
    if heads.spec_out_dim(cfg["head"]) != (cfg["num_joints"] - 1) * 3:
        raise InputError(f"pose head outputs {heads.spec_out_dim(cfg['head'])} values; "
                         f"{cfg['num_joints']} joints need {(cfg['num_joints'] - 1) * 3}")


def _resolve_heads(family: str, cfg: dict[str, Any], d: int) -> None:
    if family in ("simclr", "moco") and cfg["projector"] is None:
        cfg["projector"] = heads.simclr_projector(d, cfg["proj_hidden"], int(cfg["proj_dim"]))
    if family == "simsiam":
        if cfg["projector"] is None:
            cfg["projector"] = heads.simsiam_projector(d, cfg["proj_dim"])
        if cfg["predictor"] is None:
            out = heads.spec_out_dim(heads.check_spec(cfg["projector"], "projector"))
            cfg["predictor"] = heads.simsiam_predictor(out, cfg["pred_hidden"])
    if family == "regressor":
        _resolve_pose(cfg, d)
    for name in ("projector", "predictor"):
        if cfg.get(name):
            cfg[name] = heads.check_spec(cfg[name], name)
            takes = d if name == "projector" else heads.spec_out_dim(cfg["projector"])
            dims = heads.spec_dims(cfg[name])
            if not dims or dims[0] != takes:
                raise InputError(f"{name}: needs a first linear layer taking {takes} inputs")


def build_model(family: str, backbone: str = "resnet18", **config: Any) -> HPEModel:
    """Build a fresh model of ``family`` on ``backbone`` (resnet18/34/50/101).

    Keywords: width (64), in_channels (3); resnet: num_classes (1000, 0 = headless);
    simclr/moco: proj_hidden (d), proj_dim (128) or projector (spec); simsiam: proj_dim (d),
    pred_hidden (proj_dim/4) or projector/predictor (specs); regressor: head_layers (1|2|3),
    head_hidden, num_joints, skeleton ("panoptic19"), layernorm, noise_std, encoder_family,
    pose_scale (mm per head unit), freeze_encoder (True). Unknown keywords raise InputError.
    """
    family = canonical_family(family)
    if backbone not in ARCHS:
        raise InputError(f"backbone {backbone!r}: valid backbones are {', '.join(ARCHS)}")
    allowed = {**_COMMON, **_DEFAULTS[family]}
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise InputError(f"{family} model: unknown option(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(sorted(allowed))}")
    cfg = {**allowed, **config}
    cfg["width"], cfg["in_channels"] = int(cfg["width"]), int(cfg["in_channels"])
    block_expansion = 4 if ARCHS[backbone][0] == "bottleneck" else 1
    _resolve_heads(family, cfg, cfg["width"] * 8 * block_expansion)
    resolved = {"family": family, "backbone": backbone,
                **{k: v for k, v in cfg.items() if k not in _CONVENIENCE}}
    return HPEModel(resolved)


def regressor_from(model: HPEModel, **head_config: Any) -> HPEModel:
    """A regressor on a copy of ``model``'s encoder weights (the pre-trained, frozen encoder).

    ``head_config``: the regressor keywords of :func:`build_model` (head_layers, skeleton, ...).
    """
    head_config.setdefault("encoder_family", model.family)
    reg = build_model("regressor", model.backbone_name, width=model.config["width"],
                      in_channels=model.config["in_channels"], **head_config)
    state = {k: v for k, v in model.encoder.state_dict().items() if not k.startswith("fc.")}
    reg.encoder.load_state_dict(state)
    return reg.to(next(model.parameters()).device)
