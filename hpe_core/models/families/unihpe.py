"""The ``unihpe`` family (seed 002): image / 2D-pose / 3D-pose encoders into one embedding space,
2D and 3D pose decoders (network in :mod:`hpe_core.models.unihpe`).

The paper's image encoder is an HRNet; HRNet is not available here, so the image encoder is our
ResNet (``backbone``, ``width``) with a linear projection of its pooled features.

Options (defaults): ``skeleton`` ("panoptic19"), ``image_size`` (128, px of the 2D frame),
``dim`` (256; the paper uses 1024), ``pose_width`` (128), ``pose_depth`` (3), ``pose_heads`` (4),
``decoder`` ("mlp" | "diffusion"), ``decoder_hidden`` (512), ``decoder_blocks`` (3, MLP),
``diffusion_steps`` (100; the paper 1000), ``modality_token`` (True), ``unit_mm`` (1000),
``tau0`` / ``tau_min`` / ``tau_max`` (1/14, 1/100, 1e4: stage 1's temperature), ``pose_head``
("free" | "fk": seed 004's forward-kinematics head for the 3D decoder, with ``bone_lengths``,
``fk_hips``, ``fk_frames``; :mod:`hpe_core.models.fk_head`; its poses are in the canonical frame).

Inference paths of one model (:func:`predict_paths`): image -> 2D, image -> 3D, 2D -> 3D.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from hpe_core.errors import InputError
from hpe_core.models.families.base import Family
from hpe_core.models.resnet import ARCHS
from hpe_core.skeleton import get_skeleton

DEFAULTS: dict[str, Any] = {
    "width": 64, "in_channels": 3, "skeleton": "panoptic19", "num_joints": None, "root_index": None,
    "image_size": 128, "dim": 256, "pose_width": 128, "pose_depth": 3, "pose_heads": 4,
    "decoder": "mlp", "decoder_hidden": 512, "decoder_blocks": 3, "diffusion_steps": 100,
    "modality_token": True, "unit_mm": 1000.0, "tau0": 1 / 14, "tau_min": 0.01, "tau_max": 1e4,
    "pose_head": "free", "bone_lengths": None, "fk_hips": "frame", "fk_frames": "face",
}
PATHS = ("image_to_2d", "image_to_3d", "pose2d_to_3d")


class UniHPEFamily(Family):
    """image, pose2d, pose3d -> embeddings per modality, pose2d, pose3d."""

    name = "unihpe"
    seed = "002"
    inputs = frozenset({"image", "pose2d", "pose3d"})
    outputs = frozenset({"embeddings", "pose2d", "pose3d"})
    feature_names = ("image", "pose2d", "pose3d")

    @classmethod
    def resolve(cls, backbone: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        backbone = backbone or "resnet18"
        if backbone not in ARCHS:
            raise InputError(f"backbone {backbone!r}: valid backbones are {', '.join(ARCHS)}")
        unknown = sorted(set(options) - set(DEFAULTS))
        if unknown:
            raise InputError(f"unihpe model: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(DEFAULTS))}")
        cfg = {**DEFAULTS, **options}
        sk = get_skeleton(cfg["skeleton"])
        if cfg["num_joints"] is not None and int(cfg["num_joints"]) != sk.num_joints:
            raise InputError(f"num_joints {cfg['num_joints']} disagrees with skeleton {sk.name} ({sk.num_joints})")
        cfg["num_joints"], cfg["root_index"] = sk.num_joints, sk.root
        if cfg["decoder"] not in ("mlp", "diffusion"):
            raise InputError(f"unihpe decoder {cfg['decoder']!r}: expected mlp or diffusion")
        for key in ("width", "in_channels", "image_size", "dim", "pose_width", "pose_depth", "pose_heads",
                    "decoder_hidden", "decoder_blocks", "diffusion_steps"):
            cfg[key] = int(cfg[key])
            if cfg[key] < 1:
                raise InputError(f"unihpe {key}: must be at least 1, got {cfg[key]}")
        if cfg["pose_width"] % cfg["pose_heads"]:
            raise InputError(f"unihpe pose_width {cfg['pose_width']} must be a multiple of pose_heads {cfg['pose_heads']}")
        for key in ("unit_mm", "tau0", "tau_min", "tau_max"):
            cfg[key] = float(cfg[key])
        if not 0 < cfg["tau_min"] <= cfg["tau0"] <= cfg["tau_max"]:
            raise InputError(f"unihpe temperature: need 0 < tau_min <= tau0 <= tau_max, got "
                             f"{cfg['tau_min']}, {cfg['tau0']}, {cfg['tau_max']}")
        cfg["modality_token"] = bool(cfg["modality_token"])
        from hpe_core.models.fk_head import resolve_fk

        resolve_fk(cfg, "unihpe ")
        return {"family": cls.name, "backbone": backbone, **cfg}

    @classmethod
    def build(cls, config: Mapping[str, Any]):
        from hpe_core.models.unihpe import UniHPEModel

        return UniHPEModel(config)

    @classmethod
    def predict(cls, model, batch: Mapping[str, Any]):
        """``{"image"?, "joints_2d"?, "joints_3d"?, "visible"?}`` -> Prediction: the embedding of each modality
        given; with an image, ``joints_2d`` and ``joints_3d`` decoded from it; without one,
        ``joints_3d`` lifted from ``joints_2d`` (root-relative mm)."""
        from hpe_core.predictions import Prediction

        inputs = {k: v for k, v in batch.items() if k in ("image", "joints_2d", "joints_3d")}
        if batch.get("visible") is not None:  # joints not seen are NaN to the pose encoders
            hide = ~torch.as_tensor(batch["visible"]).bool()[..., None]
            inputs.update({k: torch.as_tensor(inputs[k]).masked_fill(hide.to(torch.as_tensor(inputs[k]).device),
                                                                     float("nan"))
                           for k in ("joints_2d", "joints_3d") if k in inputs})
        emb = model(inputs)
        source = "image" if "image" in emb else "pose2d" if "pose2d" in emb else None
        j2 = j3 = None
        gen = torch.Generator().manual_seed(0)
        if source == "image":
            j2 = model.decode2d(emb["image"], "image", gen).detach().cpu().numpy()
        if source is not None:
            j3 = model.decode3d(emb[source], source, gen).detach().cpu().numpy()
        frame = None if j3 is None else "canonical" if model.config.get("pose_head") == "fk" else "root_relative"
        return Prediction(joints_3d=j3, frame=frame, joints_2d=j2,
                          embeddings={k: v.detach().float().cpu().numpy() for k, v in emb.items()},
                          skeleton=model.skeleton, meta={"source": source} if source else {})


def predict_paths(model, image: torch.Tensor, joints_2d: torch.Tensor,
                  joints_3d: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Every inference path of one batch: ``image_to_2d`` (N, J, 2) px, ``image_to_3d`` and
    ``pose2d_to_3d`` (N, J, 3) mm root-relative, plus the embeddings ``image``, ``pose2d``
    (and ``pose3d`` when ``joints_3d`` is given)."""
    batch = {"image": image, "joints_2d": joints_2d}
    if joints_3d is not None:
        batch["joints_3d"] = joints_3d
    emb = model(batch)
    gen = torch.Generator().manual_seed(0)
    return {"image_to_2d": model.decode2d(emb["image"], "image", gen),
            "image_to_3d": model.decode3d(emb["image"], "image", gen),
            "pose2d_to_3d": model.decode3d(emb["pose2d"], "pose2d", gen), **emb}
