"""Predicting the current dataset with the active checkpoint: a batch task in the browser's
order plus a one-row request for the selected sample when the batch has not reached it, and the
selected sample's heatmaps when the checkpoint (or the heatmap checkpoint a lifter lifts from)
makes them. Results go into the :class:`~app.model.predictions.PredictionCache`; nothing here is
drawn.

Predictions also go to disk (:mod:`hpe_core.inference.cache`, keyed by the checkpoint's sha256,
the dataset's fingerprint and the precision; a lifter lifting a heatmap network's 2D by that
network's sha256 and precision too, so the chain is cached like one checkpoint): the first time a
(dataset, checkpoint) pair is predicted, a hidden task looks its entry up and fills the store
before anything is predicted, so a restart or a return to the dataset shows them at once; what is
predicted is saved when a batch ends, every few seconds while it runs, when it is cancelled and
when the workspace closes. The 3D joints are stored with the model's own 2D (a heatmap network's,
or the one a lifter lifted: shown beside its 3D) and each row's model time; the selected sample's
heatmaps are computed again."""

from __future__ import annotations

import time
import weakref
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
        self._lookup = TaskSlot(self)
        self._fingerprints: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # dataset -> fingerprint
        self._dirty: set[tuple] = set()  # pairs with predictions not saved yet
        self._last_save = 0.0
        self._waiting: tuple | None = None  # (pair, order, index) to predict once the lookup ends
        self.predict_calls = 0  # prediction tasks started (for tests: a restart starts none)

    def source(self):
        """The heatmap checkpoint whose 2D the active lifter lifts (None: the ground truth, or
        the active checkpoint is no lifter)."""
        c = self.catalog
        if c.checkpoint is None or not getattr(c.checkpoint, "lifts", False) or self.lift.key is None:
            return None
        return c.checkpoints.get(self.lift.key)

    def heatmap_predictor(self):
        """The predictor whose heatmaps the selected sample shows: the active checkpoint's, or its
        2D source's; None when neither makes heatmaps."""
        for loaded in (self.catalog.checkpoint, self.source()):
            if loaded is not None and getattr(loaded, "makes_heatmaps", False):
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
        metric = loaded.error_measure.name
        return self.cache.store(entry.key, c.active_key, len(entry.dataset), entry.dataset.skeleton.num_joints, metric,
                                entry.dataset.skeleton.name)

    def start(self, order: np.ndarray | None = None) -> Task | None:
        """Predict what is missing of the current dataset, in ``order`` (the browser's rows;
        None: every row)."""
        c = self.catalog
        if c.entry is None or c.checkpoint is None:
            return None
        store = self.store()
        if store is None:
            return None
        pair = (c.current_key, c.active_key)
        if not store.looked_up:
            self._look_up(pair, order)
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
        pair = (c.current_key, c.active_key)
        if self._lookup.task is not None and self._waiting is not None and self._waiting[0] == pair:
            self._waiting = (pair, self._waiting[1], index)  # after the disk lookup
            return
        store = self.cache.get(*pair)
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
        self._lookup.cancel()
        self._waiting = None
        self.save()

    # ------------------------------------------------------------------ the disk cache
    def _look_up(self, pair: tuple, order) -> None:
        """Fill the store of ``pair`` from disk in a worker, then predict what is missing."""
        entry, loaded = self.catalog.datasets[pair[0]], self.catalog.checkpoints[pair[1]]
        store = self.cache.get(*pair)
        sha, settings = self._disk_identity(loaded, entry.dataset)
        known, n, joints = self._fingerprints.get(entry.dataset), len(store.joints), store.joints.shape[1]

        def run(progress):
            from hpe_core.inference import cache as prediction_cache

            if not sha:
                return None, None
            fp = known or prediction_cache.dataset_fingerprint(entry.dataset)
            key = prediction_cache.cache_key(sha, fp, settings)
            return (key, fp), prediction_cache.load_entry(key, n, joints)

        self._waiting = (pair, None if order is None else np.asarray(order), None)
        task = Task(run, name="read cached predictions", parent=self, hidden=True, report_errors=False)
        task.done.connect(lambda result, pair=pair, store=store: self._on_looked_up(pair, store, *result))
        task.failed.connect(lambda _exc, pair=pair, store=store: self._on_looked_up(pair, store, None, None))
        self._lookup.start(task, self.tasks)

    def _disk_identity(self, loaded, dataset) -> tuple[str | None, dict]:
        """``(sha256, settings)`` of the disk cache key of ``loaded``'s rows: its file's hash, the
        precision and skeleton, and for a lifter lifting a heatmap network's 2D that network's
        hash and precision (None: not kept on disk, e.g. a source without a file hash)."""
        sha = getattr(loaded.info, "sha256", None)
        settings = {"precision": str(getattr(loaded.predictor, "precision", "")), "skeleton": dataset.skeleton.name}
        source = self.source()
        if source is not None:
            settings["lift_from"] = getattr(source.info, "sha256", None)
            settings["lift_precision"] = str(getattr(source.predictor, "precision", ""))
            if not settings["lift_from"]:
                sha = None
        return sha, settings

    def _on_looked_up(self, pair: tuple, store, keys: tuple | None, found) -> None:
        if self.cache.get(*pair) is not store:  # closed (or reopened) meanwhile
            return
        entry = self.catalog.datasets.get(pair[0])
        store.looked_up = True
        store.disk_key = None if keys is None else keys[0]
        if keys is not None and entry is not None:
            self._fingerprints[entry.dataset] = keys[1]
        if found is not None and entry is not None:
            rows = np.flatnonzero(found.predicted)
            ds = entry.dataset
            joints = found.joints[rows]
            if len(rows):
                pick = lambda a: None if a is None else a[rows]  # noqa: E731
                self.cache.add(pair, rows, joints if np.isfinite(joints).any() else None, ds.joints_3d,
                               ds.skeleton.root, ds.visible, pick(found.joints_2d), pick(found.time_ms),
                               float(found.meta.get("wall_s", 0.0)))
        if self._waiting is None or self._waiting[0] != pair:
            return  # a lookup that ended as it was replaced: what waits is another pair's
        waiting, self._waiting = self._waiting, None
        if pair == (self.catalog.current_key, self.catalog.active_key):
            self.start(waiting[1])
            if waiting[2] is not None:
                self.request(waiting[2])

    def save(self, pair: tuple | None = None) -> None:
        """Write the unsaved predictions (of ``pair``, or of every pair) to the disk cache."""
        from hpe_core.inference import cache as prediction_cache

        for p in [pair] if pair is not None else list(self._dirty):
            store = self.cache.get(*p)
            self._dirty.discard(p)
            if store is not None and store.disk_key and store.count:
                prediction_cache.save(store.disk_key, store.joints, store.predicted,
                                      {"dataset": p[0], "checkpoint": p[1], "wall_s": store.wall_s},
                                      joints_2d=store.joints_2d, time_ms=store.time_ms)
        self._last_save = time.monotonic()

    def _is_current(self, pair) -> bool:
        return pair == (self.catalog.current_key, self.catalog.active_key)

    def _on_heatmaps(self, pair, lift_key, result) -> None:
        if self._is_current(pair) and lift_key == self.lift.key:
            self.cache.add_heatmaps(pair, *result)

    def _task(self, rows: np.ndarray, name: str, hidden: bool) -> Task:
        c = self.catalog
        pair = (c.current_key, c.active_key)
        self.predict_calls += 1
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
        self.cache.add(pair, item["indices"], joints, ds.joints_3d, ds.skeleton.root, ds.visible, joints_2d,
                       item.get("time_ms"), item.get("wall_s", 0.0))
        store = self.cache.get(*pair)
        if store is not None and store.disk_key:
            self._dirty.add(pair)
            if time.monotonic() - self._last_save > 10.0:
                self.save(pair)

    def _on_done(self, pair, result: dict) -> None:
        store = self.cache.get(*pair)
        if store is not None:
            store.complete = True
        self.save(pair)
        if result.get("skipped"):  # a note of that dataset (shown with it), not a global banner
            files = messages.file_list(result.get("skipped_files", []))
            self.catalog.add_note(pair[0], messages.PREDICTION_SKIPPED.format(count=result["skipped"], files=files))
