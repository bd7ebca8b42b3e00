"""The workspace: the composition root of the GUI's state. It owns the small evented parts of
:mod:`app.model` (catalog, browse state, view options, device, prediction cache, sample feed),
the playback cursor and the task manager, and wires them: views bind to the part they draw and
change the state only through the methods here. A video is a dataset of its frames. Every long job runs in a
:class:`~app.workers.Task`; its errors arrive as ``message`` signals, never as crashes. Opening many files at
once and the workspace file (capture, save, restore) are :mod:`app.workspace_files`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app import workspace_files
from app.model import browsing, messages
from app.model.browsing import Browse, BrowseState
from app.model.catalog import Catalog, DatasetEntry, path_key
from app.model.device import DeviceChoice
from app.model.hypotheses import Hypotheses
from app.model.predictions import LiftSource, PredictionCache, PredictionStore
from app.model.sample_feed import SampleFeed
from app.model.view_options import ViewOptions
from app.model.workspace_file import WorkspaceState
from app.playback import Playback
from app.workers import jobs
from app.workers.hypotheses import HypothesisRunner
from app.workers.manager import TaskManager
from app.workers.predicting import PredictionRunner
from app.workers.task import Task, TaskSlot
from hpe_core.errors import InputError
from hpe_core.file_kinds import classify_file

__all__ = ["Workspace", "DatasetEntry", "path_key"]


class Workspace(QObject):
    file_opened = Signal(str)
    workspace_loaded = Signal(str)
    compare_pair_changed = Signal(object)  # (key A, key B) restored from a workspace file
    message = Signal(str, str)  # level ("error" | "warning" | "info"), text

    def __init__(self, parent: QObject | None = None) -> None:
        QObject.__init__(self, parent)
        self.tasks = TaskManager(self)
        self.catalog, self.browse, self.options = Catalog(), Browse(), ViewOptions()
        self.device, self.cache, self.feed = DeviceChoice(), PredictionCache(), SampleFeed()
        self.playback = Playback(self)
        self.lift = LiftSource()  # the 2D a lifter lifts: ground truth, or a heatmap checkpoint's
        self.predicting = PredictionRunner(self.catalog, self.cache, self.tasks, self.message.emit, self, self.lift)
        self.hypotheses = Hypotheses()  # the selected sample's K sampled poses (a vae_lifter)
        self.sampling = HypothesisRunner(self.catalog, self.feed, self.options, self.hypotheses, self.tasks, self,
                                         self.lift)
        self._sequence = np.zeros(0, dtype=np.int64)
        self._sample_slot = TaskSlot(self)
        self._resort_timer = QTimer(self, singleShot=True, interval=1000)
        self.compare_pair: tuple[str | None, str | None] = (None, None)  # Compare's A and B (keys)
        self.tasks.task_failed.connect(self._on_task_failed)
        self.playback.frame_changed.connect(self._on_playback_frame_changed)
        self.cache.changed.connect(self._on_cache_changed)
        self.options.events.connect(lambda *_: self._rebuild_sample())
        self.options.events.protocol.connect(self.cache.set_protocol)  # the browser's error column follows it
        self._resort_timer.timeout.connect(self._refresh_rows)
        self.browse.rows_changed.connect(self._on_browse_rows_changed)

    def predictions(self) -> PredictionStore | None:
        """Predictions of the active checkpoint on the current dataset (None if none)."""
        return self.cache.get(self.catalog.current_key, self.catalog.active_key)

    # ------------------------------------------------------------------ opening and closing
    def run_task(self, fn, name: str, on_done: Callable | None = None, on_failed: Callable | None = None,
                 hidden: bool = False) -> Task:
        """Start ``fn(progress)`` in a worker; failures become messages unless ``on_failed``."""
        task = Task(fn, name=name, parent=self, report_errors=on_failed is None, hidden=hidden)
        if on_done is not None:
            task.done.connect(on_done)
        if on_failed is not None:
            task.failed.connect(on_failed)
        return self.tasks.submit(task)

    def open_paths(self, paths, on_complete: Callable[[], None] | None = None) -> list[Task]:
        """Open each path by its kind, one message for what failed; ``on_complete`` runs once all
        of them finished (:func:`app.workspace_files.open_batch`)."""
        return workspace_files.open_batch(self, paths, on_complete)

    def open_dataset(self, path, skip_list=None, on_error: Callable[[str], None] | None = None) -> Task:
        """Open a dataset in a worker; a failure is a message (or goes to ``on_error``)."""
        key = path_key(path)

        def done(dataset):
            self.add_dataset(dataset, key, skip_list)
            self.file_opened.emit(key)

        def failed(exc):
            reason = messages.why(exc, path)
            text = (messages.NOT_RECOGNISED if "format" in reason.lower() or "not a" in reason.lower()
                    else messages.OPEN_FAILED).format(path=path, why=reason)
            (on_error or (lambda t: self.message.emit("error", t)))(messages.with_traceback(exc, text))

        return self.run_task(jobs.open_dataset_job(path, skip_list), f"Open {Path(path).name}", done, failed)

    def add_dataset(self, dataset, key: str | None = None, skip_list=None) -> DatasetEntry:
        """Add an opened dataset and make it current (also for datasets built in memory)."""
        key = key or path_key(getattr(dataset, "path", f"dataset-{id(dataset)}"))
        entry = DatasetEntry(key, dataset, None if skip_list is None else str(skip_list))
        unreadable = getattr(dataset, "unreadable", None)
        if unreadable:  # the reader left them out: a note of this dataset, shown with it
            entry.notes.append(messages.UNREADABLE_FILES.format(count=len(unreadable),
                                                                files=messages.file_list(unreadable)))
        self.catalog.add_dataset(entry)
        self.set_current_dataset(key)
        return entry

    def open_boxes(self, path) -> Task | None:
        """The current dataset cropped to the person boxes of a detections file (a COCO results JSON),
        as a new dataset beside it (``hpe predict --boxes FILE``'s)."""
        from hpe_core.datasets.boxes import apply_boxes

        entry = self.catalog.entry
        if entry is None:
            self.message.emit("error", messages.NO_DATASET_FOR_BOXES)
            return None

        def failed(exc):
            text = messages.BOXES_FAILED.format(path=path, why=messages.why(exc, path))
            self.message.emit("error", messages.with_traceback(exc, text))

        return self.run_task(lambda progress: apply_boxes(entry.dataset, "file", path), f"Boxes {Path(path).name}",
                             lambda boxed: self.add_dataset(boxed, f"{entry.key} + {Path(path).name}",
                                                            entry.skip_list), failed)

    def open_checkpoint(self, path, activate: bool = True, on_error: Callable[[str], None] | None = None) -> Task:
        """Load a checkpoint; it becomes active when none with a pose head is (``activate``;
        a workspace being restored sets its own active checkpoint instead)."""
        if classify_file(path) == "predictions":  # e.g. a workspace file listing one
            return self.open_predictions(path, activate=activate, on_error=on_error)
        key = path_key(path)

        def done(loaded):
            self.catalog.put_checkpoint(key, loaded)
            self.device.in_use = loaded.device
            self.file_opened.emit(key)
            active = self.catalog.checkpoint
            if activate and (active is None or (not active.has_pose_head and loaded.has_pose_head)):
                self.set_active_checkpoint(key)

        def failed(exc):
            text = messages.CHECKPOINT_FAILED.format(path=path, why=messages.why(exc, path))
            (on_error or (lambda t: self.message.emit("error", t)))(messages.with_traceback(exc, text))

        return self.run_task(jobs.load_checkpoint_job(path, self.device.spec, self.device.precision),
                             f"Load {Path(path).name}", done, failed)

    def open_predictions(self, path, units: str | None = None, activate: bool = True,
                         on_error: Callable[[str], None] | None = None) -> Task:
        """Open a predictions file (ours, a (N, J, 3) array, an MMPose .json; ``units`` m | mm for
        foreign ones) as an entry of the checkpoint list whose predictions are the stored rows; one
        that does not fit the current dataset is one message, and nothing is added."""
        key = path_key(path)

        def done(entry):
            self.catalog.put_checkpoint(key, entry)
            self.file_opened.emit(key)
            active = self.catalog.checkpoint
            if activate and (active is None or not active.has_pose_head):
                self.set_active_checkpoint(key)

        def failed(exc):
            text = messages.PREDICTIONS_FAILED.format(path=path, why=messages.why(exc, path))
            (on_error or (lambda t: self.message.emit("error", t)))(messages.with_traceback(exc, text))

        return self.run_task(jobs.load_predictions_job(path, units, self.catalog.dataset), f"Read {Path(path).name}",
                             done, failed)

    def close_dataset(self, key: str) -> None:
        self.predicting.save()  # what was predicted is kept on disk before the store goes
        self.cache.drop(dataset_key=key)
        self.catalog.remove_dataset(key)
        if self.catalog.current_key is None:
            self.set_current_dataset(next(iter(self.catalog.datasets), None))

    def close_checkpoint(self, key: str) -> None:
        self.predicting.save()
        if key == self.lift.key:
            self.set_lift_source(None)
        self.cache.drop(checkpoint_key=key)
        was_active = key == self.catalog.active_key
        self.catalog.remove_checkpoint(key)
        if was_active:
            self.set_active_checkpoint(next(iter(self.catalog.checkpoints), None))

    # ------------------------------------------------------------------ current items
    def set_current_dataset(self, key: str | None) -> None:
        c = self.catalog
        self.predicting.cancel()
        entry = c.datasets.get(key) if key else None
        self.feed.select(-1)
        self.browse.reset(None if entry is None else entry.dataset, self._ranking(key))
        c.set_current(key)
        self.browse.rows_changed.emit()
        self.predicting.start(self.browse.rows)
        if c.dataset is not None and len(c.dataset):
            self.select(0)
        else:
            self.feed.show(None)

    def set_active_checkpoint(self, key: str | None, explain: bool = False) -> None:
        """Make ``key`` the checkpoint whose predictions are shown; ``explain``: the user chose
        it, so say when it has no pose head (never for one made active on its own)."""
        self.predicting.cancel()
        loaded = self.catalog.checkpoints.get(key) if key else None
        if explain and loaded is not None and not loaded.has_pose_head:
            self.message.emit("info", messages.NO_POSE_HEAD.format(path=loaded.path.name))
        if loaded is not None and loaded.rotation_free and self.options.align == "none":
            self.options.align = "rigid"  # its rotation is arbitrary: align it
        self.catalog.set_active(key)
        self._refresh_rows()
        self.predicting.start(self.browse.rows)
        self._request_selected()
        self._rebuild_sample()

    def set_lift_source(self, key: str | None) -> None:
        """Lifters lift the 2D of heatmap checkpoint ``key`` (None: the ground-truth 2D); the
        lifters' predictions made from the previous source are dropped."""
        if key == self.lift.key:
            return
        self.predicting.cancel()
        for lifter, loaded in self.catalog.checkpoints.items():
            if loaded.lifts:
                self.cache.drop(checkpoint_key=lifter)
        self.lift.key = key if key in self.catalog.checkpoints else None
        self._refresh_rows()
        self.predicting.start(self.browse.rows)
        self._request_selected()
        self._rebuild_sample()

    def _request_selected(self) -> None:
        index = self.feed.selection
        if self.catalog.dataset is not None and 0 <= index < len(self.catalog.dataset):
            self.predicting.request(index)

    # ------------------------------------------------------------------ browsing
    def set_filter(self, name: str, value) -> None:
        self.set_browse_state(self.browse.state.with_filter(name, value))

    def set_sort(self, mode: str) -> None:
        self.set_browse_state(self.browse.state.with_sort(mode))

    def select_samples(self, indices) -> None:
        """Pick many samples (the browser lists only them; an empty pick clears it); the first
        listed becomes the current sample when the current one is not picked."""
        self.set_browse_state(self.browse.state.with_picked(indices))
        rows = self.browse.rows
        if len(rows) and self.feed.selection not in set(rows.tolist()):
            self.select(int(rows[0]))

    def set_browse_state(self, state: BrowseState) -> None:
        self.browse.set_state(state, self.catalog.dataset, self._ranking(self.catalog.current_key))

    def _ranking(self, dataset_key: str | None) -> np.ndarray | None:
        store = self.cache.get(dataset_key, self.catalog.active_key)
        return None if store is None else store.ranking

    def _refresh_rows(self) -> None:
        self.browse.refresh(self.catalog.dataset, self._ranking(self.catalog.current_key))

    def select(self, index: int) -> None:
        """Select dataset row ``index``: the image loads in a worker, then ``sample_changed``."""
        ds = self.catalog.dataset
        if ds is None or not 0 <= index < len(ds):
            return
        self.feed.select(index)
        if not self.playback.playing or index not in self._sequence:
            self._update_sequence(index)
        if self.feed.has_image(index):
            self._rebuild_sample()
            return
        task = Task(_load_image_job(ds, index), name="load sample", parent=self, hidden=True)
        task.done.connect(self._on_image_loaded)
        self._sample_slot.start(task, self.tasks)
        self.predicting.request(index)

    def step_selection(self, delta: int) -> None:
        """Select the next (``delta`` = 1) or previous row of the browser's list."""
        index = self.browse.step(self.feed.selection, delta)
        if index is not None:
            self.select(index)

    # ------------------------------------------------------------------ samples
    def _update_sequence(self, index: int) -> None:
        ds = self.catalog.dataset
        self._sequence = browsing.play_rows(ds, index, self.browse.rows)
        pos = np.flatnonzero(self._sequence == index)
        self.playback.frame = int(pos[0]) if len(pos) else 0
        self.playback.set_range(len(self._sequence), ds.extra.get("fps") or None)

    def _on_browse_rows_changed(self) -> None:
        """Play follows the list: another filter or pick changes what it steps through."""
        ds, index = self.catalog.dataset, self.feed.selection
        if ds is not None and 0 <= index < len(ds):
            self._update_sequence(index)

    def _on_playback_frame_changed(self, frame: int) -> None:
        if 0 <= frame < len(self._sequence):
            self.select(int(self._sequence[frame]))

    def _on_image_loaded(self, result) -> None:
        if self.feed.set_image(*result):
            self._rebuild_sample()

    def _rebuild_sample(self) -> None:
        store, index = self.predictions(), self.feed.selection
        if store is None:
            self.feed.rebuild(self.catalog.dataset, None, self.options.align)
            return
        self.feed.rebuild(self.catalog.dataset, store.get(index), self.options.align, detected_2d=store.get_2d(index),
                          heatmaps=store.get_heatmaps(index), source=self._prediction_source())

    def _prediction_source(self) -> str:
        """What made the shown prediction, in words (the 3D view's caption)."""
        loaded, source = self.catalog.checkpoint, self.predicting.source()
        if loaded is None:
            return ""
        if not loaded.lifts:
            return loaded.path.name
        return f"{loaded.path.name}, lifting the 2D of {source.path.name}" if source is not None else \
            f"{loaded.path.name}, lifting the ground-truth 2D"

    def _on_cache_changed(self, pair, indices: np.ndarray) -> None:
        if pair != (self.catalog.current_key, self.catalog.active_key):
            return
        if self.browse.state.sort != "index" and not self._resort_timer.isActive():
            self._resort_timer.start()  # re-sort at most once a second, not per batch
        if self.feed.selection in set(indices.tolist()):
            self._rebuild_sample()

    # ------------------------------------------------------------------ device
    def set_device(self, spec: str, precision: str | None = None) -> None:
        """Use ``spec`` (auto, cpu, cuda:N, mps) for every open and future checkpoint.

        A device this machine lacks is reported and the previous choice stays.
        """
        d = self.device
        previous = (d.spec, d.precision)
        d.spec, d.precision = spec, precision or d.precision

        def failed(exc) -> None:
            d.spec, d.precision = previous
            self.message.emit("error", messages.DEVICE_FAILED.format(spec=spec, why=exc))

        for key, loaded in list(self.catalog.checkpoints.items()):
            if loaded.model is None:  # a predictions file: nothing runs
                continue
            self.run_task(jobs.move_checkpoint_job(loaded, spec, d.precision), f"Move {loaded.path.name} to {spec}",
                          lambda ld, k=key: self._on_checkpoint_moved(k, ld), failed)
        if not self.catalog.checkpoints:
            d.in_use = ""

    def _on_checkpoint_moved(self, key: str, loaded: jobs.LoadedCheckpoint) -> None:
        if key in self.catalog.checkpoints:
            self.device.in_use = loaded.device
            self.catalog.put_checkpoint(key, loaded)

    # ------------------------------------------------------------------ workspace files
    def state(self) -> WorkspaceState:
        """A plain snapshot of what is open and shown."""
        return workspace_files.capture(self)

    def save_workspace(self, path: str | Path, quiet: bool = False) -> Path | None:
        return workspace_files.save(self, path, quiet)

    def open_workspace(self, path: str | Path) -> None:
        """Reopen a saved session; ``workspace_loaded`` follows once everything is open."""
        workspace_files.reopen(self, path)

    # ------------------------------------------------------------------ errors and shutdown
    def _on_task_failed(self, task: Task, exc: BaseException) -> None:
        if task.report_errors:
            template = messages.TASK_FAILED if messages.is_user_error(exc) else messages.BUG
            self.message.emit("error", messages.with_traceback(exc, template.format(name=task.name,
                                                                                     why=messages.why(exc))))

    def close(self) -> bool:
        """Cancel every job, save the predictions not saved yet and wait for the threads."""
        self.playback.pause()
        self.predicting.cancel()
        return self.tasks.shutdown()


def _load_image_job(dataset, index: int):
    def load(progress):
        try:
            return index, dataset.load_image(index)
        except (InputError, OSError):  # unreadable image: show the skeleton without it
            return index, None

    return load
