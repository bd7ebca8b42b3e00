"""Predicting the current dataset with the active checkpoint: a batch task in the browser's
order plus a one-row request for the selected sample when the batch has not reached it. Results
go into the :class:`~app.model.predictions.PredictionCache`; nothing here is drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject

from app.model import messages
from app.model.catalog import Catalog
from app.model.predictions import PredictionCache, PredictionStore
from app.workers import jobs
from app.workers.manager import TaskManager
from app.workers.task import Task, TaskSlot


class PredictionRunner(QObject):
    def __init__(self, catalog: Catalog, cache: PredictionCache, tasks: TaskManager,
                 report: Callable[[str, str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.cache, self.tasks, self._report = catalog, cache, tasks, report
        self._batch, self._one = TaskSlot(self), TaskSlot(self)

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
        metric = loaded.error_measure.name
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
        """Predict row ``index`` now unless known; a newer request cancels the older one."""
        store = self.cache.get(self.catalog.current_key, self.catalog.active_key)
        if store is not None and not store.predicted[index]:
            self._one.start(self._task(np.array([index]), "predict one sample", hidden=True), self.tasks)

    def cancel(self) -> None:
        self._batch.cancel()
        self._one.cancel()

    def _task(self, rows: np.ndarray, name: str, hidden: bool) -> Task:
        c = self.catalog
        pair = (c.current_key, c.active_key)
        task = Task(jobs.predict_dataset_job(c.checkpoint, c.dataset, rows), name=name, parent=self, hidden=hidden)
        task.partial.connect(lambda item, pair=pair: self._on_partial(pair, item))
        return task

    def _on_partial(self, pair, item: dict) -> None:
        entry, loaded = self.catalog.datasets.get(pair[0]), self.catalog.checkpoints.get(pair[1])
        if entry is None or loaded is None:
            return
        ds, joints = entry.dataset, item["joints"]
        model_sk = loaded.predictor.skeleton
        if model_sk and model_sk != ds.skeleton.name:
            from hpe_core.skeleton import convert_joints

            joints = convert_joints(joints, model_sk, ds.skeleton).astype(np.float32)
        self.cache.add(pair, item["indices"], joints, ds.joints_3d, ds.skeleton.root, ds.visible)

    def _on_done(self, pair, result: dict) -> None:
        store = self.cache.get(*pair)
        if store is not None:
            store.complete = True
        if result.get("skipped"):
            self._report("warning", messages.PREDICTION_SKIPPED.format(count=result["skipped"]))
