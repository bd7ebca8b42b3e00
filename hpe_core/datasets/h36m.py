"""Human3.6M as prepared by VideoPose3D: ``data_3d_h36m.npz`` (``positions_3d``: subject ->
action -> (T, 32, 3) metres, world) and optionally ``data_2d_h36m_gt.npz`` next to it
(``positions_2d``: subject -> action -> four (T, 17, 2) pixel arrays).

Each (subject, action, camera, frame) is a sample with joints in h36m17 order (32 -> 17 as
VideoPose3D), in mm in that camera's frame; the four views of a frame share a ``pose_id``.
Without the 2D file, ``joints_2d`` is the projection of ``joints_3d`` (OpenCV distortion model).
The files hold no images. Split by subject: S1, S5, S6, S7, S8 train; S9, S11 test (and val).
Camera-frame columns are built on first use; ``sample(i)`` computes its one row.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from hpe_core.datasets.base import LazyArray, NoImages, PoseDataset
from hpe_core.datasets.h36m_cameras import EXTRINSICS, h36m_camera
from hpe_core.datasets.safe_pickle import load_pickled_member
from hpe_core.errors import DatasetError
from hpe_core.geometry import project
from hpe_core.skeleton import H36M17

KEEP_32 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
SUBJECT_SPLIT = {"train": ["S1", "S5", "S6", "S7", "S8"], "val": ["S9", "S11"], "test": ["S9", "S11"]}
FILE_3D = re.compile(r"^data_3d_h36m.*\.npz$")


def is_h36m_file(path: Path) -> bool:
    return bool(FILE_3D.match(path.name))


def find_3d_file(folder: Path) -> Path | None:
    found = sorted(p for p in folder.glob("data_3d_h36m*.npz"))
    return found[0] if found else None


class _Index:
    """The sequences of the file and the row layout: per sequence, 4 cameras x T frames."""

    def __init__(self, sequences: list[tuple[str, str, np.ndarray]], poses_2d: dict | None) -> None:
        self.world = [w for _, _, w in sequences]  # (T, 17, 3) mm each
        self.subjects = [s for s, _, _ in sequences]
        self.lengths = np.array([len(w) for w in self.world], np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(4 * self.lengths)])
        self.frame_offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        names = sorted(EXTRINSICS)
        self.cameras = {names.index(s) * 4 + c: h36m_camera(s, c) for s in sorted(set(self.subjects)) for c in range(4)}
        self.cam_base = [names.index(s) * 4 for s in self.subjects]
        self.poses_2d = poses_2d  # list per sequence of four (T, 17, 2) arrays, or None

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def locate(self, row: int) -> tuple[int, int, int]:
        """(sequence, camera 0-3, frame) of a row."""
        k = int(np.searchsorted(self.offsets, row, side="right") - 1)
        c, t = divmod(row - int(self.offsets[k]), int(self.lengths[k]))
        return k, c, t

    def per_row(self, fn) -> np.ndarray:
        """Concatenate ``fn(k, c)`` (T_k, ...) over sequences k and cameras c in row order."""
        return np.concatenate([fn(k, c) for k in range(len(self.world)) for c in range(4)])

    def joints_3d(self) -> np.ndarray:
        return self.per_row(lambda k, c: self._cam(k, c, self.world[k])).astype(np.float32)

    def joints_3d_row(self, row: int) -> np.ndarray:
        k, c, t = self.locate(row)
        return self._cam(k, c, self.world[k][t]).astype(np.float32)

    def _cam(self, k: int, c: int, x: np.ndarray) -> np.ndarray:
        cam = self.cameras[self.cam_base[k] + c]
        return x @ cam.R.T + cam.t

    def joints_2d(self) -> np.ndarray:
        if self.poses_2d is not None:
            return self.per_row(lambda k, c: self.poses_2d[k][c]).astype(np.float32)
        return self.per_row(lambda k, c: self._project(k, c, self.world[k])).astype(np.float32)

    def joints_2d_row(self, row: int) -> np.ndarray:
        k, c, t = self.locate(row)
        if self.poses_2d is not None:
            return np.asarray(self.poses_2d[k][c][t], np.float32)
        return self._project(k, c, self.world[k][t]).astype(np.float32)

    def _project(self, k: int, c: int, x: np.ndarray) -> np.ndarray:
        cam = self.cameras[self.cam_base[k] + c]
        return project(self._cam(k, c, x), cam.K, cam.dist)

    def name(self, row: int, seq_names: list[str]) -> str:
        k, c, t = self.locate(row)
        return f"{seq_names[k]}/cam{c}/{t:06d}"


def _sequences(path: Path, data) -> list[tuple[str, str, np.ndarray]]:
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: positions_3d is not a dict of subjects")
    out = []
    for subject in sorted(data, key=lambda s: (len(str(s)), str(s))):
        if subject not in EXTRINSICS:
            raise DatasetError(f"{path}: subject {subject!r} has no public camera calibration "
                               f"(known: {', '.join(EXTRINSICS)})")
        actions = data[subject]
        if not isinstance(actions, dict):
            raise DatasetError(f"{path}: positions_3d[{subject!r}] is not a dict of actions")
        for action in sorted(actions):
            x = np.asarray(actions[action], dtype=np.float64)
            if x.ndim != 3 or x.shape[1:] not in ((32, 3), (17, 3)):
                raise DatasetError(f"{path}: {subject}/{action} has shape {x.shape}, expected (T, 32, 3)")
            if x.shape[1] == 32:
                x = x[:, KEEP_32]
            if len(x):
                out.append((str(subject), str(action), x * 1000.0))
    if not out:
        raise DatasetError(f"{path}: no sequences in positions_3d")
    return out


def _load_2d(path: Path, sequences: list) -> list | None:
    file = path.parent / "data_2d_h36m_gt.npz"
    if not file.is_file():
        return None
    data = load_pickled_member(file, "positions_2d")
    out, missing, short = [], [], []
    for subject, action, world in sequences:
        try:
            views = [np.asarray(v, dtype=np.float64) for v in data[subject][action]]
        except (KeyError, TypeError):
            missing.append(f"{subject}/{action}")
            continue
        if len(views) != 4 or any(v.ndim != 3 or v.shape[1:] != (17, 2) for v in views):
            raise DatasetError(f"{file}: {subject}/{action} needs four (T, 17, 2) arrays")
        if min(len(v) for v in views) < len(world):  # longer 2D (video frames past the mocap) is cut, as VideoPose3D does
            short.append(f"{subject}/{action} ({min(len(v) for v in views)} of {len(world)} frames)")
        out.append([v[:len(world)] for v in views])
    _check_cover(file, path, missing, short)
    return out


def _check_cover(file: Path, path: Path, missing: list[str], short: list[str]) -> None:
    """The 2D file must cover the 3D file: every sequence, every frame, else one message naming them."""
    problems = []
    for what, names in (("has no 2D poses for", missing), ("is shorter than the 3D poses for", short)):
        if names:
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            problems.append(f"{what} {len(names)} sequence(s): {', '.join(names[:8])}{more}")
    if problems:
        raise DatasetError(f"{file}: the 2D file does not cover {path.name}: it " + "; it ".join(problems))


def read_h36m(path: str | Path) -> PoseDataset:
    path = Path(path)
    if path.is_dir():
        found = find_3d_file(path)
        if found is None:
            raise DatasetError(f"{path}: no data_3d_h36m*.npz")
        path = found
    sequences = _sequences(path, load_pickled_member(path, "positions_3d"))
    poses_2d = _load_2d(path, sequences)
    index = _Index(sequences, poses_2d)
    subjects = sorted({s for s, _, _ in sequences}, key=lambda s: (len(s), s))
    actions = sorted({re.sub(r"[\s_]*\d+$", "", a) for _, a, _ in sequences})
    seq_names = [f"{s}/{a}" for s, a, _ in sequences]
    per_seq = lambda values: index.per_row(lambda k, c: np.full(index.lengths[k], values[k]))
    columns = {
        "joints_3d": LazyArray(index.joints_3d, index.joints_3d_row),
        "joints_2d": LazyArray(index.joints_2d, index.joints_2d_row),
        "visible": LazyArray(functools.partial(np.ones, (index.size, 17), bool)),
        "pose_id": index.per_row(lambda k, c: index.frame_offsets[k] + np.arange(index.lengths[k])),
        "camera_id": index.per_row(lambda k, c: np.full(index.lengths[k], index.cam_base[k] + c)).astype(np.int32),
        "subject": per_seq([subjects.index(s) for s, _, _ in sequences]).astype(np.int32),
        "action": per_seq([actions.index(re.sub(r"[\s_]*\d+$", "", a)) for _, a, _ in sequences]).astype(np.int32),
        "sequence": per_seq(list(range(len(sequences)))).astype(np.int32),
        "frame": index.per_row(lambda k, c: np.arange(index.lengths[k])),
    }
    return PoseDataset(
        path=path, format="h36m", skeleton=H36M17, size=index.size, columns=columns,
        images=NoImages(f"{path}: Human3.6M npz files hold joints only, no images",
                        names=functools.partial(index.name, seq_names=seq_names)),
        cameras=index.cameras, names={"subject": subjects, "action": actions, "sequence": seq_names},
        subject_split=SUBJECT_SPLIT,
        extra={"joints_2d_source": "data_2d_h36m_gt.npz" if poses_2d is not None else "projected"})
