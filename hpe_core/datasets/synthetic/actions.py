"""Actions: each draws the joint angles of N poses (see ``body.py`` for their meaning).

Every action starts from a relaxed stance with independent noise on each side, then sets the
angles that define it. One-sided actions (waving, pointing, kicking, lunging, ...) pick the
side at random, and they are as common as the symmetric ones, so a model cannot do well by
predicting symmetric poses (seed 000 saw its models collapse to them).
"""

from __future__ import annotations

import numpy as np

from hpe_core.datasets.synthetic.body import ANGLE_NAMES

PI = np.pi


def _u(rng, lo, hi, n):
    return rng.uniform(lo, hi, n)


def relaxed(rng: np.random.Generator, n: int) -> dict:
    """A relaxed standing pose with natural variation, each side drawn independently."""
    a = {name: np.zeros(n) for name in ANGLE_NAMES}
    for s in "lr":
        a[f"arm_elev_{s}"] = _u(rng, 0.05, 0.4, n)
        a[f"arm_azim_{s}"] = _u(rng, -0.4, 1.2, n)
        a[f"elbow_{s}"] = _u(rng, 0.05, 0.6, n)
        a[f"elbow_dir_{s}"] = _u(rng, -0.3, 0.8, n)
        a[f"leg_elev_{s}"] = _u(rng, -0.08, 0.15, n)
        a[f"leg_azim_{s}"] = _u(rng, -0.2, 1.6, n)
        a[f"knee_{s}"] = _u(rng, 0.0, 0.2, n)
    a["bend"] = _u(rng, -0.06, 0.12, n)
    a["lean"] = _u(rng, -0.06, 0.06, n)
    a["twist"] = _u(rng, -0.2, 0.2, n)
    a["head_yaw"] = _u(rng, -0.6, 0.6, n)
    a["head_pitch"] = _u(rng, -0.3, 0.35, n)
    a["yaw"] = _u(rng, -PI, PI, n)
    return a


def _sides(rng, n):
    """(active, other) side letters per pose, chosen at random."""
    left = rng.random(n) < 0.5
    return np.where(left, "l", "r"), np.where(left, "r", "l")


def _set(a, key_fmt, sides, values):
    for s in "lr":
        mask = sides == s
        a[key_fmt.format(s)][mask] = np.broadcast_to(values, mask.shape)[mask]


def _both(a, key, lo, hi, rng, n):
    for s in "lr":
        a[f"{key}_{s}"] = _u(rng, lo, hi, n)


def standing(a, rng, n):
    hips = rng.random(n) < 0.3  # hands on hips
    for s in "lr":
        a[f"arm_elev_{s}"] = np.where(hips, _u(rng, 0.5, 0.8, n), a[f"arm_elev_{s}"])
        a[f"arm_azim_{s}"] = np.where(hips, _u(rng, -0.6, -0.2, n), a[f"arm_azim_{s}"])
        a[f"elbow_{s}"] = np.where(hips, _u(rng, 1.6, 2.1, n), a[f"elbow_{s}"])
        a[f"elbow_dir_{s}"] = np.where(hips, _u(rng, -0.3, 0.3, n), a[f"elbow_dir_{s}"])


def walking(a, rng, n):
    phase = _u(rng, -PI, PI, n)
    amp = _u(rng, 0.35, 0.6, n)
    for s, sign in (("l", 1.0), ("r", -1.0)):
        swing = sign * amp * np.sin(phase)
        a[f"leg_elev_{s}"] = swing
        a[f"leg_azim_{s}"] = _u(rng, 1.45, 1.7, n)
        a[f"knee_{s}"] = 0.1 + 0.55 * np.clip(-sign * np.cos(phase), 0, 1) + np.clip(-swing, 0, 1) * 0.4
        a[f"arm_elev_{s}"] = -0.8 * swing + _u(rng, -0.05, 0.05, n)
        a[f"arm_azim_{s}"] = _u(rng, 1.4, 1.7, n)
        a[f"elbow_{s}"] = _u(rng, 0.2, 0.8, n)
        a[f"elbow_dir_{s}"] = _u(rng, -0.2, 0.4, n)


def waving(a, rng, n):
    act, _ = _sides(rng, n)
    _set(a, "arm_elev_{}", act, _u(rng, 1.5, 2.6, n))
    _set(a, "arm_azim_{}", act, _u(rng, -0.3, 0.9, n))
    _set(a, "elbow_{}", act, _u(rng, 0.4, 1.5, n))
    _set(a, "elbow_dir_{}", act, _u(rng, 1.2, 1.9, n))


def arms_up(a, rng, n):
    _both(a, "arm_elev", 2.4, 3.05, rng, n)
    _both(a, "arm_azim", -0.4, 1.0, rng, n)
    _both(a, "elbow", 0.0, 0.5, rng, n)
    _both(a, "elbow_dir", 1.0, 2.0, rng, n)


def t_pose(a, rng, n):
    _both(a, "arm_elev", 1.4, 1.75, rng, n)
    _both(a, "arm_azim", -0.2, 0.3, rng, n)
    _both(a, "elbow", 0.0, 0.25, rng, n)
    _both(a, "leg_azim", -0.2, 0.3, rng, n)
    _both(a, "leg_elev", 0.0, 0.2, rng, n)


def squat(a, rng, n):
    depth = _u(rng, 0.5, 1.0, n)
    for s in "lr":
        a[f"leg_elev_{s}"] = depth * 1.45 + _u(rng, -0.08, 0.08, n)
        a[f"leg_azim_{s}"] = _u(rng, 1.0, 1.45, n)
        a[f"knee_{s}"] = depth * 2.2 + _u(rng, -0.1, 0.1, n)
    a["bend"] = depth * _u(rng, 0.3, 0.75, n)
    forward = rng.random(n) < 0.6
    for s in "lr":
        a[f"arm_elev_{s}"] = np.where(forward, _u(rng, 1.2, 1.7, n), a[f"arm_elev_{s}"])
        a[f"arm_azim_{s}"] = np.where(forward, _u(rng, 1.3, 1.7, n), a[f"arm_azim_{s}"])


def lunge(a, rng, n):
    act, other = _sides(rng, n)
    _set(a, "leg_elev_{}", act, _u(rng, 0.9, 1.4, n))
    _set(a, "leg_azim_{}", act, _u(rng, 1.4, 1.75, n))
    _set(a, "knee_{}", act, _u(rng, 1.1, 1.7, n))
    _set(a, "leg_elev_{}", other, _u(rng, -0.85, -0.45, n))
    _set(a, "leg_azim_{}", other, _u(rng, 1.4, 1.75, n))
    _set(a, "knee_{}", other, _u(rng, 0.2, 1.3, n))


def kick(a, rng, n):
    act, _ = _sides(rng, n)
    _set(a, "leg_elev_{}", act, _u(rng, 0.8, 1.65, n))
    _set(a, "leg_azim_{}", act, _u(rng, 1.1, 1.9, n))
    _set(a, "knee_{}", act, _u(rng, 0.0, 0.7, n))
    a["bend"] = _u(rng, -0.35, -0.05, n)
    _both(a, "arm_elev", 0.5, 1.5, rng, n)
    _both(a, "arm_azim", -0.5, 0.6, rng, n)


def sitting(a, rng, n):
    for s in "lr":
        a[f"leg_elev_{s}"] = _u(rng, 1.35, 1.7, n)
        a[f"leg_azim_{s}"] = _u(rng, 1.2, 1.6, n)
        a[f"knee_{s}"] = _u(rng, 1.2, 1.8, n)
        a[f"arm_elev_{s}"] = _u(rng, 0.3, 0.9, n)
        a[f"arm_azim_{s}"] = _u(rng, 1.2, 1.7, n)
        a[f"elbow_{s}"] = _u(rng, 0.6, 1.5, n)
    a["bend"] = _u(rng, -0.1, 0.35, n)


def bending(a, rng, n):
    a["bend"] = _u(rng, 0.8, 1.4, n)
    for s in "lr":
        a[f"arm_elev_{s}"] = a["bend"] + _u(rng, -0.25, 0.25, n)
        a[f"arm_azim_{s}"] = _u(rng, 1.3, 1.8, n)
        a[f"knee_{s}"] = _u(rng, 0.0, 0.4, n)
        a[f"leg_elev_{s}"] = _u(rng, -0.25, 0.05, n)
    a["head_pitch"] = _u(rng, -0.8, -0.2, n)


def pointing(a, rng, n):
    act, _ = _sides(rng, n)
    _set(a, "arm_elev_{}", act, _u(rng, 1.2, 2.0, n))
    _set(a, "arm_azim_{}", act, _u(rng, 0.6, 1.7, n))
    _set(a, "elbow_{}", act, _u(rng, 0.0, 0.25, n))
    a["head_yaw"] = np.where(act == "l", 1.0, -1.0) * _u(rng, 0.0, 0.6, n)


def jumping_jack(a, rng, n):
    t = _u(rng, 0.0, 1.0, n)
    for s in "lr":
        a[f"arm_elev_{s}"] = 0.25 + t * 2.7 + _u(rng, -0.1, 0.1, n)
        a[f"arm_azim_{s}"] = _u(rng, -0.25, 0.25, n)
        a[f"elbow_{s}"] = _u(rng, 0.0, 0.35, n)
        a[f"leg_elev_{s}"] = t * 0.45 + _u(rng, -0.04, 0.04, n)
        a[f"leg_azim_{s}"] = _u(rng, -0.2, 0.2, n)
    a["lift"] = np.sin(t * PI) * _u(rng, 0, 180, n)


def reach_up(a, rng, n):
    act, _ = _sides(rng, n)
    _set(a, "arm_elev_{}", act, _u(rng, 2.55, 3.1, n))
    _set(a, "arm_azim_{}", act, _u(rng, -0.3, 1.2, n))
    _set(a, "elbow_{}", act, _u(rng, 0.0, 0.35, n))
    a["lean"] = np.where(act == "r", 1.0, -1.0) * _u(rng, 0.0, 0.2, n)


def one_leg_stand(a, rng, n):
    act, _ = _sides(rng, n)
    _set(a, "leg_elev_{}", act, _u(rng, 0.7, 1.6, n))
    _set(a, "leg_azim_{}", act, _u(rng, 0.9, 1.8, n))
    _set(a, "knee_{}", act, _u(rng, 1.4, 2.3, n))
    _both(a, "arm_elev", 0.7, 1.7, rng, n)
    _both(a, "arm_azim", -0.3, 0.5, rng, n)


def punch(a, rng, n):
    act, other = _sides(rng, n)
    _set(a, "arm_elev_{}", act, _u(rng, 1.35, 1.75, n))
    _set(a, "arm_azim_{}", act, _u(rng, 1.25, 1.7, n))
    _set(a, "elbow_{}", act, _u(rng, 0.0, 0.35, n))
    _set(a, "arm_elev_{}", other, _u(rng, 0.5, 1.0, n))
    _set(a, "arm_azim_{}", other, _u(rng, 1.0, 1.5, n))
    _set(a, "elbow_{}", other, _u(rng, 1.9, 2.5, n))
    _set(a, "elbow_dir_{}", other, _u(rng, 1.2, 1.6, n))
    a["twist"] = np.where(act == "r", 1.0, -1.0) * _u(rng, 0.15, 0.5, n)
    _set(a, "leg_elev_{}", other, _u(rng, 0.2, 0.45, n))
    _set(a, "knee_{}", other, _u(rng, 0.2, 0.5, n))


def side_bend(a, rng, n):
    act, other = _sides(rng, n)  # the arm over the head; the body leans away from it
    _set(a, "arm_elev_{}", act, _u(rng, 2.3, 2.9, n))
    _set(a, "arm_azim_{}", act, _u(rng, -0.3, 0.3, n))
    _set(a, "elbow_{}", act, _u(rng, 0.1, 0.8, n))
    _set(a, "elbow_dir_{}", act, _u(rng, 1.3, 1.8, n))
    a["lean"] = np.where(act == "l", 1.0, -1.0) * _u(rng, 0.25, 0.5, n)


def kneeling(a, rng, n):
    act, other = _sides(rng, n)  # the front leg; the other knee is on the floor
    _set(a, "leg_elev_{}", act, _u(rng, 1.3, 1.7, n))
    _set(a, "leg_azim_{}", act, _u(rng, 1.35, 1.75, n))
    _set(a, "knee_{}", act, _u(rng, 1.3, 1.8, n))
    _set(a, "leg_elev_{}", other, _u(rng, -0.25, 0.15, n))
    _set(a, "leg_azim_{}", other, _u(rng, 1.35, 1.75, n))
    _set(a, "knee_{}", other, _u(rng, 1.4, 1.7, n))


ACTIONS = {
    "standing": standing, "walking": walking, "waving": waving, "arms_up": arms_up,
    "t_pose": t_pose, "squat": squat, "lunge": lunge, "kick": kick, "sitting": sitting,
    "bending": bending, "pointing": pointing, "jumping_jack": jumping_jack, "reach_up": reach_up,
    "one_leg_stand": one_leg_stand, "punch": punch, "side_bend": side_bend, "kneeling": kneeling,
}
ACTION_NAMES = tuple(ACTIONS)
SEATED = ("sitting",)


def sample_actions(rng: np.random.Generator, action: np.ndarray) -> dict:
    """Angles (N,) of poses whose action indices (into :data:`ACTION_NAMES`) are ``action``."""
    n = len(action)
    out = relaxed(rng, n)
    for k, name in enumerate(ACTION_NAMES):
        rows = np.flatnonzero(action == k)
        if len(rows) == 0:
            continue
        part = {key: v[rows].copy() for key, v in out.items()}
        ACTIONS[name](part, rng, len(rows))
        for key, v in part.items():
            out[key][rows] = v
    return out
