"""The ``regressor`` family (seed 000): a (frozen) contrastive encoder + a 1/2/3-layer 3D pose head.

Options: ``head_layers`` (1|2|3), ``head_hidden``, ``num_joints``, ``skeleton`` ("panoptic19"),
``layernorm``, ``noise_std``, ``encoder_family``, ``pose_scale`` (mm per head unit),
``freeze_encoder`` (True), or ``head`` (a spec); ``pose_head`` ("free" | "fk", seed 004's
forward-kinematics head, with ``bone_lengths``, ``fk_hips``, ``fk_frames``). The head predicts every joint but the root;
poses are (N, J, 3) mm, root-relative (the root row is zero).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from hpe_core.errors import InputError
from hpe_core.models import heads
from hpe_core.models.families.encoder import MAPS, EncoderFamily, HPEModel
from hpe_core.skeleton import get_skeleton


def build_pose_head(config: Mapping[str, Any]) -> nn.Module:
    """The pose head of a resolved regressor config: ``free`` (an MLP, (N, d) -> (N, (J-1)*3)) or
    ``fk`` (seed 004: angles and unit vectors composed by forward kinematics into (N, J, 3) mm)."""
    from hpe_core.models import fk_head

    return fk_head.build_pose_head(dict(config))


class RegressorModel(HPEModel):
    """An :class:`HPEModel` with a pose ``head``; a frozen encoder keeps its BatchNorm statistics."""

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        self.head = build_pose_head(config)
        self.root_index = int(config["root_index"])
        self.pose_scale = float(config["pose_scale"])
        if config["freeze_encoder"]:
            self.encoder.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> "RegressorModel":
        super().train(mode)
        if self.config.get("freeze_encoder"):
            self.encoder.eval()  # a frozen encoder keeps its BatchNorm statistics
        return self

    def pose_from_features(self, h: torch.Tensor) -> torch.Tensor:
        """Encoder features (N, d) -> (N, J, 3) mm, root-relative (e.g. from a feature cache)."""
        if getattr(self.head, "outputs_joints", False):  # the fk head composes the pose itself
            return self.head(h)
        flat = self.head(h) * self.pose_scale  # (N, (J-1)*3)
        joints = flat.reshape(flat.shape[0], self.num_joints - 1, 3)
        zero = joints.new_zeros(joints.shape[0], 1, 3)
        r = self.root_index
        return torch.cat([joints[:, :r], zero, joints[:, r:]], dim=1)


class RegressorFamily(EncoderFamily):
    """image -> pose3d (root-relative mm)."""

    name = "regressor"
    outputs = frozenset({"pose3d"})
    feature_names = (*MAPS, "encoder", "pose")
    defaults = {"head": None, "head_layers": 2, "head_hidden": None, "num_joints": None,
                "skeleton": "panoptic19", "root_index": None, "layernorm": False, "noise_std": 0.0,
                "encoder_family": "simclr", "pose_scale": 1.0, "freeze_encoder": True,
                "pose_head": "free", "bone_lengths": None, "fk_hips": "frame", "fk_frames": "face"}
    convenience = frozenset({"head_hidden"})
    model_class = RegressorModel

    @classmethod
    def resolve_heads(cls, cfg: dict[str, Any], d: int) -> None:
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
        from hpe_core.models.fk_head import resolve_config as resolve_pose_head

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

    @classmethod
    def predict(cls, model: RegressorModel, batch: Mapping[str, Any]):
        """``{"image": (N, 3, S, S)}`` -> Prediction with ``joints_3d`` (N, J, 3) mm, root-relative."""
        from hpe_core.predictions import Prediction

        joints = model.predict_pose(batch["image"])
        frame = "canonical" if model.config.get("pose_head") == "fk" else "root_relative"
        return Prediction(joints_3d=joints.float().cpu().numpy(), frame=frame, skeleton=model.skeleton)


def regressor_from(model: HPEModel, **head_config: Any) -> RegressorModel:
    """A regressor on a copy of ``model``'s encoder weights (the pre-trained, frozen encoder).

    ``head_config``: the regressor options (head_layers, skeleton, ...).
    """
    from hpe_core.models.families import build_model

    head_config.setdefault("encoder_family", model.family)
    reg = build_model("regressor", model.backbone_name, width=model.config["width"],
                      in_channels=model.config["in_channels"], **head_config)
    state = {k: v for k, v in model.encoder.state_dict().items() if not k.startswith("fc.")}
    reg.encoder.load_state_dict(state)
    return reg.to(next(model.parameters()).device)
