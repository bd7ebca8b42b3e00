"""The display frame of the 3D view: z up, the floor at z = 0, the action near the origin.

A dataset's world frame can have any orientation (CMU Panoptic: y down). The up direction is
taken from the cameras (their image y axes point down in the world), the floor from the lowest
joints, the centre from the median root position. Everything is millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SceneFrame:
    rotation: np.ndarray = field(default_factory=lambda: _basis(np.array([0.0, -1.0, 0.0])))  # world → display
    offset: np.ndarray = field(default_factory=lambda: np.zeros(3))  # subtracted after rotating
    extent: float = 2500.0  # half-size of the interesting region (for the grid and the camera)

    def to_display(self, points_world: np.ndarray) -> np.ndarray:
        """``(..., 3)`` world points to the display frame."""
        return np.asarray(points_world, np.float64) @ self.rotation.T - self.offset


def _basis(up: np.ndarray, forward_hint: np.ndarray | None = None) -> np.ndarray:
    """Rows (x, y, z) of a right-handed basis with z = ``up``."""
    z = up / np.linalg.norm(up)
    hint = np.array([0.0, 0.0, 1.0]) if forward_hint is None else np.asarray(forward_hint, np.float64)
    if abs(hint @ z) > 0.9:
        hint = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    y = hint - (hint @ z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    return np.stack([x, y, z])


def up_from_cameras(rotations: list[np.ndarray]) -> np.ndarray:
    """World up: minus the mean image-down axis (row 1 of ``R``) of the cameras."""
    if not rotations:
        return np.array([0.0, -1.0, 0.0])
    down = np.mean([np.asarray(R, np.float64)[1] for R in rotations], axis=0)
    if np.linalg.norm(down) < 1e-6:
        return np.array([0.0, -1.0, 0.0])
    return -down / np.linalg.norm(down)


def frame_for(cameras: list, joints_world: np.ndarray | None, root: int = 0) -> SceneFrame:
    """A display frame for ``cameras`` (objects with ``R``, ``t``) and sample ``(N, J, 3)`` world joints."""
    up = up_from_cameras([c.R for c in cameras])
    hint = None if not cameras else np.asarray(cameras[0].R, np.float64)[2]  # first camera's view axis
    rot = _basis(up, hint)
    centres = np.array([-np.asarray(c.R).T @ np.asarray(c.t) for c in cameras]).reshape(-1, 3) @ rot.T
    offset = np.zeros(3)
    extent = 2500.0
    pts = None
    if joints_world is not None and np.isfinite(joints_world).any():
        pts = np.asarray(joints_world, np.float64) @ rot.T  # (N, J, 3)
        roots = pts[:, root]
        roots = roots[np.isfinite(roots).all(axis=1)]
        if len(roots):
            offset[:2] = np.median(roots[:, :2], axis=0)
        offset[2] = np.nanpercentile(pts[..., 2], 0.5)
    elif len(centres):
        offset[:2] = centres[:, :2].mean(axis=0)
        offset[2] = centres[:, 2].mean() - 1500.0
    if len(centres):
        extent = float(np.max(np.linalg.norm(centres[:, :2] - offset[:2], axis=1))) * 1.1
    elif pts is not None:
        spread = np.nanmax(np.abs(pts[..., :2] - offset[:2]))
        extent = float(max(spread * 1.5, 1500.0))
    return SceneFrame(rotation=rot, offset=offset, extent=max(extent, 1000.0))


def grounded(points_display: np.ndarray) -> np.ndarray:
    """Shift a lone ``(J, 3)`` pose (no world placement) so its lowest joint stands on z = 0 at the origin."""
    pts = np.asarray(points_display, np.float64)
    ok = np.isfinite(pts).all(axis=1)
    if not ok.any():
        return pts
    shift = np.zeros(3)
    shift[:2] = pts[ok, :2].mean(axis=0)
    shift[2] = pts[ok, 2].min()
    return pts - shift


def frame_for_dataset(dataset, max_samples: int = 1000) -> SceneFrame:
    """:func:`frame_for` from the dataset's cameras and up to ``max_samples`` of its poses."""
    cameras = list((getattr(dataset, "cameras", None) or {}).values())
    joints = getattr(dataset, "joints_3d", None)
    if joints is None or len(dataset) == 0:
        return frame_for(cameras, None)
    rows = np.linspace(0, len(dataset) - 1, min(max_samples, len(dataset))).astype(np.int64)
    cams = getattr(dataset, "cameras", None) or {}
    world = np.asarray(joints[rows], np.float64)
    for k, i in enumerate(rows):
        cam = cams.get(int(dataset.camera_id[i]))
        if cam is not None:
            world[k] = (world[k] - cam.t) @ cam.R
    return frame_for(cameras, world, dataset.skeleton.root)
