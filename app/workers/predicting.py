"""Predicting the current dataset with the active checkpoint: a batch task in the browser's
order plus a one-row request for the selected sample when the batch has not reached it, and the
selected sample's heatmaps when the checkpoint (or the heatmap checkpoint a lifter lifts from)
makes them. Results go into the :class:`~app.model.predictions.PredictionCache`; nothing here is
drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject

from app.model import messages
from app.model.catalog import Catalog
from app.model.predictions import LiftSource, PredictionCache, PredictionStore
from app.workers import jobs
from app.workers.manager import TaskManager
from app.workers.task import Task, TaskSlot


class PredictionRunner(QObject):
    def __init__(self, catalog: Catalog, cache: PredictionCache, tasks: TaskManager,
                 report: Callable[[str, str], None], parent: QObject | None = None,
                 lift: LiftSource | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.cache, self.tasks, self._report = catalog, cache, tasks, report
        self.lift = lift or LiftSource()
        self._batch, self._one, self._maps = TaskSlot(self), TaskSlot(self), TaskSlot(self)

    def source(self):
        """The heatmap checkpoint whose 2D the active lifter lifts (None: the ground truth, or
        the active checkpoint is no lifter)."""
        c = self.catalog
        if c.checkpoint is None or not c.checkpoint.lifts or self.lift.key is None:
            return None
        return c.checkpoints.get(self.lift.key)

    def heatmap_predictor(self):
        """The predictor whose heatmaps the selected sample shows: the active checkpoint's, or its
        2D source's; None when neither makes heatmaps."""
        for loaded in (self.catalog.checkpoint, self.source()):
            if loaded is not None and loaded.makes_heatmaps:
                return loaded.predictor
        return None

    @property
    def task(self) -> Task | None:
        """The batch prediction task running now, if any."""
        return self._batch.task

    def store(self) -> PredictionStore | None:
        """The store of the current pair (made on first use; None without a pose head)."""
        c = self.catalog
        loaded, entry = c.checkpoint, c.entry
        if loaded is None or entry is None or not loaded.has_pose_head:
            return None
        metric = "PA-MPJPE" if loaded.rotation_free else "MPJPE"
        return self.cache.store(entry.key, c.active_key, len(entry.dataset), entry.dataset.skeleton.num_joints, metric)

    def start(self, order: np.ndarray | None = None) -> Task | None:
        """Predict what is missing of the current dataset, in ``order`` (the browser's rows;
        None: every row)."""
        c = self.catalog
        if c.entry is None or c.checkpoint is None:
            return None
        store = self.store()
        if store is None:
            self._report("info", messages.NO_POSE_HEAD.format(path=c.checkpoint.path.name))
            return None
        missing = store.missing(order)
        if len(missing) == 0:
            return None
        task = self._task(missing, f"Predict {Path(c.current_key).name}", hidden=False)
        task.done.connect(lambda result, pair=(c.current_key, c.active_key): self._on_done(pair, result))
        return self._batch.start(task, self.tasks)

    def request(self, index: int) -> None:
        """Predict row ``index`` now unless known (and its heatmaps); a newer request cancels the older one."""
        c = self.catalog
        store = self.cache.get(c.current_key, c.active_key)
        if store is None:
            return
        if not store.predicted[index]:
            self._one.start(self._task(np.array([index]), "predict one sample", hidden=True), self.tasks)
        predictor = self.heatmap_predictor()
        if predictor is not None and store.get_heatmaps(index) is None:
            task = Task(jobs.heatmaps_job(predictor, c.dataset, index), name="heatmaps", parent=self, hidden=True)
            task.done.connect(lambda result, pair=(c.current_key, c.active_key), key=self.lift.key:
                              self._on_heatmaps(pair, key, result))
            self._maps.start(task, self.tasks)

    def cancel(self) -> None:
        self._batch.cancel()
        self._one.cancel()
        self._maps.cancel()

    def _is_current(self, pair) -> bool:
        return pair == (self.catalog.current_key, self.catalog.active_key)

    def _on_heatmaps(self, pair, lift_key, result) -> None:
        if self._is_current(pair) and lift_key == self.lift.key:
            self.cache.add_heatmaps(pair, *result)

    def _task(self, rows: np.ndarray, name: str, hidden: bool) -> Task:
        c = self.catalog
        pair = (c.current_key, c.active_key)
        source = self.source()
        job = jobs.predict_dataset_job(c.checkpoint, c.dataset, rows, source)
        task = Task(job, name=name, parent=self, hidden=hidden)
        key = None if source is None else self.lift.key
        task.partial.connect(lambda item, pair=pair, key=key: self._on_partial(pair, key, item))
        return task

    def _on_partial(self, pair, lift_key, item: dict) -> None:
        entry, loaded = self.catalog.datasets.get(pair[0]), self.catalog.checkpoints.get(pair[1])
        if entry is None or loaded is None or (loaded.lifts and lift_key != self.lift.key):
            return  # a lifter's rows from a 2D source no longer chosen
        ds, joints, joints_2d = entry.dataset, item["joints"], item.get("joints_2d")
        model_sk = loaded.predictor.skeleton
        if model_sk and model_sk != ds.skeleton.name:
            from hpe_core.skeleton import convert_joints

            joints, joints_2d = (None if a is None else convert_joints(a, model_sk, ds.skeleton).astype(np.float32)
                                 for a in (joints, joints_2d))
        self.cache.add(pair, item["indices"], joints, ds.joints_3d, ds.skeleton.root, ds.visible, joints_2d)

    def _on_done(self, pair, result: dict) -> None:
        store = self.cache.get(*pair)
        if store is not None:
            store.complete = True
        if result.get("skipped"):
            self._report("warning", messages.PREDICTION_SKIPPED.format(count=result["skipped"]))
