"""The training tasks, one table: ``simclr`` and ``simsiam`` pre-training, ``regress3d`` 3D regression;
seed 001's ``heatmap2d``, ``lift`` and ``multitask``; seed 002's ``unihpe`` (three stages); seed 003's
``vae_lift`` VAE lifter.

:data:`TASKS` maps a task name to its :class:`Task` class (a plain dict). Each task names the
dataset columns it needs (:attr:`Task.columns`, of :data:`COLUMNS`); :func:`make_task` refuses
a dataset that lacks one before anything is built, with a message naming the column.
"""

from __future__ import annotations

from hpe_core.training.tasks.base import COLUMNS, Task, check_columns, missing_columns
from hpe_core.training.tasks.contrastive import SimCLRTask, SimSiamTask
from hpe_core.training.tasks.heatmap2d import Heatmap2DTask
from hpe_core.training.tasks.lift import LiftTask
from hpe_core.training.tasks.multitask import MultitaskTask
from hpe_core.training.tasks.regress3d import Regress3DTask
from hpe_core.training.tasks.unihpe import UniHPETask
from hpe_core.training.tasks.vae_lift import VAELiftTask

TASKS: dict[str, type[Task]] = {"simclr": SimCLRTask, "simsiam": SimSiamTask, "regress3d": Regress3DTask,
                                "vae_lift": VAELiftTask, "heatmap2d": Heatmap2DTask, "lift": LiftTask,
                                "multitask": MultitaskTask, "unihpe": UniHPETask}
TASK_CLASSES = TASKS  # the former name

__all__ = ["COLUMNS", "TASKS", "TASK_CLASSES", "Task", "check_columns", "make_task", "missing_columns"]


def make_task(config, dataset, device) -> Task:
    """The task of ``config.task`` on ``dataset``; InputError if the dataset lacks a column it needs."""
    cls = TASKS[config.task]
    check_columns(cls, dataset, f"data.path {config.data.path}")
    return cls(config, dataset, device)
