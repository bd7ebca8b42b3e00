"""The synthetic renderer's own per-part masks (``SynthSpec(part_masks=True)``).

One 16-bit PNG per sample, ``parts/CC/PPPPPP.png``, bit ``k`` set where part ``k`` of
:data:`hpe_core.datasets.part_maps.PARTS["panoptic19"]` covers the pixel. Masks are *amodal*: each part is
drawn whole, with the same projected capsules, hulls and discs as the picture, whatever hides it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hpe_core.datasets.synthetic.render import _A, _J, View, _p, ONE, SHIFT
from hpe_core.errors import InputError
from hpe_core.datasets.part_maps import PARTS

PATTERN = "parts/{camera_id:02d}/{pose_id:06d}.png"
PART_NAMES = tuple(p.name for p in PARTS["panoptic19"])
_LIMB_RADII = {"upper_arm": "upper_arm", "forearm": "forearm", "thigh": "thigh", "shin": "shin"}


def _capsule(mask, view: View, i: int, j: int, mm: float) -> None:
    if view.ok[i] and view.ok[j]:
        r = 0.5 * (view.radius(mm, i) + view.radius(mm, j))
        cv2.line(mask, _p(view.uv[i]), _p(view.uv[j]), 1, max(1, int(round(2 * r))), cv2.LINE_8, SHIFT)


def _disc(mask, view: View, i: int, mm: float) -> None:
    if view.ok[i]:
        cv2.circle(mask, _p(view.uv[i]), int(round(view.radius(mm, i) * ONE)), 1, -1, cv2.LINE_8, SHIFT)


def draw_part_masks(view: View, joints_w: np.ndarray, frames: dict, radii: dict) -> np.ndarray:
    """``(H, W)`` uint16 bit masks of :data:`PART_NAMES` for one view (see the module doc)."""
    h, w = view.img.shape[:2]
    out = np.zeros((h, w), np.uint16)
    for bit, name in enumerate(PART_NAMES):
        mask = np.zeros((h, w), np.uint8)
        if name == "torso":
            depth = 0.55 * radii["torso"] * 2
            pts = np.concatenate([joints_w[[_J["lShoulder"], _J["rShoulder"], _J["lHip"], _J["rHip"]]]
                                  + s * depth * frames["fwd"] for s in (-0.5, 0.5)])
            pc = pts @ view.R.T + view.t
            if np.all(pc[:, 2] > 50.0):
                hull = cv2.convexHull(np.round(view.project(pc) * ONE).astype(np.int32))
                cv2.fillConvexPoly(mask, hull, 1, cv2.LINE_8, SHIFT)
                edge = max(1, int(round(view.radius(radii["upper_arm"] * 0.9, _J["Neck"]))))
                cv2.polylines(mask, [hull], True, 1, edge, cv2.LINE_8, SHIFT)
        elif name == "head":
            _capsule(mask, view, _J["Neck"], _A["head"], radii["neck"])
            _disc(mask, view, _A["hair"], 0.95 * radii["head"])
            _disc(mask, view, _A["face"], 0.8 * radii["head"])
        else:
            side, limb = name[0], name[2:]
            a, b = {"upper_arm": ("Shoulder", "Elbow"), "forearm": ("Elbow", "Wrist"),
                    "thigh": ("Hip", "Knee"), "shin": ("Knee", "Ankle")}[limb]
            _capsule(mask, view, _J[side + a], _J[side + b], radii[_LIMB_RADII[limb]])
        out |= (mask.astype(np.uint16) << bit)
    return out


def write_part_masks(path: Path, masks: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), masks):
        raise OSError(f"{path}: could not write the part masks")


def read_part_masks(root: str | Path, camera_id: int, pose_id: int) -> np.ndarray:
    """``(P, H, W)`` bool masks of one sample of a synthetic dataset written with part masks."""
    path = Path(root) / PATTERN.format(camera_id=camera_id, pose_id=pose_id)
    bits = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if bits is None or bits.dtype != np.uint16 or bits.ndim != 2:
        raise InputError(f"{path}: no part masks (generate with --part-masks)")
    return np.stack([(bits >> k) & 1 for k in range(len(PART_NAMES))]).astype(bool)
