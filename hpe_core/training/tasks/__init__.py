"""The training tasks: ``simclr`` and ``simsiam`` pre-training, ``regress3d`` 3D regression."""

from __future__ import annotations

from hpe_core.training.tasks.base import Task
from hpe_core.training.tasks.contrastive import SimCLRTask, SimSiamTask
from hpe_core.training.tasks.regress3d import Regress3DTask

TASK_CLASSES: dict[str, type[Task]] = {"simclr": SimCLRTask, "simsiam": SimSiamTask,
                                       "regress3d": Regress3DTask}


def make_task(config, dataset, device) -> Task:
    return TASK_CLASSES[config.task](config, dataset, device)
