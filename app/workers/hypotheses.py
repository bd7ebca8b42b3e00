"""Sampling the K hypotheses of the selected sample when the active checkpoint has them (a
``vae_lifter``): :func:`hpe_core.inference.predict` of that one row, seeded, from the same 2D as
the poses drawn beside them (the lift source's, else the ground truth's), on the checkpoint's
device, in a hidden task; the result goes into the :class:`~app.model.hypotheses.Hypotheses` part."""

from __future__ import annotations

import numpy as np
from hpe_core.errors import InputError
from PySide6.QtCore import QObject

from app.model.catalog import Catalog
from app.model.hypotheses import DEFAULT_SEED, Hypotheses, HypothesisSet
from app.model.predictions import LiftSource
from app.model.sample_feed import SampleFeed
from app.model.view_options import ViewOptions
from app.workers.manager import TaskManager
from app.workers.task import Task, TaskSlot


def samples_hypotheses(loaded) -> bool:
    """Whether the checkpoint ``loaded`` (a LoadedCheckpoint or None) lifts 2D poses to K hypotheses."""
    name = getattr(getattr(loaded, "model", None), "family", None)
    if not name:
        return False
    import hpe_core.models  # noqa: F401 - the package first: its families import its checkpoint module
    from hpe_core.models.families import FAMILIES

    family = FAMILIES.get(name)
    return family is not None and "hypotheses" in family.outputs and "pose2d" in family.inputs


def hypotheses_job(predictor, lift_from, dataset, index: int, k: int, seed: int):
    """``(hypotheses (K, J, 3), mean (J, 3))`` of row ``index``; InputError when it cannot be lifted."""

    def run(progress):
        from hpe_core.inference import collect, predict

        run = collect(predict(predictor, dataset, np.array([index]), lift_from=lift_from, hypotheses=k, seed=seed,
                              progress=progress), predictor)
        if not len(run):
            raise InputError(f"sample #{index}: {run.skipped_reasons[0] if run.skipped else 'not lifted'}")
        pred = run.prediction
        return pred.hypotheses[0], pred.joints_3d[0]

    return run


class HypothesisRunner(QObject):
    """Follows the selection, the active checkpoint and ``options.hypotheses`` (K; 0: none)."""

    def __init__(self, catalog: Catalog, feed: SampleFeed, options: ViewOptions, hypotheses: Hypotheses,
                 tasks: TaskManager, parent: QObject | None = None, lift: LiftSource | None = None) -> None:
        super().__init__(parent)
        self.catalog, self.feed, self.options, self.hypotheses, self.tasks = catalog, feed, options, hypotheses, tasks
        self.lift = lift or LiftSource()  # the 2D the lifter lifts: the same as the poses drawn beside
        self.seed = DEFAULT_SEED
        self._slot = TaskSlot(self)
        self._wanted: tuple | None = None
        feed.selection_changed.connect(self.refresh)
        catalog.active_checkpoint_changed.connect(self.refresh)
        catalog.current_dataset_changed.connect(self.refresh)
        options.events.hypotheses.connect(self.refresh)
        self.lift.events.key.connect(self.refresh)

    @property
    def task(self) -> Task | None:
        return self._slot.task

    def refresh(self, *_args) -> None:
        """Sample the selected row's hypotheses unless they are shown or being sampled already."""
        c, index, k = self.catalog, self.feed.selection, int(self.options.hypotheses)
        loaded, ds = c.checkpoint, c.dataset
        if (not samples_hypotheses(loaded) or ds is None or k <= 0 or not 0 <= index < len(ds)
                or getattr(ds, "joints_2d", None) is None):
            self._wanted = None
            self._slot.cancel()
            if self.hypotheses.current is not None:
                self.hypotheses.show(None)
            return
        source = c.checkpoints.get(self.lift.key) if self.lift.key is not None else None
        wanted = (c.current_key, c.active_key, index, k, self.seed, self.lift.key if source is not None else None)
        current = self.hypotheses.current
        if wanted == self._wanted or (current is not None and wanted == _key(current)):
            return
        self._wanted = wanted
        if current is not None and current.index != index:
            self.hypotheses.show(None)  # never the previous sample's around this one
        lift_from = None if source is None else source.predictor
        task = Task(hypotheses_job(loaded.predictor, lift_from, ds, index, k, self.seed), name="sample hypotheses",
                    parent=self, hidden=True)
        task.done.connect(lambda result, w=wanted: self._on_done(w, result))
        self._slot.start(task, self.tasks)

    def _on_done(self, wanted: tuple, result) -> None:
        if wanted != self._wanted:
            return
        self._wanted = None
        joints, mean = result
        self.hypotheses.show(HypothesisSet(wanted[0], wanted[1], wanted[2], wanted[4], joints, mean, wanted[5]))


def _key(s: HypothesisSet) -> tuple:
    return (s.dataset_key, s.checkpoint_key, s.index, s.k, s.seed, s.lift_key)
