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

Job = Callable[[Any], Any]


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
    def capabilities(self) -> tuple[str, ...]:
        """What it can do: ``"image → 2D"``, ``"2D → 3D"``, ``"image → 3D"`` (from its family)."""
        from hpe_core.models.families.capabilities import capabilities

        return capabilities(self.model)

    @property
    def lifts(self) -> bool:
        """Takes 2D joints (a lifter): the ground truth's, or a heatmap checkpoint's."""
        from hpe_core.inference.heatmaps import lifts_2d

        return self.predictor is not None and lifts_2d(self.predictor)

    @property
    def makes_heatmaps(self) -> bool:
        from hpe_core.inference.heatmaps import has_heatmaps

        return has_heatmaps(self.predictor)

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
    from hpe_core.inference.heatmaps import warm_up
    from hpe_core.models.families import predicts_pose

    if not predicts_pose(model):
        return None
    predictor = Predictor(model, device=device_spec, precision=precision, batch_size=16,
                          image_size=checkpoint_image_size(info), info=info)
    if "image" not in predictor.family.inputs:  # a lifter (pose2d): small MLPs, nothing to warm
        return predictor
    # Warm up now, in the loading worker: the first forward passes (kernel set-up, lazy imports)
    # hold the GIL for tens of ms, which would otherwise stall the event loop during a job.
    warm_up(predictor)
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


def predict_dataset_job(loaded: LoadedCheckpoint, dataset, indices: np.ndarray,
                        source: LoadedCheckpoint | None = None) -> Job:
    """Predict rows ``indices``; partials ``{"indices", "joints" (B, J, 3) root-relative mm or None,
    "joints_2d" (B, J, 2) image px or None, "time_ms" the model's time per row, "wall_s" the time
    since the previous partial}`` per batch. ``source``: the heatmap checkpoint whose 2D a lifter
    lifts (None: the dataset's ground-truth 2D)."""

    if getattr(loaded, "kind", None) == "predictions":
        return _stored_rows_job(loaded, dataset, indices)

    def run(progress):
        import time

        from hpe_core.inference import predict

        progress.set_status(f"Predicting {len(indices)} samples")
        last = time.perf_counter()
        lift_from = source.predictor if source is not None and loaded.lifts else None
        detected = lift_from is not None or "image" in loaded.predictor.family.inputs  # 2D a model found
        done, skipped_files = 0, []
        for batch in predict(loaded.predictor, dataset, indices, lift_from=lift_from, progress=progress):
            done += len(batch)
            skipped_files += [(name, reason) for _, name, reason in batch.skipped]
            if len(batch):
                pred = batch.prediction
                now = time.perf_counter()
                progress.partial({"indices": batch.indices, "joints": pred.joints_3d,
                                  "joints_2d": pred.joints_2d if detected else None, "time_ms": batch.time_ms,
                                  "wall_s": now - last})
                last = now
        return {"done": done, "skipped": len(skipped_files), "skipped_files": skipped_files}

    return run


def _stored_rows_job(loaded, dataset, indices: np.ndarray) -> Job:
    """A predictions file's stored rows of ``indices``, as partials of 256 rows."""

    def run(progress):
        progress.set_status(f"Reading {len(indices)} stored predictions")
        result = loaded.predictor.stored_rows(dataset, indices, progress)
        rows = np.asarray(result.frames, np.int64)
        joints = result.prediction.joints_3d
        for a in range(0, len(rows), 256):
            progress.partial({"indices": rows[a:a + 256], "joints": joints[a:a + 256], "joints_2d": None})
        return {"done": len(rows), "skipped": result.skipped,
                "skipped_files": list(zip(result.skipped_names, result.skipped_reasons))}

    return run


def load_predictions_job(path: str | Path, units: str | None = None, dataset=None) -> Job:
    """A predictions file opened like a checkpoint: a ``PredictionsEntry``, checked against
    ``dataset`` (the current one) when given."""

    def run(progress):
        from app.model.stored_predictions import load_predictions

        progress.set_status(f"Reading {Path(path).name}")
        return load_predictions(path, units, dataset)

    return run


def heatmaps_job(predictor, dataset, index: int) -> Job:
    """``(index, SampleHeatmaps)`` of dataset row ``index`` (None when its image is unreadable)."""

    def run(progress):
        from hpe_core.errors import DatasetError
        from hpe_core.inference.heatmaps import sample_heatmaps

        try:
            image = dataset.load_image(index)
        except (DatasetError, InputError, OSError):
            return index, None
        return index, sample_heatmaps(predictor, image)

    return run


# ------------------------------------------------------------------------ export
def save_predictions(store, dataset, loaded: LoadedCheckpoint, path: str | Path) -> Path:
    """Save the predictions made so far of ``dataset`` (a video's frames, or any dataset's rows)
    by ``loaded`` as ``hpe predict`` does (.npz, .json or .csv, by suffix)."""
    from hpe_core.inference.run import Predictions

    rows = np.flatnonzero(store.predicted)
    if len(rows) == 0:
        raise InputError(messages.NOTHING_TO_EXPORT)
    from hpe_core.datasets.boxes import crop_note

    predictor = loaded.predictor
    result = Predictions(skeleton=predictor.skeleton, num_joints=store.joints.shape[1], source=str(dataset.path),
                         precision=predictor.precision, device=str(predictor.device), model=loaded.path.name,
                         checkpoint=getattr(loaded.info, "sha256", None), wall_s=store.wall_s,
                         crop=crop_note(dataset) if "image" in predictor.family.inputs else None)
    times = np.nan_to_num(store.time_ms, nan=0.0)  # 0: rows whose time is not known (a stored file's)
    for row in rows.tolist():
        result.add(row, dataset.images.name(dataset.row(row)), store.joints[row], float(times[row]))
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
