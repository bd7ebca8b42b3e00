"""The workspace: open datasets, checkpoints, the video, the selection and the results, as
evented state. Views read it and change it only through its methods; every long job runs in a
:class:`~app.workers.Task` and its errors arrive as ``message`` signals, never as crashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.model import browsing, messages
from app.playback import Playback
from app.model.predictions import PredictionStore
from app.model.sample_data import SampleData
from app.video_session import VideoSession
from app.workers import jobs
from app.workers.manager import TaskManager
from app.workers.task import Task, TaskSlot
from app.workspace_io import WorkspaceIO
from app.workspace_predictions import WorkspacePredictions
from app.workspace_samples import WorkspaceSamples

DEFAULT_OPTIONS = {"align": "none", "frustums": True, "show_gt": True, "show_pred": True}


@dataclass
class DatasetEntry:
    key: str
    dataset: object  # hpe_core.datasets.PoseDataset
    skip_list: str | None = None


def path_key(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


class Workspace(QObject, WorkspaceIO, WorkspacePredictions, WorkspaceSamples):
    datasets_changed = Signal()
    current_dataset_changed = Signal(object)  # DatasetEntry | None
    checkpoints_changed = Signal()
    active_checkpoint_changed = Signal(object)  # LoadedCheckpoint | None
    rows_changed = Signal()  # filters, sort or errors changed the browser's rows
    predictions_changed = Signal()
    selection_changed = Signal(int)
    sample_changed = Signal(object)  # SampleData | None
    options_changed = Signal(dict)
    mode_changed = Signal(str)  # "dataset" | "video"
    device_changed = Signal(str)
    file_opened = Signal(str)
    workspace_loaded = Signal(str)
    message = Signal(str, str)  # level ("error" | "warning" | "info"), text

    def __init__(self, parent: QObject | None = None) -> None:
        QObject.__init__(self, parent)
        self.tasks = TaskManager(self)
        self.tasks.task_failed.connect(self._on_task_failed)
        self.playback = Playback(self)
        self.playback.frame_changed.connect(self._on_playback_frame_changed)
        self.video = VideoSession(self.tasks, self)
        self.video.predictions_changed.connect(self._on_video_predictions_changed)
        self.datasets: dict[str, DatasetEntry] = {}
        self.checkpoints: dict[str, jobs.LoadedCheckpoint] = {}
        self.current_key: str | None = None
        self.active_key: str | None = None
        self.selection = -1
        self.filters: dict = {}
        self.sort = "index"
        self.rows = np.zeros(0, dtype=np.int64)
        self.options = dict(DEFAULT_OPTIONS)
        self.device_spec, self.precision, self.device_in_use = "auto", "fp32", ""
        self.mode = "dataset"
        self.sample: SampleData | None = None
        self._sequence = np.zeros(0, dtype=np.int64)
        self._predictions: dict[tuple[str, str], PredictionStore] = {}
        self._sample_slot, self._predict_slot, self._one_slot = TaskSlot(self), TaskSlot(self), TaskSlot(self)
        self._image_cache: tuple[int, np.ndarray | None] | None = None
        self._resort_timer = QTimer(self, singleShot=True, interval=1000)
        self._resort_timer.timeout.connect(self._refresh_rows)

    # ------------------------------------------------------------------ accessors
    @property
    def dataset(self):
        entry = self.datasets.get(self.current_key) if self.current_key else None
        return None if entry is None else entry.dataset

    @property
    def checkpoint(self) -> jobs.LoadedCheckpoint | None:
        return self.checkpoints.get(self.active_key) if self.active_key else None

    def predictions(self) -> PredictionStore | None:
        """Predictions of the active checkpoint on the current dataset (None if none)."""
        if self.current_key is None or self.active_key is None:
            return None
        return self._predictions.get((self.current_key, self.active_key))

    # ------------------------------------------------------------------ opening
    def run_task(self, fn, name: str, on_done: Callable | None = None, on_failed: Callable | None = None) -> Task:
        """Start ``fn(progress)`` in a worker; failures become messages unless ``on_failed``."""
        task = Task(fn, name=name, parent=self)
        task._report = on_failed is None  # type: ignore[attr-defined]
        if on_done is not None:
            task.done.connect(on_done)
        if on_failed is not None:
            task.failed.connect(on_failed)
        return self.tasks.submit(task)

    def open_paths(self, paths, on_complete: Callable[[], None] | None = None) -> list[Task]:
        """Open each path by its kind; ``on_complete`` runs once all of them finished.

        Checkpoints load in parallel; the first one listed becomes active if none was.
        """
        started: list[Task] = []
        kinds = [(path, jobs.classify(path)) for path in paths]
        for path, kind in kinds:
            opener = {"workspace": self.open_workspace, "checkpoint": self.open_checkpoint,
                      "video": self.open_video, "dataset": self.open_dataset}[kind]
            started.append(opener(path))
        first = next((path_key(p) for p, kind in kinds if kind == "checkpoint"), None)
        was_active = self.active_key

        def complete() -> None:
            if first in self.checkpoints and was_active is None and self.active_key != first:
                self.set_active_checkpoint(first)
            if on_complete is not None:
                on_complete()

        _when_all_finished([t for t in started if t is not None and t.is_running()], complete)
        return started

    def open_dataset(self, path, skip_list=None) -> Task:
        key = path_key(path)

        def done(dataset):
            self.add_dataset(dataset, key, skip_list)
            self.file_opened.emit(key)

        def failed(exc):
            why = _why(exc, path)
            text = (messages.NOT_RECOGNISED if "format" in why.lower() or "not a" in why.lower()
                    else messages.OPEN_FAILED).format(path=path, why=why)
            self._report(exc, text)

        return self.run_task(jobs.open_dataset_job(path, skip_list), f"Open {Path(path).name}", done, failed)

    def add_dataset(self, dataset, key: str | None = None, skip_list=None) -> DatasetEntry:
        """Add an opened dataset and make it current (also for datasets built in memory)."""
        key = key or path_key(getattr(dataset, "path", f"dataset-{id(dataset)}"))
        entry = DatasetEntry(key, dataset, None if skip_list is None else str(skip_list))
        self.datasets[key] = entry
        self.datasets_changed.emit()
        self.set_current_dataset(key)
        return entry

    def open_checkpoint(self, path) -> Task:
        key = path_key(path)

        def done(loaded):
            self.checkpoints[key] = loaded
            self._set_device_in_use(loaded.device)
            self.checkpoints_changed.emit()
            self.file_opened.emit(key)
            if self.active_key is None or not self.checkpoint.has_pose_head:
                self.set_active_checkpoint(key)

        def failed(exc):
            self._report(exc, messages.CHECKPOINT_FAILED.format(path=path, why=_why(exc, path)))

        return self.run_task(jobs.load_checkpoint_job(path, self.device_spec, self.precision),
                             f"Load {Path(path).name}", done, failed)

    def open_video(self, path) -> Task:
        def done(info):
            self.video.set_video(info)
            self.file_opened.emit(path_key(path))
            self.set_mode("video")

        def failed(exc):
            self._report(exc, messages.VIDEO_FAILED.format(path=path, why=_why(exc, path)))

        return self.run_task(jobs.probe_video_job(path), f"Open {Path(path).name}", done, failed)

    def close_dataset(self, key: str) -> None:
        self.datasets.pop(key, None)
        for pair in [p for p in self._predictions if p[0] == key]:
            del self._predictions[pair]
        self.datasets_changed.emit()
        if self.current_key == key:
            self.set_current_dataset(next(iter(self.datasets), None))

    def close_checkpoint(self, key: str) -> None:
        self.checkpoints.pop(key, None)
        for pair in [p for p in self._predictions if p[1] == key]:
            del self._predictions[pair]
        self.checkpoints_changed.emit()
        if self.active_key == key:
            self.set_active_checkpoint(next(iter(self.checkpoints), None))

    # ------------------------------------------------------------------ current items
    def set_current_dataset(self, key: str | None) -> None:
        self._predict_slot.cancel()
        self.current_key = key if key in self.datasets else None
        self.filters, self.selection, self._image_cache = {}, -1, None
        self._refresh_rows(emit=False)
        self.current_dataset_changed.emit(self.datasets.get(self.current_key))
        self.rows_changed.emit()
        self.start_predictions()
        if self.dataset is not None and len(self.dataset):
            self.select(0)
        else:
            self._emit_sample(None)

    def set_active_checkpoint(self, key: str | None) -> None:
        self._predict_slot.cancel()
        self.active_key = key if key in self.checkpoints else None
        if self.checkpoint is not None and self.checkpoint.rotation_free and self.options["align"] == "none":
            self.options = {**self.options, "align": "rigid"}  # its rotation is arbitrary: align it
            self.options_changed.emit(dict(self.options))
        self.active_checkpoint_changed.emit(self.checkpoint)
        self._refresh_rows()
        self.start_predictions()
        self._rebuild_sample()

    def set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        self.playback.pause()
        self.mode = mode
        self.mode_changed.emit(mode)
        if mode == "video" and self.video.info is not None:
            self.playback.set_range(self.video.info.frames, self.video.info.fps)
            self.playback.set_frame(0, emit_same=True)
        elif mode == "dataset" and self.selection >= 0:
            self._update_sequence(self.selection)
            self._rebuild_sample()

    # ------------------------------------------------------------------ browsing
    def set_filter(self, name: str, value) -> None:
        if name not in browsing.FILTERS:
            raise ValueError(f"unknown filter {name!r}")
        self.filters = {**self.filters, name: value}
        self._refresh_rows()

    def set_sort(self, mode: str) -> None:
        self.sort = mode if mode in browsing.SORTS else "index"
        self._refresh_rows()

    def _refresh_rows(self, emit: bool = True) -> None:
        ds = self.dataset
        if ds is None:
            self.rows = np.zeros(0, dtype=np.int64)
        else:
            store = self.predictions()
            rows = browsing.filter_rows(ds, self.filters)
            if self.picked is not None and self.picked[0] == self.current_key:  # see select_samples
                rows = rows[np.isin(rows, self.picked[1])]
            self.rows = browsing.sort_rows(rows, None if store is None else store.ranking, self.sort)
        if emit:
            self.rows_changed.emit()

    def select(self, index: int) -> None:
        """Select dataset row ``index``: the image loads in a worker, then ``sample_changed``."""
        ds = self.dataset
        if ds is None or not 0 <= index < len(ds):
            return
        self.set_mode("dataset")
        changed = index != self.selection
        self.selection = index
        if changed:
            self.selection_changed.emit(index)
        if not self.playback.playing or index not in self._sequence:
            self._update_sequence(index)
        self._load_sample(index)

    def step_selection(self, delta: int) -> None:
        """Select the next (``delta`` = 1) or previous row of the browser's list."""
        if len(self.rows) == 0:
            return
        pos = np.flatnonzero(self.rows == self.selection)
        nxt = 0 if len(pos) == 0 else int(np.clip(pos[0] + delta, 0, len(self.rows) - 1))
        self.select(int(self.rows[nxt]))

    def set_option(self, name: str, value) -> None:
        if self.options.get(name) == value:
            return
        self.options = {**self.options, name: value}
        self.options_changed.emit(dict(self.options))
        self._rebuild_sample()

    # ------------------------------------------------------------------ errors
    def _report(self, exc: BaseException, text: str) -> None:
        if not isinstance(exc, (ValueError, OSError)):  # not bad input: a bug worth its traceback
            text += "\n\n" + getattr(exc, "__traceback_text__", "")
        self.message.emit("error", text)

    def _on_task_failed(self, task: Task, exc: BaseException) -> None:
        if getattr(task, "_report", True):
            template = messages.TASK_FAILED if isinstance(exc, (ValueError, OSError)) else messages.BUG
            self._report(exc, template.format(name=task.name.lstrip("_"), why=_why(exc)))

    def close(self) -> bool:
        """Cancel every job and wait for the threads."""
        self.playback.pause()
        return self.tasks.shutdown()

    # ------------------------------------------------------------------ many samples
    # Added for the analysis views (embedding rectangle / lasso selection): the browser lists
    # only the picked samples of the current dataset until the pick is cleared (an empty pick).
    samples_selected = Signal(object)  # (M,) int64 dataset indices; empty when cleared
    picked: tuple[str | None, np.ndarray] | None = None  # (dataset key, sorted indices)

    def select_samples(self, indices) -> None:
        """Pick many samples; the first listed becomes the current sample (image and 3D views)."""
        chosen = np.unique(np.asarray(indices, dtype=np.int64).reshape(-1))
        self.picked = (self.current_key, chosen) if len(chosen) else None
        self._refresh_rows()
        self.samples_selected.emit(chosen)
        if len(self.rows) and self.selection not in set(self.rows.tolist()):
            self.select(int(self.rows[0]))


def _when_all_finished(tasks: list[Task], callback: Callable[[], None]) -> None:
    remaining = {id(t) for t in tasks}
    if not remaining:
        callback()

    def one_finished(task: Task) -> None:
        remaining.discard(id(task))
        if not remaining:
            callback()

    for t in tasks:
        t.finished.connect(lambda t=t: one_finished(t))


def _why(exc: BaseException, path=None) -> str:
    """The reason in ``exc``, without a leading ``"<path>: "`` the message already names."""
    text = str(exc) or type(exc).__name__
    if path is not None and text.startswith(f"{path}: "):
        text = text[len(f"{path}: "):]
    return text if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {text}"
