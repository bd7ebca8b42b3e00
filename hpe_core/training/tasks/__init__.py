"""The training tasks, one table: ``simclr`` and ``simsiam`` pre-training, ``regress3d`` 3D regression;
seed 001's ``heatmap2d``, ``lift`` and ``multitask``; seed 002's ``unihpe`` (three stages); seed 003's
``vae_lift`` VAE lifter.

:data:`TASKS` maps a task name to its declaration (:class:`~hpe_core.training.tasks.info.TaskInfo`, a
plain dict): the family it trains, the dataset columns it needs (of :data:`COLUMNS`), the config
section it owns (its options dataclass, with its own ``validate``) and ``trainer()``, the
:class:`~hpe_core.training.tasks.base.Task` class that trains it. Task names live here and nowhere
else; importing this package loads no torch (``trainer()`` does). :func:`make_task` refuses a
dataset that lacks a column the task needs before anything is built, with a message naming it.
"""

from __future__ import annotations

from hpe_core.training.tasks.contrastive_options import SIMCLR, SIMSIAM
from hpe_core.training.tasks.info import COLUMNS, TaskInfo, TaskOptions, check_columns, missing_columns
from hpe_core.training.tasks.pipeline_options import HEATMAP2D, LIFT, MULTITASK
from hpe_core.training.tasks.regress3d_options import REGRESS3D
from hpe_core.training.tasks.unihpe_options import UNIHPE
from hpe_core.training.tasks.vae_lift_options import VAE_LIFT

TASKS: dict[str, TaskInfo] = {info.name: info for info in (SIMCLR, SIMSIAM, REGRESS3D, VAE_LIFT, HEATMAP2D, LIFT,
                                                           MULTITASK, UNIHPE)}

__all__ = ["COLUMNS", "TASKS", "TaskInfo", "TaskOptions", "check_columns", "make_task", "missing_columns",
           "task_sections"]


def task_sections() -> dict[str, type[TaskOptions]]:
    """The config sections the tasks own, ``{section: options dataclass}``, in table order."""
    sections: dict[str, type[TaskOptions]] = {}
    for info in TASKS.values():
        if info.options is not None:
            sections.setdefault(info.section, info.options)
    return sections


def make_task(config, dataset, device):
    """The task of ``config.task`` on ``dataset``; InputError if the dataset lacks a column it needs."""
    info = TASKS[config.task]
    check_columns(info, dataset, f"data.path {config.data.path}")
    return info.trainer()(config, dataset, device)
