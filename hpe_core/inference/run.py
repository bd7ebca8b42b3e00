"""What inference reads and writes: image lists, a prefetch thread, predictions (video frames are
decoded by :mod:`hpe_core.inference.video`).

- :func:`prefetch` runs a generator in a background thread feeding a bounded queue.
- :class:`PredictionRun` collects a run's :class:`~hpe_core.predictions.Prediction` rows with
  frame numbers and timings and writes JSON, CSV or the Prediction ``.npz`` (atomically);
  :func:`collect` fills one from the batches of :func:`hpe_core.inference.predict`.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from hpe_core.atomic import atomic_write  # noqa: F401  (re-exported for callers)
from hpe_core.errors import InputError
from hpe_core.predictions import Prediction

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
OUTPUT_SUFFIXES = (".json", ".csv", ".npz")
_DONE = object()


class prefetch:  # noqa: N801 - used like a function
    """Iterate ``source`` in a daemon thread, at most ``maxsize`` items ahead; ``close()`` stops it."""

    def __init__(self, source: Iterator, maxsize: int = 64, name: str = "hpe-prefetch") -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(maxsize)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(source,), daemon=True, name=name)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self, source: Iterator) -> None:
        try:
            for item in source:
                if not self._put(("item", item)):
                    return
            self._put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(("error", exc))

    def __iter__(self):
        while True:
            kind, value = self._queue.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return

    def close(self) -> None:
        """Stop the thread and wait for it (a source blocked in C code gets 5 s)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)


def iter_image_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """An image file, a folder (its images sorted by name) or a list of paths -> list of paths."""
    if isinstance(paths, (str, Path)):
        path = Path(paths).expanduser()
        if not path.exists():
            raise InputError(f"{paths}: no such file or folder")
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise InputError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            return files
        return [path]
    files = [Path(p).expanduser() for p in paths]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise InputError(f"{missing[0]}: no such image file" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return files


@dataclass
class PredictionRun:
    """One prediction run: the :class:`~hpe_core.predictions.Prediction` of the frames that were
    read (``prediction``), their frame numbers, names and timings, and the frames skipped."""

    skeleton: str | None
    num_joints: int
    source: str = ""
    precision: str = "fp32"
    device: str = "cpu"
    checkpoint: str | None = None  # sha256 of the checkpoint file
    model: str | None = None  # the checkpoint's file name (the model that predicted)
    frames: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)
    skipped_names: list[str] = field(default_factory=list)
    skipped_reasons: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    crop: str | None = None  # what an image model saw of each frame (boxes' crops or the whole frame)
    _parts: list[Prediction] = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def skipped(self) -> int:
        return len(self.skipped_names)

    @property
    def prediction(self) -> Prediction:
        """Every frame read so far, one row each, with ``index`` = the frame numbers."""
        if self._parts:
            rows = Prediction.concat(self._parts)
        else:
            rows = Prediction(joints_3d=np.zeros((0, self.num_joints, 3), np.float32), frame="root_relative")
        if len(self._parts) > 1:
            self._parts[:] = [rows]
        meta = {**{k: v for k, v in rows.meta.items() if k != "notes"}, "source": self.source, "model": self.model,
                "names": list(self.names), "precision": self.precision, "device": self.device}
        return rows.replace(index=np.asarray(self.frames, np.int64), skeleton=self.skeleton,
                            checkpoint=self.checkpoint, meta=meta)

    @property
    def joints_3d(self) -> np.ndarray:
        """(N, J, 3) float32 mm, root-relative (``prediction.joints_3d``)."""
        joints = self.prediction.joints_3d
        return np.zeros((len(self), self.num_joints, 3), np.float32) if joints is None else joints

    def add(self, frame: int, name: str, joints: np.ndarray, time_ms: float) -> None:
        """One frame's root-relative (J, 3) joints."""
        row = Prediction(joints_3d=np.asarray(joints, np.float32)[None], frame="root_relative")
        self.add_prediction([frame], [name], row, time_ms)

    def add_prediction(self, frames, names, rows: Prediction, time_ms: float) -> None:
        """A batch: frame numbers, names and their :class:`Prediction` rows (``time_ms`` per frame)."""
        if len(rows) != len(frames):
            raise ValueError(f"{len(frames)} frames but {len(rows)} prediction rows")
        self.frames.extend(int(f) for f in frames)
        self.names.extend(str(n) for n in names)
        self.times_ms.extend([float(time_ms)] * len(frames))
        self._parts.append(rows)

    def add_skipped(self, name: str, reason: str | None) -> None:
        self.skipped_names.append(str(name))
        self.skipped_reasons.append(str(reason or "unreadable"))

    def summary(self) -> dict:
        times = np.asarray(self.times_ms)
        return {"source": self.source, "model": self.model, "checkpoint": self.checkpoint,
                "frames": len(self), "skipped": self.skipped,
                "skeleton": self.skeleton, "joints": self.num_joints, "units": "mm, root-relative",
                "precision": self.precision, "device": self.device,
                "model_ms_per_frame": float(times.mean()) if len(times) else None,
                "frames_per_s": len(self) / self.wall_s if self.wall_s > 0 else None,
                "skipped_frames": [{"name": n, "reason": r} for n, r in zip(self.skipped_names, self.skipped_reasons)],
                "notes": list(self.notes), **({"crop": self.crop} if self.crop else {})}

    def to_dict(self) -> dict:
        out = self.summary()
        joints, joints_2d = self.joints_3d, self.prediction.joints_2d  # 2D in px of the image as stored
        two = [{} if joints_2d is None else {"joints_2d": j.astype(float).round(3).tolist()}
               for j in (joints_2d if joints_2d is not None else joints)]
        out["predictions"] = [{"frame": f, "name": n, "time_ms": round(t, 4), "joints_3d": j.round(3).tolist(), **u}
                              for f, n, t, j, u in zip(self.frames, self.names, self.times_ms, joints, two)]
        return out

    def save(self, path: str | Path) -> Path:
        """Write by suffix: .json (everything), .csv (one row per frame), .npz (the Prediction file
        of :mod:`hpe_core.predictions`, read back by ``load_prediction`` and ``hpe evaluate --pred``)."""
        path = Path(path).expanduser()
        suffix = path.suffix.lower()
        if suffix not in OUTPUT_SUFFIXES:
            raise InputError(f"--out {path}: unknown output format {suffix or '(none)'}; valid: "
                             f"{', '.join(OUTPUT_SUFFIXES)}")
        if not path.parent.is_dir():
            raise InputError(f"--out {path}: folder {path.parent} does not exist")
        if suffix == ".npz":
            prediction = self.prediction
            extra = {**prediction.meta, "times_ms": list(self.times_ms),
                     "skipped": [{"name": n, "reason": r} for n, r in zip(self.skipped_names, self.skipped_reasons)]}
            return prediction.replace(meta=extra).save(path)
        atomic_write(path, self._json() if suffix == ".json" else self._csv())
        return path

    def _json(self) -> bytes:
        return json.dumps(self.to_dict(), allow_nan=False).encode()

    def _csv(self) -> bytes:
        text = io.StringIO()
        out = csv.writer(text)
        joints_2d = self.prediction.joints_2d
        uv = [] if joints_2d is None else [f"j{j}_{a}2d" for j in range(self.num_joints) for a in "uv"]
        out.writerow(["frame", "name", "time_ms"] + [f"j{j}_{a}" for j in range(self.num_joints) for a in "xyz"] + uv)
        for k, (f, n, t, j) in enumerate(zip(self.frames, self.names, self.times_ms, self.joints_3d)):
            two = [] if joints_2d is None else [f"{v:.3f}" for v in joints_2d[k].reshape(-1)]
            out.writerow([f, n, f"{t:.4f}"] + [f"{v:.3f}" for v in j.reshape(-1)] + two)
        return text.getvalue().encode()


Predictions = PredictionRun  # the former name


def model_name(predictor) -> str | None:
    """The file name of the checkpoint behind ``predictor`` (None for a model built in memory)."""
    source = getattr(predictor, "source", None)
    return Path(source).name if isinstance(source, (str, Path)) and not str(source).startswith("<") else None


def collect(batches: Iterable, predictor, source: str = "", on_batch=None) -> PredictionRun:
    """A :class:`PredictionRun` of every row the :class:`~hpe_core.inference.predict.Batch` es
    hold (``on_batch(batch)`` sees each as it comes), timed from the first to the last."""
    run = PredictionRun(skeleton=predictor.skeleton, num_joints=predictor.num_joints, source=str(source),
                        precision=predictor.precision, device=str(predictor.device),
                        checkpoint=predictor.checkpoint_sha256, notes=list(predictor.notes),
                        model=model_name(predictor))
    start = time.perf_counter()
    for batch in batches:
        if batch.prediction is not None:
            run.add_prediction(batch.indices, batch.names, batch.prediction, batch.time_ms)
            run.notes += [n for n in batch.prediction.meta.get("notes", []) if n not in run.notes]
            run.crop = batch.prediction.meta.get("crop", run.crop)
        for _, name, reason in batch.skipped:
            run.add_skipped(name, reason)
        if on_batch is not None:
            on_batch(batch)
    run.wall_s = time.perf_counter() - start
    return run
