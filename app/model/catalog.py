"""The catalog: the open datasets and checkpoints, the current dataset and the active checkpoint.

Qt-free and evented (psygnal): views that list datasets or checkpoints connect to its signals.
Entries are replaced, never mutated: a checkpoint moved to another device is a new entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psygnal import Signal


def path_key(path: str | Path) -> str:
    """The catalog's key of a file: its absolute, resolved path."""
    return str(Path(path).expanduser().resolve())


#: checkpoint names that say nothing without their folder (a training run's outputs)
GENERIC_NAMES = {"best.pt", "last.pt", "final.pt", "checkpoint.pt", "model.pt", "latest.pt"}


def checkpoint_label(path: str | Path, others=()) -> str:
    """How a checkpoint is listed: its file name, or ``<run folder>/<name>`` when the name alone
    says nothing (``best.pt`` of a training run) or another open checkpoint has the same name."""
    path = Path(path)
    same = sum(1 for o in others if Path(o).name == path.name and Path(o) != path)
    if (path.name in GENERIC_NAMES or same) and path.parent.name:
        return f"{path.parent.name}/{path.name}"
    return path.name


@dataclass(frozen=True)
class DatasetEntry:
    key: str
    dataset: Any  # hpe_core.datasets.PoseDataset (or a video read as one)
    skip_list: str | None = None
    notes: list[str] = field(default_factory=list, compare=False)  # problems of this dataset (files unread)


class Catalog:
    """What is open. ``current`` / ``active`` are keys; the properties give the objects."""

    datasets_changed = Signal()
    current_dataset_changed = Signal(object)  # DatasetEntry | None
    checkpoints_changed = Signal()
    active_checkpoint_changed = Signal(object)  # LoadedCheckpoint | None
    notes_changed = Signal(object)  # dataset key whose notes changed

    def __init__(self) -> None:
        self.datasets: dict[str, DatasetEntry] = {}
        self.checkpoints: dict[str, Any] = {}  # key -> app.workers.jobs.LoadedCheckpoint
        self.current_key: str | None = None
        self.active_key: str | None = None

    # ------------------------------------------------------------------ reading
    @property
    def entry(self) -> DatasetEntry | None:
        return self.datasets.get(self.current_key) if self.current_key else None

    @property
    def dataset(self):
        entry = self.entry
        return None if entry is None else entry.dataset

    @property
    def checkpoint(self):
        return self.checkpoints.get(self.active_key) if self.active_key else None

    # ------------------------------------------------------------------ datasets
    def add_dataset(self, entry: DatasetEntry) -> None:
        self.datasets[entry.key] = entry
        self.datasets_changed.emit()

    def remove_dataset(self, key: str) -> None:
        if self.datasets.pop(key, None) is not None:
            self.datasets_changed.emit()
        if self.current_key == key:
            self.set_current(next(iter(self.datasets), None))

    def add_note(self, key: str, text: str) -> None:
        """A problem of dataset ``key`` (shown with it, gone with it); a repeat is not added."""
        entry = self.datasets.get(key)
        if entry is not None and text not in entry.notes:
            entry.notes.append(text)
            self.notes_changed.emit(key)

    def set_current(self, key: str | None) -> None:
        """Make ``key`` current (None, or a key not open: no dataset); always announced."""
        self.current_key = key if key in self.datasets else None
        self.current_dataset_changed.emit(self.entry)

    # ------------------------------------------------------------------ checkpoints
    def put_checkpoint(self, key: str, loaded) -> None:
        """Add ``loaded`` under ``key`` or replace the one there (e.g. moved to a new device)."""
        self.checkpoints[key] = loaded
        self.checkpoints_changed.emit()
        if key == self.active_key:
            self.active_checkpoint_changed.emit(loaded)

    def order_checkpoints(self, keys) -> None:
        """List the open checkpoints of ``keys`` in that order, the others after them (as they
        were); announced when the order changed. Checkpoints load in parallel and join as each
        ends: this puts them back in the order they were listed."""
        first = [k for k in dict.fromkeys(keys) if k in self.checkpoints]
        order = first + [k for k in self.checkpoints if k not in first]
        if order != list(self.checkpoints):
            self.checkpoints = {k: self.checkpoints[k] for k in order}
            self.checkpoints_changed.emit()

    def remove_checkpoint(self, key: str) -> None:
        if self.checkpoints.pop(key, None) is not None:
            self.checkpoints_changed.emit()
        if self.active_key == key:
            self.set_active(next(iter(self.checkpoints), None))

    def set_active(self, key: str | None) -> None:
        self.active_key = key if key in self.checkpoints else None
        self.active_checkpoint_changed.emit(self.checkpoint)


@dataclass(frozen=True)
class PredictionsEntry:
    """A predictions file opened like a checkpoint (the checkpoint list, the browser's error
    column, the 3D view, Compare): ``predictor`` returns its stored rows aligned to the dataset
    (:class:`app.model.stored_predictions.StoredPredictor`); there is no model to analyse."""

    path: Path
    predictor: Any
    units: str | None = None  # what a foreign file's units were read as
    model: Any = None
    info: Any = None
    device: str = "file"
    kind: str = "predictions"
    has_pose_head: bool = True
    rotation_free: bool = False
    lifts: bool = False  # answers what the GUI asks of a loaded checkpoint (app.workers.jobs)
    makes_heatmaps: bool = False
    capabilities: tuple = ("stored 3D",)

    @property
    def error_measure(self):
        from hpe_core.error_measure import MPJPE

        return MPJPE  # stored poses in the camera frame: read by MPJPE

    def describe(self) -> str:
        p = self.predictor.prediction
        fmt = (p.meta or {}).get("format", "HPE Studio .npz")
        lines = [f"<b>{self.path.name}</b>", f"predictions file ({fmt}) · {len(p):,} samples",
                 f"{p.num_joints} joints" + (f" ({p.skeleton})" if p.skeleton else "") + f" · frame {p.frame}"]
        if self.units:
            lines.append(f"read as {self.units}")
        return "<br>".join(lines)
