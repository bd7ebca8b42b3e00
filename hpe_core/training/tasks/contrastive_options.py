"""The ``simclr`` and ``simsiam`` tasks' declarations (seed 000) and their ``contrastive`` section."""

from __future__ import annotations

from dataclasses import dataclass

from hpe_core.errors import InputError
from hpe_core.training.tasks.info import TaskInfo, TaskOptions


@dataclass(frozen=True)
class ContrastiveOptions(TaskOptions):
    section = "contrastive"

    temperature: float = 0.5  # NT-Xent (SimCLR)
    stop_gradient: bool = True  # SimSiam: false removes the stop-gradient, the run then collapses (a control)

    def validate(self, config) -> None:
        if self.temperature <= 0:
            raise InputError(f"contrastive.temperature: must be positive, got {self.temperature}")
        if not self.stop_gradient and config.task != SIMSIAM.name:
            raise InputError(f"contrastive.stop_gradient: only SimSiam has a stop-gradient to remove, "
                             f"not {config.task}")


def _simclr():
    from hpe_core.training.tasks.contrastive import SimCLRTask

    return SimCLRTask


def _simsiam():
    from hpe_core.training.tasks.contrastive import SimSiamTask

    return SimSiamTask


SIMCLR = TaskInfo("simclr", "simclr", ("images", "pose_id"), _simclr, options=ContrastiveOptions, min_batch=2)
SIMSIAM = TaskInfo("simsiam", "simsiam", ("images", "pose_id"), _simsiam, options=ContrastiveOptions, min_batch=2)
