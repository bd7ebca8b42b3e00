"""Real files for GUI tests: a small native dataset with drawn images, a checkpoint, a video."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hpe_core.geometry import Camera, look_at, project, world_to_camera
from hpe_core.skeleton import PANOPTIC19

# A standing person in a y-down world (mm): Neck at 1500 mm above the floor (y = 0).
_TEMPLATE = np.array([
    [0, -1500, 0], [0, -1650, 30], [0, -1000, 0],          # Neck, Nose, BodyCenter
    [180, -1480, 0], [230, -1200, 0], [250, -950, 30],      # left arm
    [100, -1000, 0], [110, -520, 0], [120, -60, 0],         # left leg
    [-180, -1480, 0], [-230, -1200, 0], [-250, -950, 30],   # right arm
    [-100, -1000, 0], [-110, -520, 0], [-120, -60, 0],      # right leg
    [35, -1690, 60], [80, -1660, 0], [-35, -1690, 60], [-80, -1660, 0],  # eyes, ears
], dtype=np.float64)


def ring_cameras(count: int, size: int, radius: float = 3000.0) -> dict[int, Camera]:
    cams = {}
    for c in range(count):
        angle = 2 * np.pi * c / count
        eye = (radius * np.sin(angle), -1200.0, radius * np.cos(angle))
        R, t = look_at(eye, (0.0, -900.0, 0.0))
        K = np.array([[size * 1.4, 0, size / 2], [0, size * 1.4, size / 2], [0, 0, 1]])
        cams[c] = Camera(K=K, R=R, t=t, width=size, height=size, name=f"ring{c}")
    return cams


def poses(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 19, 3)`` world poses: the template with arms swinging and a random offset."""
    rng = np.random.default_rng(seed)
    out = np.repeat(_TEMPLATE[None], n, axis=0)
    swing = np.sin(np.linspace(0, 4 * np.pi, n))[:, None] * 250
    out[:, [5, 4], 2] += swing
    out[:, [11, 10], 2] -= swing
    out[:, :, [0, 2]] += rng.normal(0, 60, (n, 1, 2))
    return out


def draw(image: np.ndarray, pts: np.ndarray) -> None:
    import cv2

    for a, b in PANOPTIC19.bones:
        pa, pb = pts[a], pts[b]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(image, tuple(int(v) for v in pa), tuple(int(v) for v in pb), (230, 200, 150), 2)


def make_dataset(root: Path, n_poses: int = 12, n_cams: int = 3, size: int = 64, seed: int = 0) -> Path:
    """A native dataset (``dataset.json`` + ``annotations.npz`` + drawn JPEGs) of ``n_poses × n_cams``."""
    import cv2

    from hpe_core.datasets.native import DEFAULT_PATTERN, write_native

    cams = ring_cameras(n_cams, size)
    world = poses(n_poses, seed)
    rows = {k: [] for k in ("joints_3d", "joints_2d", "visible", "pose_id", "camera_id", "action",
                            "subject", "sequence", "frame")}
    for c, cam in cams.items():
        for p in range(n_poses):
            j3 = world_to_camera(world[p], cam.R, cam.t)
            j2 = project(j3, cam.K)
            rows["joints_3d"].append(j3)
            rows["joints_2d"].append(j2)
            rows["visible"].append(np.ones(19, bool))
            rows["pose_id"].append(p)
            rows["camera_id"].append(c)
            rows["action"].append(p % 2)
            rows["subject"].append(p % 3)
            rows["sequence"].append(0)
            rows["frame"].append(p)
            image = np.full((size, size, 3), 40 + 20 * c, np.uint8)
            draw(image, j2)
            path = root / DEFAULT_PATTERN.format(camera_id=c, pose_id=p)
            path.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(path), image[..., ::-1])
    write_native(root, arrays={k: np.asarray(v) for k, v in rows.items()}, cameras=cams,
                 image_size=(size, size), names={"action": ["walk", "wave"], "subject": ["S1", "S2", "S3"]})
    return root


def make_checkpoint(path: Path, width: int = 8, training: dict | None = None) -> Path:
    """A tiny regressor checkpoint (random weights, panoptic19)."""
    import torch

    from hpe_core.models import build_model
    from hpe_core.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model("regressor", "resnet18", width=width, head_layers=2, skeleton="panoptic19",
                        pose_scale=100.0)
    return save_checkpoint(path, model, training=training or {"epochs": 0})


def make_video(path: Path, frames: int = 40, size: int = 64, fps: float = 20.0) -> Path:
    """An MJPG ``.avi`` of a figure waving its arms (OpenCV writes and reads it everywhere)."""
    import cv2

    cam = ring_cameras(1, size)[0]
    world = poses(frames, 1)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size, size))
    for f in range(frames):
        image = np.full((size, size, 3), 50, np.uint8)
        draw(image, project(world_to_camera(world[f], cam.R, cam.t), cam.K))
        writer.write(image[..., ::-1].copy())
    writer.release()
    return path


class CountingImages:
    """An image source that draws a flat image per row and counts how many it made."""

    def __init__(self, size: int = 48) -> None:
        self.size = size
        self.loads = 0
        self.rows: list[int] = []

    def path(self, row: int):
        return None

    def name(self, row: int) -> str:
        return f"#{row}"

    def load(self, row: int) -> np.ndarray:
        self.loads += 1
        self.rows.append(row)
        image = np.empty((self.size, self.size, 3), np.uint8)
        image[:] = (row * 37 % 256, row * 91 % 256, 128)
        return image


def big_dataset(n: int = 100_000, size: int = 48):
    """A real :class:`PoseDataset` of ``n`` synthetic annotations whose images are made on demand."""
    from hpe_core.datasets.base import PoseDataset

    cams = ring_cameras(4, size)
    rng = np.random.default_rng(0)
    camera_id = (np.arange(n) % 4).astype(np.int32)
    world = poses(64, 0)
    j3 = np.empty((n, 19, 3), np.float32)
    for c, cam in cams.items():
        rows = np.flatnonzero(camera_id == c)
        j3[rows] = world_to_camera(world[rows % 64], cam.R, cam.t)
    columns = {"joints_3d": j3, "camera_id": camera_id,
               "action": rng.integers(0, 5, n).astype(np.int32),
               "subject": rng.integers(0, 3, n).astype(np.int32),
               "pose_id": (np.arange(n) // 4).astype(np.int64),
               "sequence": (np.arange(n) // 400).astype(np.int32),
               "frame": (np.arange(n) // 4 % 100).astype(np.int64)}
    return PoseDataset(path=f"/virtual/big{n}", format="test", skeleton=PANOPTIC19, size=n, columns=columns,
                       images=CountingImages(size), cameras=cams,
                       names={"action": [f"action{i}" for i in range(5)], "subject": ["S1", "S2", "S3"]})


def wait_for_prediction(qtbot, ws, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.pred_3d is not None, timeout=timeout)


def wait_idle(qtbot, ws, timeout: int = 30_000) -> None:
    qtbot.waitUntil(lambda: not ws.tasks.tasks, timeout=timeout)
