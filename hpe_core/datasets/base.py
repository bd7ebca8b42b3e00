"""The dataset every reader returns: annotation arrays in memory (or memory-mapped), images on demand.

A :class:`PoseDataset` holds length-N columns (``joints_3d`` (N,J,3) mm camera frame,
``joints_2d`` (N,J,2) px, ``visible`` (N,J), ``pose_id``, ``camera_id``, ``action``, ``subject``,
``sequence``, ``frame``, and where known ``boxes`` (N,4) x0, y0, x1, y1 px: the person's box, see
:mod:`hpe_core.datasets.boxes`) and an image source that reads one image when asked. Columns may be
given as zero-argument callables; they are resolved on first use, so opening a large dataset
reads nothing it does not need. A row selection (a skip list, a subset) is applied lazily too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from hpe_core.datasets.splits import SPLITS, pose_split_codes, subject_mask
from hpe_core.errors import DatasetError, InputError
from hpe_core.geometry import Camera
from hpe_core.skeleton import Skeleton

COLUMNS: dict[str, Any] = {
    "joints_3d": np.float32, "joints_2d": np.float32, "visible": np.bool_,
    "pose_id": np.int64, "camera_id": np.int32, "action": np.int32, "subject": np.int32,
    "sequence": np.int32, "frame": np.int64, "boxes": np.float32,
    # what a file gives beside the joints (None where it does not): mmpose's box ``center`` (N, 2) px and
    # ``scale`` (N,) (box side / 200 px); 3DPW's own 2D detections ``poses2d`` (N, 18, 3: x, y, confidence,
    # OpenPose's COCO-18 order); MPI-INF-3DHP's ``joints_3d_univ`` (N, J, 3) mm, scaled to the universal skeleton;
    # COCO's ``area`` (N,) px^2 of each person's segmentation (what its OKS is scaled by)
    "center": np.float32, "scale": np.float32, "poses2d": np.float32, "joints_3d_univ": np.float32,
    "area": np.float64,
}
OPTIONAL = ("joints_3d", "boxes", "center", "scale", "poses2d", "joints_3d_univ", "area")
LABELS = ("action", "subject", "camera", "pose_id", "sequence")


class ImageSource(Protocol):
    """Where the image of a row comes from."""

    def path(self, row: int) -> Path | None: ...

    def name(self, row: int) -> str: ...  # a short stable name, used by reports and skip lists

    def load(self, row: int) -> np.ndarray: ...  # (H, W, 3) uint8 RGB, DatasetError if unreadable


class LazyArray:
    """A zero-argument callable that computes an array once; pickles without the array.

    ``row_fn(row)``, when given, computes one row without building the whole array.
    """

    def __init__(self, fn: Callable[[], np.ndarray], row_fn: Callable[[int], np.ndarray] | None = None) -> None:
        self.fn, self.row_fn, self._value = fn, row_fn, None

    def __call__(self) -> np.ndarray:
        if self._value is None:
            self._value = self.fn()
        return self._value

    def row(self, r: int):
        if self._value is None and self.row_fn is not None:
            return self.row_fn(r)
        return self()[r]

    def __getstate__(self) -> dict:
        return {"fn": self.fn, "row_fn": self.row_fn, "_value": None}


class NoImages:
    """The image source of a joints-only dataset (e.g. the Human3.6M npz files)."""

    def __init__(self, reason: str, names: Callable[[int], str] | None = None) -> None:
        self.reason, self._names = reason, names

    def path(self, row: int) -> Path | None:
        return None

    def name(self, row: int) -> str:
        return self._names(row) if self._names else f"#{row}"

    def load(self, row: int) -> np.ndarray:
        raise DatasetError(self.reason)


@dataclass(eq=False)
class Sample:
    """One sample; ``image`` is read from disk on first access."""

    index: int
    joints_3d: np.ndarray | None  # (J, 3) mm, camera frame
    joints_2d: np.ndarray  # (J, 2) px
    visible: np.ndarray  # (J,) bool
    camera: Camera | None
    meta: dict = field(default_factory=dict)
    _loader: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    _image: np.ndarray | None = field(default=None, repr=False)

    @property
    def image(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB."""
        if self._image is None:
            if self._loader is None:
                raise DatasetError(f"sample {self.index} has no image")
            self._image = self._loader()
        return self._image


class _Column:
    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        return self if obj is None else obj.column(self.name)


class PoseDataset:
    """A pose dataset of ``len(self)`` samples; see the module docstring."""

    joints_3d = _Column()
    joints_2d = _Column()
    visible = _Column()
    pose_id = _Column()
    camera_id = _Column()
    action = _Column()
    subject = _Column()
    sequence = _Column()
    frame = _Column()
    boxes = _Column()

    def __init__(self, *, path: str | Path, format: str, skeleton: Skeleton, size: int,
                 columns: dict[str, Any], images: ImageSource, cameras: dict[int, Camera] | None = None,
                 names: dict[str, list[str]] | None = None, subject_split: dict[str, list[str]] | None = None,
                 extra: dict | None = None) -> None:
        unknown = set(columns) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown dataset columns: {sorted(unknown)}")
        self.path = Path(path)
        self.format = format
        self.skeleton = skeleton
        self.cameras: dict[int, Camera] = dict(cameras or {})
        self.images = images
        names = names or {}
        self.action_names: list[str] = list(names.get("action", []))
        self.subject_names: list[str] = list(names.get("subject", []))
        self.sequence_names: list[str] = list(names.get("sequence", []))
        self.subject_split = subject_split
        self.extra = dict(extra or {})
        self.skipped: list[str] = []  # names of rows removed by a skip list
        self.unreadable: list[tuple[str, str]] = []  # (name, why) of files the reader left out
        self._size = int(size)
        self._sources = dict(columns)
        self._provided = {k for k, v in columns.items() if v is not None}
        self._base: dict[str, np.ndarray | None] = {}
        self._cache: dict[str, np.ndarray | None] = {}
        self._rows: np.ndarray | None = None
        self._split_codes: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ columns
    def __len__(self) -> int:
        return self._size if self._rows is None else len(self._rows)

    def __repr__(self) -> str:
        return f"PoseDataset({self.format}, {len(self)} samples, {self.skeleton.name}, {str(self.path)!r})"

    def has(self, name: str) -> bool:
        """Whether the reader provided column ``name`` (else it is a default or None)."""
        return name in self._provided

    def base_column(self, name: str) -> np.ndarray | None:
        """Column ``name`` over all rows of the source, before any row selection."""
        if name not in self._base:
            source = self._sources.get(name)
            value = source() if callable(source) else source
            if value is None:
                value = self._default(name)
            elif len(value) != self._size:
                raise DatasetError(f"{self.path}: column {name} has {len(value)} rows, expected {self._size}")
            self._base[name] = value
        return self._base[name]

    def column(self, name: str) -> np.ndarray | None:
        if self._rows is None:
            return self.base_column(name)
        if name not in self._cache:
            base = self.base_column(name)
            self._cache[name] = None if base is None else base[self._rows]
        return self._cache[name]

    def _default(self, name: str) -> np.ndarray | None:
        n, j = self._size, self.skeleton.num_joints
        if name in OPTIONAL:
            return None
        if name == "joints_2d":
            return np.full((n, j, 2), np.nan, np.float32)
        if name == "visible":
            j2 = self.base_column("joints_2d")
            return np.isfinite(j2).all(axis=-1)
        if name in ("pose_id", "frame"):
            return np.arange(n, dtype=COLUMNS[name])
        return np.zeros(n, dtype=COLUMNS[name])

    def row(self, i: int) -> int:
        """The source row of sample ``i``."""
        n = len(self)
        if not -n <= int(i) < n:
            raise IndexError(f"sample {i} out of range for a dataset of {n} samples")
        i = int(i) % n
        return i if self._rows is None else int(self._rows[i])

    def _value(self, name: str, i: int):
        """Column ``name`` at sample ``i``, without building a column that is not built yet."""
        source, row = self._sources.get(name), self.row(i)
        if name not in self._base:
            if isinstance(source, LazyArray):
                return source.row(row)
            if source is None:
                return self._default_row(name, i, row)
        base = self.base_column(name)
        return None if base is None else base[row]

    def _default_row(self, name: str, i: int, row: int):
        if name in OPTIONAL:
            return None
        if name == "joints_2d":
            return np.full((self.skeleton.num_joints, 2), np.nan, np.float32)
        if name == "visible":
            return np.isfinite(self._value("joints_2d", i)).all(-1)
        return COLUMNS[name](row if name in ("pose_id", "frame") else 0)

    # ------------------------------------------------------------------ samples
    def image_path(self, i: int) -> Path | None:
        return self.images.path(self.row(i))

    def sample_name(self, i: int) -> str:
        """A short stable name of sample ``i`` (its image file relative to the dataset, or similar)."""
        return self.images.name(self.row(i))

    def load_image(self, i: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB; :class:`DatasetError` naming the file if it cannot be read."""
        return self.images.load(self.row(i))

    def camera(self, i: int) -> Camera | None:
        return self.cameras.get(int(self._value("camera_id", i)))

    def image_hw(self, i: int) -> tuple[int, int]:
        """(height, width) of sample ``i``'s image: its camera's size when known, else the image's."""
        cam = self.camera(i) if self.camera_id is not None and self.cameras else None
        if cam is not None and getattr(cam, "width", 0) > 0 and getattr(cam, "height", 0) > 0:
            return int(cam.height), int(cam.width)
        return tuple(int(v) for v in self.load_image(i).shape[:2])

    def sample(self, i: int) -> Sample:
        row = self.row(i)
        j3 = self._value("joints_3d", i)
        meta = {k: int(self._value(k, i)) for k in ("pose_id", "camera_id", "action", "subject", "sequence", "frame")}
        meta["name"] = self.images.name(row)
        for key, names in (("action", self.action_names), ("subject", self.subject_names),
                           ("sequence", self.sequence_names)):
            if 0 <= meta[key] < len(names):
                meta[f"{key}_name"] = names[meta[key]]
        return Sample(index=int(i) % len(self), joints_3d=None if j3 is None else np.array(j3, np.float32),
                      joints_2d=np.array(self._value("joints_2d", i), np.float32),
                      visible=np.array(self._value("visible", i), bool), camera=self.camera(i), meta=meta,
                      _loader=lambda: self.images.load(row))

    # ------------------------------------------------------------------ selection
    def select(self, keep: np.ndarray) -> "PoseDataset":
        """A dataset of the samples ``keep`` (positions or a boolean mask) sharing this one's source."""
        keep = np.asarray(keep)
        positions = np.flatnonzero(keep) if keep.dtype == bool else keep.astype(np.int64)
        out = object.__new__(PoseDataset)
        out.__dict__.update(self.__dict__)
        out._cache = {}
        out.skipped = list(self.skipped)
        out.unreadable = list(self.unreadable)
        out._rows = positions if self._rows is None else self._rows[positions]
        return out

    def with_column(self, name: str, values: np.ndarray | None, extra: dict | None = None) -> "PoseDataset":
        """A dataset sharing this one's source and rows, with column ``name`` over the source rows
        (``len`` = before any row selection) replaced by ``values`` (None: as if the reader gave none),
        and ``extra`` merged into its extra."""
        if name not in COLUMNS:
            raise ValueError(f"unknown dataset column: {name}")
        out = object.__new__(PoseDataset)
        out.__dict__.update(self.__dict__)
        out._cache, out.skipped, out.unreadable = {}, list(self.skipped), list(self.unreadable)
        out._sources = {**self._sources, name: values}
        out._provided = (self._provided | {name}) if values is not None else (self._provided - {name})
        out._base = {k: v for k, v in self._base.items() if k != name}
        out.extra = {**self.extra, **(extra or {})}
        return out

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        # Lazily resolved columns (often memory maps) are re-resolved in the receiving process.
        state["_base"] = {k: v for k, v in self._base.items() if not callable(self._sources.get(k))}
        state["_cache"] = {}
        return state

    # ------------------------------------------------------------------ splits and labels
    def split_indices(self, split: str, seed: int = 0) -> np.ndarray:
        """Positions of the samples of ``split`` ("train", "val", "test" or "all"), sorted.

        By subject where the dataset defines a subject split (Human3.6M; a subject may be in
        two splits, e.g. its test subjects serve as validation too), else a seeded
        60/20/20 split of the distinct ``pose_id`` values, so all views of one pose share a
        split. The split is computed on the whole source, so a skip list does not move poses.
        """
        if split not in SPLITS:
            raise InputError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
        if split == "all":
            return np.arange(len(self), dtype=np.int64)
        if self.subject_split:
            mask = subject_mask(self.base_column("subject"), self.subject_names, self.subject_split, split)
        else:
            codes = self._split_codes.get(seed)
            if codes is None:
                codes = self._split_codes[seed] = pose_split_codes(self.base_column("pose_id"), seed)
            mask = codes == SPLITS.index(split)
        if self._rows is not None:
            mask = mask[self._rows]
        return np.flatnonzero(mask).astype(np.int64)

    def available_labels(self) -> list[str]:
        out = [name for name in ("action", "subject", "sequence") if self.has(name)]
        if self.cameras:
            out.append("camera")
        return out + ["pose_id"]

    def labels(self, name: str) -> tuple[np.ndarray, list[str]]:
        """``(values (N,) int, names)`` of label ``name``; ``names[values[i]]`` names sample ``i``."""
        valid = self.available_labels()
        if name not in valid:
            raise InputError(f"label {name!r}: this {self.format} dataset has the labels {', '.join(valid)}")
        if name == "pose_id":
            ids, inverse = np.unique(self.pose_id, return_inverse=True)
            return inverse.reshape(-1).astype(np.int64), [str(v) for v in ids]
        if name == "camera":
            count = max(self.cameras) + 1 if self.cameras else 0
            names = [self.cameras[k].name or str(k) if k in self.cameras else str(k) for k in range(count)]
            return self.camera_id.astype(np.int64), names
        values = self.column(name).astype(np.int64)
        names = {"action": self.action_names, "subject": self.subject_names,
                 "sequence": self.sequence_names}[name]
        return values, list(names) or [str(v) for v in range(int(values.max(initial=-1)) + 1)]

    def info(self) -> dict:
        """A summary for ``hpe data info`` and the GUI."""
        return {
            "format": self.format, "path": str(self.path), "samples": len(self),
            "skeleton": self.skeleton.name, "joints": self.skeleton.num_joints,
            "cameras": len(self.cameras), "subjects": list(self.subject_names) if self.has("subject") else [],
            "actions": list(self.action_names) if self.has("action") else [],
            "poses": int(len(np.unique(self.pose_id))) if len(self) else 0,
            "has_3d": self.has("joints_3d"), "has_images": not isinstance(self.images, NoImages),
            "skipped": len(self.skipped), "unreadable": len(self.unreadable), **self.extra,
        }
