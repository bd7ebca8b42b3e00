"""The training tasks: ``simclr`` and ``simsiam`` pre-training, ``regress3d`` 3D regression,
``vae_lift`` seed 003's VAE lifter."""

from __future__ import annotations

from hpe_core.training.tasks.base import Task
from hpe_core.training.tasks.contrastive import SimCLRTask, SimSiamTask
from hpe_core.training.tasks.regress3d import Regress3DTask
from hpe_core.training.tasks.vae_lift import VAELiftTask

TASK_CLASSES: dict[str, type[Task]] = {"simclr": SimCLRTask, "simsiam": SimSiamTask,
                                       "regress3d": Regress3DTask, "vae_lift": VAELiftTask}


def make_task(config, dataset, device) -> Task:
    return TASK_CLASSES[config.task](config, dataset, device)
