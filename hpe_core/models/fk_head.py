"""The one forward-kinematics pose head (seed 004), carried by the regressor, UniHPE's 3D decoder
and the VAE lifter's decoder: a network outputs the neck-pelvis to hip-line angle and one unit
vector per limb joint, composed by :func:`hpe_core.kinematics.forward_kinematics` with fixed bone
lengths (:func:`compose`), so every predicted pose has exactly those bone lengths.

The output is a *canonical* pose (pelvis frame: neck on +Z, face vector +X), made root-relative
like a free head's (root row zeros). The rotation-aligned loss compares it after Kabsch; plain
MSE compares it with the ground truth turned into the same canonical frame (:func:`canonical_target`,
:func:`to_fk_frame`). The VAE turns it by a predicted global rotation of its own.

- :class:`FKPoseHead`: the regressor's head, (N, d) features -> (N, J, 3) mm;
- :class:`FKDecoder`: UniHPE's decoder (MLP or score-matching diffusion) whose outputs are FK
  parameters; the MLP is trained on the joints (MSE after FK), the diffusion decoder denoises the
  parameters of the target (its inverse kinematics), as coordinates are with the free head;
- :func:`resolve_fk`: the config keys every family with a pose head shares.

Config keys: ``pose_head`` ("free" | "fk"), ``bone_lengths`` ((J,) mm, entry ``c`` the bone into
joint ``c`` of the skeleton; None: the skeleton's built-in prior, :data:`PRIORS`), ``fk_hips``
("frame" | "line") and ``fk_frames`` ("face" | "transport"), see :mod:`hpe_core.kinematics`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hpe_core import kinematics
from hpe_core.errors import InputError
from hpe_core.models import heads
from hpe_core.skeleton import get_skeleton

POSE_HEADS = ("free", "fk")

#: built-in bone-length priors (mm), by the joint each bone leads to: the synthetic generator's
#: 1750 mm person (panoptic19) and Human3.6M subject S1's skeleton offsets (h36m17)
PRIORS = {
    "panoptic19": {"Nose": 185.0, "BodyCenter": 500.0, "lShoulder": 185.0, "lElbow": 290.0, "lWrist": 255.0,
                   "lHip": 110.0, "lKnee": 430.0, "lAnkle": 420.0, "rShoulder": 185.0, "rElbow": 290.0,
                   "rWrist": 255.0, "rHip": 110.0, "rKnee": 430.0, "rAnkle": 420.0, "lEye": 50.0, "lEar": 85.0,
                   "rEye": 50.0, "rEar": 85.0},
    "h36m17": {"RHip": 132.9, "RKnee": 442.9, "RAnkle": 454.2, "LHip": 132.9, "LKnee": 442.9, "LAnkle": 454.2,
               "Spine": 233.4, "Thorax": 257.1, "Nose": 121.1, "Head": 115.0, "LShoulder": 151.0,
               "LElbow": 278.9, "LWrist": 251.7, "RShoulder": 151.0, "RElbow": 278.9, "RWrist": 251.7},
}


def lengths_from_names(named: dict, skeleton: str, where: str) -> list[float]:
    """{joint name: mm} -> (J,) list (0 at the root); every non-root joint must be given, positive."""
    sk = get_skeleton(skeleton)
    out = [0.0] * sk.num_joints
    for j, name in enumerate(sk.joint_names):
        if j == sk.root:
            continue
        value = named.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value) or value <= 0:
            raise InputError(f"{where}: the bone into {name} needs a positive length in mm, got {value!r}")
        out[j] = float(value)
    return out


def prior_lengths(skeleton: str) -> list[float]:
    """The built-in prior of ``skeleton`` as a (J,) list."""
    if skeleton not in PRIORS:
        raise InputError(f"bone_lengths: no built-in prior for skeleton {skeleton}; give the lengths")
    return lengths_from_names(PRIORS[skeleton], skeleton, f"{skeleton} prior")


def read_prior(path: str | Path, skeleton: str) -> list[float]:
    """A JSON prior ``{"skeleton": name, "bone_lengths": {joint: mm}}`` as a (J,) list."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"regression.bone_lengths {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("bone_lengths"), dict):
        raise InputError(f"regression.bone_lengths {path}: expected {{\"skeleton\": ..., \"bone_lengths\": "
                         "{joint: mm}}")
    if data.get("skeleton", skeleton) != skeleton:
        raise InputError(f"regression.bone_lengths {path}: a {data['skeleton']} prior for a {skeleton} dataset")
    return lengths_from_names(data["bone_lengths"], skeleton, f"regression.bone_lengths {path}")


def resolve_fk(cfg: dict[str, Any], where: str = "") -> kinematics.KinematicTree | None:
    """Check and fill the pose-head keys of a config in place (``where``: a prefix for messages);
    the kinematic tree of an ``fk`` head, None for a ``free`` one."""
    if cfg["pose_head"] not in POSE_HEADS:
        raise InputError(f"{where}pose_head {cfg['pose_head']!r}: valid heads are {', '.join(POSE_HEADS)}")
    if cfg["pose_head"] == "free":
        cfg["bone_lengths"] = None
        return None
    if cfg["skeleton"] is None:
        raise InputError(f"{where}pose_head fk needs a skeleton (panoptic19 or h36m17)")
    tree = kinematics.kinematic_tree(cfg["skeleton"], cfg["fk_hips"])
    if cfg.get("fk_frames", "face") not in ("face", "transport"):
        raise InputError(f"{where}fk_frames {cfg['fk_frames']!r}: expected face or transport")
    if cfg["bone_lengths"] is None:
        cfg["bone_lengths"] = prior_lengths(tree.skeleton.name)
    cfg["bone_lengths"] = _checked_lengths(cfg["bone_lengths"], tree.skeleton, where)
    return tree


def _checked_lengths(given, skeleton, where: str) -> list[float]:
    """``given`` as a (J,) list of floats: finite, positive but at the root (which is ignored)."""
    try:
        lengths = np.asarray(given, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        lengths = np.full(1, np.nan)
    if lengths.size != skeleton.num_joints or not np.all(np.isfinite(lengths)) \
            or np.any(np.delete(lengths, skeleton.root) <= 0):
        raise InputError(f"{where}bone_lengths: expected {skeleton.num_joints} finite lengths (mm), "
                         f"positive but at the root, got {np.shape(given)}")
    return [float(x) for x in lengths]


def resolve_config(cfg: dict[str, Any], d: int) -> None:
    """Fill and check the pose-head keys of a regressor config whose encoder gives ``d`` features."""
    tree = resolve_fk(cfg)
    if tree is None:
        return
    if cfg["head"] is None:
        hidden = cfg["head_hidden"]
        if hidden is None:
            hidden = heads.REGRESSION_HIDDEN.get(int(cfg["head_layers"]))
            if hidden is None:
                raise InputError(f"head_layers {cfg['head_layers']!r}: valid values are 1, 2, 3")
        cfg["head"] = heads.linear_chain([d, *hidden, tree.num_outputs])
    cfg["head"] = heads.check_spec(cfg["head"], "pose head")
    cfg["head_layers"] = sum(layer[0] == "linear" for layer in cfg["head"])
    if heads.spec_out_dim(cfg["head"]) != tree.num_outputs:
        raise InputError(f"fk pose head outputs {heads.spec_out_dim(cfg['head'])} values; {tree.skeleton.name} "
                         f"needs {tree.num_outputs} (angle + 3 per limb joint)")


def fk_outputs(cfg: dict[str, Any]) -> int:
    """The width of an FK network's output: 2 (angle) + 3 per limb joint."""
    return kinematics.kinematic_tree(cfg["skeleton"], cfg["fk_hips"]).num_outputs


def split_parameters(raw: torch.Tensor, tree: kinematics.KinematicTree) -> tuple[torch.Tensor, torch.Tensor]:
    """FK parameters ``(N, 2 + 3K)`` -> ``(angle (N, 2), vectors (N, K, 3))``."""
    k = len(tree.limbs)
    return raw[:, :2], raw[:, 2:2 + 3 * k].reshape(raw.shape[0], k, 3)


def compose(raw: torch.Tensor, tree: kinematics.KinematicTree, lengths: torch.Tensor,
            frames: str = "face") -> torch.Tensor:
    """FK parameters ``(N, 2 + 3K)`` and bone ``lengths`` (J,) -> the canonical pose ``(N, J, 3)``
    in the lengths' units, root-relative on the skeleton's root (root row zeros)."""
    angle, vectors = split_parameters(raw, tree)
    pose = kinematics.forward_kinematics(angle, vectors, lengths, tree.skeleton, tree.hips, frames)
    root = tree.skeleton.root
    return pose - pose[:, root:root + 1]


class FKPoseHead(nn.Module):
    """(N, d) features -> (N, J, 3) mm, canonical and root-relative, bone lengths = ``bone_lengths``.

    The MLP's outputs go through tanh; the first two are (sin, cos) of the hip-line angle, the
    rest one 3-vector per limb joint; both are normalised inside the forward kinematics.
    """

    outputs_joints = True  # the regressor takes the output as the pose, unscaled
    squashed = True  # the network's output goes through tanh

    def __init__(self, spec, skeleton: str, bone_lengths, hips: str = "frame", layernorm: bool = False,
                 noise_std: float = 0.0, frames: str = "face") -> None:
        super().__init__()
        spec = heads.check_spec(spec, "pose head")
        self.tree = kinematics.kinematic_tree(skeleton, hips)
        self.frames = frames
        self.norm = nn.LayerNorm(heads.spec_dims(spec)[0]) if layernorm else nn.Identity()
        self.layers = heads.build_mlp(spec)
        self.noise_std = float(noise_std)
        self.register_buffer("bone_lengths", torch.as_tensor(bone_lengths, dtype=torch.float32))

    def parameters_of(self, feats: torch.Tensor) -> torch.Tensor:
        """FK parameters ``(N, 2 + 3K)`` after tanh, before normalisation."""
        x = self.norm(feats)
        if self.training and self.noise_std > 0:
            x = x + torch.randn_like(x) * self.noise_std
        return torch.tanh(self.layers(x))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        raw = self.parameters_of(feats)
        return compose(raw, self.tree, self.bone_lengths.to(raw.dtype), self.frames)

    def last_linear(self) -> nn.Linear | None:
        """The layer :func:`init_from_poses` starts (None: nothing to start)."""
        last = self.layers[-1]
        return last if isinstance(last, nn.Linear) else None


def build_pose_head(config: dict[str, Any]) -> nn.Module:
    """The pose head a resolved regressor ``config`` asks for."""
    if config.get("pose_head", "free") == "fk":
        return FKPoseHead(config["head"], config["skeleton"], config["bone_lengths"], config.get("fk_hips", "frame"),
                          config["layernorm"], config["noise_std"], config.get("fk_frames", "face"))
    return heads.PoseHead(config["head"], config["layernorm"], config["noise_std"])


class FKDecoder(nn.Module):
    """UniHPE's 3D decoder network whose output is FK parameters; ``sample`` gives ``(N, J*3)``
    canonical poses in ``unit_mm`` units, root-relative on the skeleton's root (as the free
    decoder's output); ``loss`` takes the free decoder's root-relative camera-frame targets."""

    squashed = False  # the network's output is taken as it is (no tanh)

    def __init__(self, net: nn.Module, skeleton: str, bone_lengths, unit_mm: float, hips: str = "frame",
                 frames: str = "face") -> None:
        super().__init__()
        self.net = net
        self.tree = kinematics.kinematic_tree(skeleton, hips)
        self.frames, self.unit_mm = frames, float(unit_mm)
        self.register_buffer("bone_lengths", torch.as_tensor(bone_lengths, dtype=torch.float32))

    def compose(self, raw: torch.Tensor) -> torch.Tensor:
        """FK parameters ``(N, 2 + 3K)`` -> ``(N, J*3)`` canonical, root-relative, in units."""
        return (compose(raw.float(), self.tree, self.bone_lengths, self.frames) / self.unit_mm).flatten(1)

    def sample(self, cond: torch.Tensor, generator=None) -> torch.Tensor:
        return self.compose(self.net.sample(cond, generator))

    def canonical(self, target: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Targets ``(N, J*3)`` (+ weights) -> the canonical targets ``(N, J, 3)`` and visibility ``(N, J)``."""
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

    def last_linear(self) -> nn.Linear | None:
        """The layer :func:`init_from_poses` starts: an MLP's last; None for a diffusion decoder
        (it denoises from noise)."""
        out = getattr(self.net, "out", None)
        last = out[-1] if isinstance(out, nn.Sequential) else None
        return None if hasattr(self.net, "denoise") or not isinstance(last, nn.Linear) else last


def canonical_target(target: torch.Tensor, visible: torch.Tensor, skeleton: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Root-relative ground truth ``(N, J, 3)`` turned into the canonical frame of the fk head
    (root-relative again), and ``visible`` with every joint of a pose cleared whose pelvis, neck
    or hips are missing (its frame is unknown)."""
    tree = kinematics.kinematic_tree(skeleton)
    anchors = [tree.pelvis, tree.neck, tree.left_hip, tree.right_hip]
    ok = (visible[:, anchors].bool() & torch.isfinite(target[:, anchors]).all(-1)).all(1)
    safe = torch.where(ok[:, None, None], torch.nan_to_num(target), _template(target, tree))
    canon = kinematics.canonicalize(safe, skeleton)
    root = tree.skeleton.root
    return canon - canon[:, root:root + 1], visible.bool() & ok[:, None]


def to_fk_frame(joints_3d, skeleton: str):
    """Ground-truth poses ``(N, J, 3)`` mm (numpy or torch; NaN = missing) in the frame of an fk
    head's output: canonical, root-relative; NaN where a joint is missing and in every row whose
    pelvis, neck or hips are missing."""
    as_numpy = isinstance(joints_3d, np.ndarray)
    x = torch.from_numpy(np.asarray(joints_3d, np.float64)) if as_numpy else joints_3d
    canon, known = canonical_target(x, torch.isfinite(x).all(-1), skeleton)
    canon = torch.where(known[..., None], canon, torch.full_like(canon, float("nan")))
    return canon.numpy() if as_numpy else canon


def _template(target: torch.Tensor, tree) -> torch.Tensor:
    """A well-posed stand-in pose (weight 0) for rows whose anchors are missing."""
    out = torch.zeros_like(target)
    out[:, tree.neck, 2] = 1.0
    out[:, tree.left_hip, 1] = 1.0
    out[:, tree.right_hip, 1] = -1.0
    return out


def init_from_poses(head: FKPoseHead | FKDecoder, joints, scale: float = 0.8) -> None:
    """Start ``head`` at the mean FK parameters of the poses ``joints`` (N, J, 3) mm: its last
    layer's bias is their (normalised) mean angle and limb vectors, times ``scale`` (inside tanh
    for the regressor's head), and its weights are shrunk tenfold. A fresh head otherwise starts
    from random directions (a tangled pose), where the normalisations' gradients are largest."""
    x = np.asarray(joints, dtype=np.float64)
    x = x[np.isfinite(x).all(axis=(1, 2))]
    last = head.last_linear()
    if len(x) == 0 or last is None:
        return
    p = kinematics.inverse_kinematics(torch.from_numpy(x), head.tree.skeleton, head.tree.hips, head.frames)
    angle = torch.nn.functional.normalize(p.angle.mean(0), dim=-1)
    vectors = torch.nn.functional.normalize(p.vectors.mean(0), dim=-1)
    target = torch.cat([angle, vectors.reshape(-1)]) * scale
    if head.squashed:
        target = torch.atanh(target.clamp(-0.999, 0.999))
    with torch.no_grad():
        last.bias.copy_(target.to(last.bias.dtype))
        last.weight.mul_(0.1)
