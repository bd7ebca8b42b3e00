"""The work behind the GUI's tasks: plain functions of ``progress`` that call ``hpe_core``.

Each ``*_job(...)`` returns ``fn(progress)`` for :class:`app.workers.Task`. Nothing here touches
Qt; torch and OpenCV are imported inside the functions, so they load in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from app.model import messages
from hpe_core.errors import InputError

CHECKPOINT_SUFFIXES = {".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".tar"}
Job = Callable[[Any], Any]


def classify(path: str | Path) -> str:
    """``"workspace"``, ``"checkpoint"`` or ``"dataset"`` (the reader decides the rest: a video
    is a dataset of its frames)."""
    from app.model.workspace_file import is_workspace_file

    path = Path(path)
    if is_workspace_file(path):
        return "workspace"
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    return "dataset"


# ------------------------------------------------------------------------ datasets
def open_dataset_job(path: str | Path, skip_list: str | Path | None = None) -> Job:
    def run(progress):
        from hpe_core.datasets import open_dataset

        progress.set_status(f"Opening {Path(path).name}")
        return open_dataset(path, skip_list=skip_list)

    return run


# ------------------------------------------------------------------------ checkpoints
@dataclass
class LoadedCheckpoint:
    path: Path
    model: Any  # HPEModel on the CPU, eval mode (its encoder is what analysis views use)
    info: Any  # CheckpointInfo
    device: str = "cpu"
    predictor: Any = None  # hpe_core.inference.Predictor on ``device``; None without a pose head

    @property
    def has_pose_head(self) -> bool:
        return self.predictor is not None

    @property
    def error_measure(self):
        """The one error this checkpoint is read by (``hpe_core.error_measure``): PA-MPJPE for a
        head trained with a rotation-aligned loss, MPJPE otherwise."""
        from hpe_core.error_measure import checkpoint_error_measure

        return checkpoint_error_measure(self.info)

    @property
    def rotation_free(self) -> bool:
        """Trained with a rotation-aligned loss: its poses are defined only up to a rotation, so
        they are shown rigidly aligned and ranked by PA-MPJPE."""
        return self.error_measure.rotation_aligned


def _predictor(model, info, device_spec: str, precision: str):
    from hpe_core.inference import Predictor, checkpoint_image_size

    if not getattr(model, "has_pose_head", False):
        return None
    predictor = Predictor(model, device=device_spec, precision=precision, batch_size=16,
                          image_size=checkpoint_image_size(info))
    # Warm up now, in the loading worker: the first forward passes (kernel set-up, lazy imports)
    # hold the GIL for tens of ms, which would otherwise stall the event loop during a job.
    blank = np.zeros((predictor.image_size, predictor.image_size, 3), np.uint8)
    predictor.predict_arrays([blank])
    predictor.predict_arrays([blank] * predictor.batch_size)
    return predictor


def leave_a_core_for_the_ui() -> None:
    """Let torch use all cores but one, so the event loop is never starved by inference."""
    import os

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))


def load_checkpoint_job(path: str | Path, device_spec: str = "auto", precision: str = "fp32") -> Job:
    def run(progress):
        progress.set_status(f"Loading {Path(path).name}")
        from hpe_core.models.checkpoint import load_checkpoint

        leave_a_core_for_the_ui()
        model, info = load_checkpoint(path, device="cpu")
        predictor = _predictor(model, info, device_spec, precision)
        device = str(predictor.device) if predictor is not None else "cpu"
        return LoadedCheckpoint(Path(path), model, info, device, predictor)

    return run


def move_checkpoint_job(loaded: LoadedCheckpoint, device_spec: str, precision: str) -> Job:
    """A new predictor for ``loaded`` on another device or precision."""

    def run(progress):
        progress.set_status(f"Moving {loaded.path.name} to {device_spec}")
        predictor = _predictor(loaded.model, loaded.info, device_spec, precision)
        device = str(predictor.device) if predictor is not None else loaded.device
        return LoadedCheckpoint(loaded.path, loaded.model, loaded.info, device, predictor)

    return run


class _Batcher:
    """Collects the predictor's per-frame callbacks into partials of ``size`` frames."""

    def __init__(self, progress, size: int) -> None:
        self.progress, self.size = progress, size
        self.frames: list[int] = []
        self.joints: list[np.ndarray] = []

    def __call__(self, item: dict) -> None:
        self.frames.append(int(item["frame"]))
        self.joints.append(item["prediction"].joints_3d[0])  # the frame's Prediction row
        if len(self.frames) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.frames:
            self.progress.partial({"indices": np.asarray(self.frames, np.int64), "joints": np.stack(self.joints)})
            self.frames, self.joints = [], []


def predict_dataset_job(loaded: LoadedCheckpoint, dataset, indices: np.ndarray) -> Job:
    """Predict rows ``indices``; partials ``{"indices", "joints"}`` per batch."""

    def run(progress):
        progress.set_status(f"Predicting {len(indices)} samples")
        batcher = _Batcher(progress, loaded.predictor.batch_size)
        try:
            result = loaded.predictor.predict_dataset(dataset, indices, progress, on_frame=batcher)
        finally:
            batcher.flush()
        return {"done": len(result), "skipped": result.skipped}

    return run


# ------------------------------------------------------------------------ export
def save_predictions(store, dataset, loaded: LoadedCheckpoint, path: str | Path) -> Path:
    """Save the predictions made so far of ``dataset`` (a video's frames, or any dataset's rows)
    by ``loaded`` as ``hpe predict`` does (.npz, .json or .csv, by suffix)."""
    from hpe_core.inference_io import Predictions

    rows = np.flatnonzero(store.predicted)
    if len(rows) == 0:
        raise InputError(messages.NOTHING_TO_EXPORT)
    predictor = loaded.predictor
    result = Predictions(skeleton=predictor.skeleton, num_joints=store.joints.shape[1], source=str(dataset.path),
                         precision=predictor.precision, device=str(predictor.device))
    for row in rows.tolist():
        result.add(row, dataset.images.name(dataset.row(row)), store.joints[row], 0.0)
    return result.save(path)


def probe_devices_job() -> Job:
    """The devices this machine offers: ``["cpu", "cuda:0", ..., "mps"]``."""

    def run(progress):
        import torch

        found = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            found.append("mps")
        names = {d: torch.cuda.get_device_name(int(d[5:])) for d in found if d.startswith("cuda")}
        return found, names

    return run
