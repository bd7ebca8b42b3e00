"""Seed 004's forward-kinematics head as UniHPE's 3D decoder (``pose_head: fk``).

The decoder network (MLP or score-matching diffusion, :mod:`hpe_core.models.unihpe`) outputs FK
parameters instead of coordinates: ``(sin, cos)`` of the hip-line angle and one 3-vector per limb
joint (:func:`hpe_core.kinematics.forward_kinematics`), composed with fixed bone lengths into a
*canonical* pose (pelvis frame: neck on +Z, face vector +X), so every decoded pose has exactly
those bone lengths whatever the embedding. The 3D targets are turned into the same frame
(:func:`hpe_core.models.fk_head.canonical_target`); the MLP decoder is trained on the joints
(MSE after FK), the diffusion decoder denoises the parameters of the target (its inverse
kinematics), as the coordinates are denoised with the free head.

Config keys of the ``unihpe`` family: ``pose_head`` ("free" | "fk"), ``bone_lengths`` ((J,) mm,
entry ``c`` the bone into joint ``c``; None: the skeleton's built-in prior), ``fk_hips``
("frame" | "line") and ``fk_frames`` ("face" | "transport").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from hpe_core import kinematics
from hpe_core.errors import InputError

POSE_HEADS = ("free", "fk")


def resolve_fk(cfg: dict[str, Any]) -> None:
    """Check and fill the pose-head keys of a unihpe config in place."""
    if cfg["pose_head"] not in POSE_HEADS:
        raise InputError(f"unihpe pose_head {cfg['pose_head']!r}: valid heads are {', '.join(POSE_HEADS)}")
    if cfg["pose_head"] == "free":
        cfg["bone_lengths"] = None
        return
    from hpe_core.models.fk_head import prior_lengths

    tree = kinematics.kinematic_tree(cfg["skeleton"], cfg["fk_hips"])
    if cfg["fk_frames"] not in ("face", "transport"):
        raise InputError(f"unihpe fk_frames {cfg['fk_frames']!r}: expected face or transport")
    if cfg["bone_lengths"] is None:
        cfg["bone_lengths"] = prior_lengths(tree.skeleton.name)
    lengths = np.asarray(cfg["bone_lengths"], dtype=np.float64).reshape(-1)
    root = tree.skeleton.root
    if lengths.size != tree.skeleton.num_joints or not np.all(np.isfinite(lengths)) \
            or np.any(np.delete(lengths, root) <= 0):
        raise InputError(f"unihpe bone_lengths: expected {tree.skeleton.num_joints} finite lengths (mm), "
                         f"positive but at the root, got {np.shape(cfg['bone_lengths'])}")
    cfg["bone_lengths"] = [float(x) for x in lengths]


def fk_outputs(cfg: dict[str, Any]) -> int:
    """The width of the FK decoder network's output: 2 (angle) + 3 per limb joint."""
    return kinematics.kinematic_tree(cfg["skeleton"], cfg["fk_hips"]).num_outputs


class FKDecoder(nn.Module):
    """Wraps a decoder network whose output is FK parameters; ``sample`` gives ``(N, J*3)``
    canonical poses in ``unit_mm`` units, root-relative on the skeleton's root (as the free
    decoder's output); ``loss`` takes the free decoder's root-relative camera-frame targets."""

    def __init__(self, net: nn.Module, skeleton: str, bone_lengths, unit_mm: float, hips: str = "frame",
                 frames: str = "face") -> None:
        super().__init__()
        self.net = net
        self.tree = kinematics.kinematic_tree(skeleton, hips)
        self.frames, self.unit_mm = frames, float(unit_mm)
        self.register_buffer("bone_lengths", torch.as_tensor(bone_lengths, dtype=torch.float32))

    def compose(self, raw: torch.Tensor) -> torch.Tensor:
        """FK parameters ``(N, 2 + 3K)`` -> ``(N, J*3)`` canonical, root-relative, in units."""
        n, k = raw.shape[0], len(self.tree.limbs)
        raw = raw.float()
        pose = kinematics.forward_kinematics(raw[:, :2], raw[:, 2:].reshape(n, k, 3), self.bone_lengths,
                                             self.tree.skeleton, self.tree.hips, self.frames)
        root = self.tree.skeleton.root
        return ((pose - pose[:, root:root + 1]) / self.unit_mm).flatten(1)

    def sample(self, cond: torch.Tensor, generator=None) -> torch.Tensor:
        return self.compose(self.net.sample(cond, generator))

    def canonical(self, target: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Targets ``(N, J*3)`` (+ weights) -> the canonical targets ``(N, J, 3)`` and visibility ``(N, J)``."""
        from hpe_core.models.fk_head import canonical_target

        j = self.tree.skeleton.num_joints
        vis = weight.reshape(-1, j, 3)[..., 0] > 0
        return canonical_target(target.reshape(-1, j, 3).float(), vis, self.tree.skeleton.name)

    def loss(self, cond: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        canon, vis = self.canonical(target, weight)
        if hasattr(self.net, "denoise"):  # diffusion: denoise the target's FK parameters
            p = kinematics.inverse_kinematics(canon.double(), self.tree.skeleton, self.tree.hips, self.frames)
            params = torch.cat([p.angle, p.vectors.flatten(1)], 1).to(cond.dtype)
            row = vis.all(1).to(cond.dtype)[:, None].expand_as(params)
            return self.net.loss(cond, params.nan_to_num(), row)
        pred = self.compose(self.net(cond)).reshape_as(canon)
        w = vis[..., None].expand_as(canon).to(pred.dtype)
        return ((pred - canon).pow(2) * w).sum() / w.sum().clamp_min(1.0)


def init_from_poses(decoder: FKDecoder, joints, scale: float = 0.8) -> None:
    """Start an MLP fk decoder at the mean FK parameters of the poses ``joints`` (N, J, 3) mm, as
    :func:`hpe_core.models.fk_head.init_from_poses` does for the regressor's head: the last
    layer's bias is their mean angle and limb vectors (normalised, times ``scale``), its weights
    shrunk tenfold. A diffusion decoder is left as it is (it denoises from noise)."""
    import torch.nn.functional as F

    out = getattr(decoder.net, "out", None)
    last = out[-1] if isinstance(out, nn.Sequential) else None
    x = np.asarray(joints, dtype=np.float64)
    x = x[np.isfinite(x).all(axis=(1, 2))]
    if hasattr(decoder.net, "denoise") or not isinstance(last, nn.Linear) or len(x) == 0:
        return
    t = decoder.tree
    p = kinematics.inverse_kinematics(torch.from_numpy(x), t.skeleton, t.hips, decoder.frames)
    target = torch.cat([F.normalize(p.angle.mean(0), dim=-1), F.normalize(p.vectors.mean(0), dim=-1).reshape(-1)])
    with torch.no_grad():
        last.bias.copy_((target * scale).to(last.bias.dtype))
        last.weight.mul_(0.1)


def to_fk_frame(joints_3d, skeleton: str):
    """Ground-truth poses ``(N, J, 3)`` mm (numpy or torch; NaN = missing) in the frame of the fk
    decoder's output: canonical, root-relative; rows whose pelvis, neck or hips are missing NaN."""
    as_numpy = isinstance(joints_3d, np.ndarray)
    x = torch.from_numpy(np.asarray(joints_3d, np.float64)) if as_numpy else joints_3d
    tree = kinematics.kinematic_tree(skeleton)
    anchors = [tree.pelvis, tree.neck, tree.left_hip, tree.right_hip]
    ok = torch.isfinite(x[:, anchors]).all(-1).all(1)
    canon = kinematics.canonicalize(torch.where(ok[:, None, None], x, _stand_in(x, tree)), skeleton)
    root = tree.skeleton.root
    canon = canon - canon[:, root:root + 1]
    canon = torch.where(ok[:, None, None] & torch.isfinite(x), canon, torch.full_like(canon, float("nan")))
    return canon.numpy() if as_numpy else canon


def _stand_in(x: torch.Tensor, tree) -> torch.Tensor:
    out = torch.zeros_like(x)
    out[:, tree.neck, 2] = 1.0
    out[:, tree.left_hip, 1] = 1.0
    out[:, tree.right_hip, 1] = -1.0
    return out
