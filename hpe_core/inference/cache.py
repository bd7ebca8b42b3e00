"""A disk cache of a checkpoint's per-sample 3D predictions on a dataset, so a second start of the
GUI shows them at once instead of predicting every sample again.

An entry is keyed by :func:`cache_key`: the checkpoint file's sha256, the dataset's
:func:`dataset_fingerprint` and the settings that change the numbers (precision, the cache's
format; for a lifter lifting a heatmap network's 2D, that network's sha256 too). It lives in
``<cache root>/predictions/<key>.npz`` (see :mod:`hpe_core.cache_dirs`): an uncompressed npz of
``joints`` (N, J, 3) float32 mm (NaN where not predicted or 2D only), ``predicted`` (N,) bool, a
``meta_json`` string and, when there are some, ``joints_2d`` (N, J, 2) float32 px (a model's own
2D: a heatmap network's, or the one a lifter lifted) and ``time_ms`` (N,) float32 (the model's
time per row); written atomically (:mod:`hpe_core.atomic`), read with ``allow_pickle=False``. A
partial run is stored too (what was predicted so far). An entry that cannot be read, or whose
shape does not match, is ignored: the samples are predicted again.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hpe_core.atomic import atomic_open
from hpe_core.cache_dirs import cache_root

VERSION = 1


def cache_folder() -> Path:
    return cache_root() / "predictions"


def dataset_fingerprint(dataset) -> str:
    """sha256 of the dataset's sample names and annotation columns (the report's provenance
    fingerprint) plus, for a dataset without 3D annotations (an image folder, a video), the size
    and modification time of its image files, so a changed image is predicted again."""
    from hpe_core.datasets.fingerprint import annotations_fingerprint

    h = hashlib.sha256(annotations_fingerprint(dataset).encode())
    h.update(str(getattr(dataset, "format", "")).encode())
    path = Path(getattr(dataset, "path", "") or "")
    if path.is_file():  # a video: its frames live in this one file
        st = path.stat()
        h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    elif getattr(dataset, "joints_3d", None) is None:
        for i in range(len(dataset)):
            image = dataset.image_path(i)
            try:
                st = image.stat() if image is not None else None
            except OSError:
                st = None
            h.update(b"-" if st is None else f"{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def cache_key(checkpoint_sha256: str, dataset_fp: str, settings: dict | None = None) -> str:
    """The entry's name: a hash of the checkpoint, the dataset and ``settings`` (JSON-able)."""
    doc = {"version": VERSION, "checkpoint": checkpoint_sha256, "dataset": dataset_fp, "settings": settings or {}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:40]


def entry_path(key: str) -> Path:
    return cache_folder() / f"{key}.npz"


@dataclass(frozen=True)
class Entry:
    """What an entry holds (``joints_2d`` and ``time_ms`` None when it has none)."""

    joints: np.ndarray  # (N, J, 3) float32 mm, NaN where not predicted
    predicted: np.ndarray  # (N,) bool
    joints_2d: np.ndarray | None = None  # (N, J, 2) float32 px
    time_ms: np.ndarray | None = None  # (N,) float32
    meta: dict = field(default_factory=dict)


def save(key: str, joints: np.ndarray, predicted: np.ndarray, meta: dict | None = None,
         joints_2d: np.ndarray | None = None, time_ms: np.ndarray | None = None) -> Path | None:
    """Store ``joints`` (N, J, 3), ``predicted`` (N,) and optionally ``joints_2d`` (N, J, 2) and
    ``time_ms`` (N,) under ``key``; None if it cannot be written."""
    path = entry_path(key)
    buffer = io.BytesIO()
    extra = {name: np.asarray(a, np.float32) for name, a in (("joints_2d", joints_2d), ("time_ms", time_ms))
             if a is not None and np.isfinite(a).any()}
    np.savez(buffer, joints=np.asarray(joints, np.float32), predicted=np.asarray(predicted, bool),
             meta_json=np.array(json.dumps({"version": VERSION, "key": key, **(meta or {})})), **extra)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as fh:
            fh.write(buffer.getvalue())
    except OSError:
        return None
    return path


def load(key: str, n: int, num_joints: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(joints (n, J, 3), predicted (n,))`` stored under ``key``, or None (none, unreadable,
    another shape)."""
    entry = load_entry(key, n, num_joints)
    return None if entry is None else (entry.joints, entry.predicted)


def load_entry(key: str, n: int, num_joints: int) -> Entry | None:
    """The :class:`Entry` stored under ``key``, or None (none, unreadable, another shape)."""
    path = entry_path(key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta_json"]))
            arrays = {name: np.array(data[name], bool if name == "predicted" else np.float32)
                      for name in ("joints", "predicted", "joints_2d", "time_ms") if name in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if meta.get("version") != VERSION or meta.get("key") != key:
        return None
    shapes = {"joints": (n, num_joints, 3), "predicted": (n,), "joints_2d": (n, num_joints, 2), "time_ms": (n,)}
    if {"joints", "predicted"} - arrays.keys() or any(a.shape != shapes[k] for k, a in arrays.items()):
        return None
    return Entry(meta=meta, **arrays)
