"""Procedural people: body proportions per subject and forward kinematics from joint angles.

World frame (as the cameras): x, y down, z; the floor is ``y = 0``. A pose is a set of angle
arrays of shape (N,) (see :data:`ANGLE_NAMES`); :func:`pose_joints` turns them into panoptic19
joints (N, 19, 3) in mm, standing on the floor, by :func:`chain_bones`: global bone directions
and per-subject bone lengths laid end to end down the skeleton's tree (the generator's composition
for rendering; the model's forward kinematics is :mod:`hpe_core.kinematics`).

Limb angles, per side ``l``/``r``:
- ``arm_elev``: upper arm angle from hanging down (0) through sideways/forward (pi/2) to up (pi);
- ``arm_azim``: direction of that raise in the torso's horizontal plane: 0 sideways, +pi/2 forward;
- ``elbow``: flexion (0 straight); ``elbow_dir``: plane of the flexion, 0 forward, pi/2 up;
- ``leg_elev`` / ``leg_azim`` likewise for the thigh (negative elevation swings it backwards);
- ``knee``: flexion, in the sagittal plane (the shin folds backwards).
Torso: ``bend`` (forward pitch), ``lean`` (towards the person's right), ``twist`` (shoulders
turned left), ``head_yaw`` / ``head_pitch``; global ``yaw`` (facing), ``lift`` (mm off the floor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError
from hpe_core.skeleton import PANOPTIC19, Skeleton, get_skeleton

UP = np.array([0.0, -1.0, 0.0])
DOWN = -UP
SIDES = ("l", "r")
LIMB_ANGLES = ("arm_elev", "arm_azim", "elbow", "elbow_dir", "leg_elev", "leg_azim", "knee")
ANGLE_NAMES = tuple(f"{a}_{s}" for a in LIMB_ANGLES for s in SIDES) + (
    "bend", "lean", "twist", "head_yaw", "head_pitch", "yaw", "lift")

# Bone lengths (mm) of a 1750 mm person, bone into each panoptic19 joint.
BASE_LENGTHS = {
    "Nose": 185.0, "BodyCenter": 500.0, "Shoulder": 185.0, "Elbow": 290.0, "Wrist": 255.0,
    "Hip": 110.0, "Knee": 430.0, "Ankle": 420.0, "Eye": 50.0, "Ear": 85.0,
}
ANKLE_HEIGHT = 75.0  # ankle joint above the sole
KNEE_RADIUS = 55.0


@dataclass(frozen=True)
class Body:
    """One subject's shape: bone lengths (19,) in mm and limb radii in mm."""

    lengths: np.ndarray  # (19,)
    height: float
    radii: dict  # part name -> mm


def make_body(rng: np.random.Generator) -> Body:
    """A random adult: height 1550-1950 mm, each bone within about +-6% of human proportions."""
    height = float(rng.uniform(1550, 1950))
    scale = height / 1750.0
    shoulders = rng.uniform(0.88, 1.12)
    hips = rng.uniform(0.88, 1.15)
    lengths = np.zeros(PANOPTIC19.num_joints)
    for j, name in enumerate(PANOPTIC19.joint_names):
        if j == PANOPTIC19.root:
            continue
        key = name[1:] if name[0] in "lr" and name[1].isupper() else name
        factor = {"Shoulder": shoulders, "Hip": hips}.get(key, 1.0)
        lengths[j] = BASE_LENGTHS[key] * scale * factor
    for a, b in PANOPTIC19.flip_pairs:  # limbs vary per subject, not per side
        lengths[a] = lengths[b] = lengths[a] * rng.uniform(0.95, 1.05)
    build = rng.uniform(0.85, 1.2)
    radii = {k: v * scale * build for k, v in {
        "upper_arm": 44.0, "forearm": 37.0, "hand": 42.0, "thigh": 72.0, "shin": 52.0,
        "foot": 38.0, "torso": 70.0, "neck": 45.0, "head": 98.0}.items()}
    radii["head"] = 98.0 * scale
    return Body(lengths=lengths, height=height, radii=radii)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _perp(h: np.ndarray, d: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit part of ``h`` perpendicular to unit ``d`` (``fallback`` where ``h`` is parallel)."""
    p = h - (h * d).sum(-1, keepdims=True) * d
    small = np.linalg.norm(p, axis=-1, keepdims=True) < 1e-6
    p = np.where(small, fallback - (fallback * d).sum(-1, keepdims=True) * d, p)
    return _unit(p)


def _c(x):
    return np.cos(x)[:, None]


def _s(x):
    return np.sin(x)[:, None]


def body_frames(a: dict) -> dict:
    """Unit vectors (N, 3) of the pelvis frame (right0, fwd0) and the torso frame (right, up, fwd)."""
    n = len(a["yaw"])
    yaw = a["yaw"]
    fwd0 = np.stack([np.sin(yaw), np.zeros(n), np.cos(yaw)], axis=-1)
    up0 = np.broadcast_to(UP, (n, 3))
    right0 = np.cross(fwd0, up0)  # a person's right is forward x up
    spine = _unit(_c(a["bend"]) * _c(a["lean"]) * up0 + _s(a["bend"]) * fwd0
                  + _c(a["bend"]) * _s(a["lean"]) * right0)
    right = _perp(_c(a["twist"]) * right0 + _s(a["twist"]) * fwd0, spine, right0)
    fwd = np.cross(spine, right)
    return {"right0": right0, "fwd0": fwd0, "up0": up0, "right": right, "up": spine, "fwd": fwd}


def _arm(a: dict, f: dict, side: str) -> tuple[np.ndarray, np.ndarray]:
    out = f["right"] if side == "r" else -f["right"]
    elev, azim = a[f"arm_elev_{side}"], a[f"arm_azim_{side}"]
    upper = _unit(_c(elev) * -f["up"] + _s(elev) * (_c(azim) * out + _s(azim) * f["fwd"]))
    hint = _c(a[f"elbow_dir_{side}"]) * f["fwd"] + _s(a[f"elbow_dir_{side}"]) * f["up"] - 0.35 * out
    bend = _perp(hint, upper, -out)
    k = a[f"elbow_{side}"]
    return upper, _unit(_c(k) * upper + _s(k) * bend)


def _leg(a: dict, f: dict, side: str) -> tuple[np.ndarray, np.ndarray]:
    out = f["right0"] if side == "r" else -f["right0"]
    elev, azim = a[f"leg_elev_{side}"], a[f"leg_azim_{side}"]
    down = -f["up0"]
    thigh = _unit(_c(elev) * down + _s(elev) * (_c(azim) * out + _s(azim) * f["fwd0"]))
    hint = _s(np.abs(elev)) * down - _c(elev) * f["fwd0"]
    fold = _perp(hint, thigh, -f["fwd0"])
    k = a[f"knee_{side}"]
    return thigh, _unit(_c(k) * thigh + _s(k) * fold)


def _head(a: dict, f: dict) -> dict:
    yaw, pitch = a["head_yaw"], a["head_pitch"]
    fwd = _unit(_c(yaw) * f["fwd"] + _s(yaw) * -f["right"])  # positive yaw turns to the left
    fwd = _unit(_c(pitch) * fwd + _s(pitch) * -f["up"])      # positive pitch looks down
    right = _perp(np.cross(fwd, f["up"]), fwd, f["right"])
    up = np.cross(right, fwd)
    return {"fwd": fwd, "up": up, "right": right}


def bone_directions(a: dict) -> tuple[np.ndarray, dict]:
    """Global unit bone directions (N, 19, 3) into each panoptic19 joint, and the body frames."""
    f = body_frames(a)
    h = _head(a, f)
    f["head"] = h
    n = len(a["yaw"])
    d = np.zeros((n, PANOPTIC19.num_joints, 3))
    idx = {name: j for j, name in enumerate(PANOPTIC19.joint_names)}
    d[:, idx["BodyCenter"]] = -f["up"]
    d[:, idx["Nose"]] = _unit(0.72 * h["up"] + 0.5 * h["fwd"] + 0.25 * f["up"])
    for side, sign in (("l", -1.0), ("r", 1.0)):
        out_t, out_p = sign * f["right"], sign * f["right0"]
        d[:, idx[f"{side}Shoulder"]] = _unit(out_t - 0.18 * f["up"])
        d[:, idx[f"{side}Elbow"]], d[:, idx[f"{side}Wrist"]] = _arm(a, f, side)
        d[:, idx[f"{side}Hip"]] = _unit(out_p - 0.35 * f["up0"])
        d[:, idx[f"{side}Knee"]], d[:, idx[f"{side}Ankle"]] = _leg(a, f, side)
        d[:, idx[f"{side}Eye"]] = _unit(0.55 * h["up"] + sign * 0.75 * h["right"] - 0.3 * h["fwd"])
        d[:, idx[f"{side}Ear"]] = _unit(sign * 0.6 * h["right"] - 0.8 * h["fwd"] - 0.1 * h["up"])
    return d, f


def chain_bones(directions, lengths, skeleton: str | Skeleton, root=None) -> np.ndarray:
    """Joints ``(N, J, 3)`` from global bone directions ``(N, J, 3)`` (normalised here; entry ``j``
    the direction of the bone ``Pa(j) -> j``, the root's ignored) and bone lengths ``(N, J)`` or
    ``(J,)``: ``p(j) = p(Pa(j)) + length(j) * unit(direction(j))``, the root at ``root`` (N, 3) or 0."""
    sk = get_skeleton(skeleton)
    v = np.asarray(directions, dtype=np.float64)
    if v.ndim == 2:
        v = v[None]
    n, j = v.shape[:2]
    if j != sk.num_joints or v.shape[2] != 3:
        raise InputError(f"bone directions: expected (N, {sk.num_joints}, 3), got {v.shape}")
    lengths = np.broadcast_to(np.asarray(lengths, dtype=np.float64), (n, j))
    joints = np.zeros((n, j, 3))
    if root is not None:
        joints[:, sk.root] = np.asarray(root, dtype=np.float64).reshape(-1, 3)
    for c in sk.topological_order()[1:]:
        g = v[:, c] / np.maximum(np.linalg.norm(v[:, c], axis=-1, keepdims=True), 1e-12)
        joints[:, c] = joints[:, sk.parents[c]] + lengths[:, c, None] * g
    return joints


def pose_joints(a: dict, lengths: np.ndarray, position: np.ndarray) -> tuple[np.ndarray, dict]:
    """panoptic19 joints (N, 19, 3) mm standing on the floor at ``position`` (N, 2) = (x, z).

    ``lengths`` (N, 19) bone lengths. The lowest of the soles and knees touches ``y = 0``
    unless ``lift`` raises the body.
    """
    dirs, frames = bone_directions(a)
    joints = chain_bones(dirs, lengths, PANOPTIC19)
    ankles = joints[:, [8, 14], 1] + ANKLE_HEIGHT
    knees = joints[:, [7, 13], 1] + KNEE_RADIUS
    lowest = np.maximum(ankles.max(axis=1), knees.max(axis=1))
    offset = np.stack([position[:, 0], -lowest - a["lift"], position[:, 1]], axis=-1)
    return joints + offset[:, None, :], frames
