"""Seed 001's tasks' declarations (``heatmap2d``, ``lift``, ``multitask``) and their ``pipeline`` section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from hpe_core.errors import InputError
from hpe_core.training.tasks.info import TaskInfo, TaskOptions


@dataclass(frozen=True)
class PipelineOptions(TaskOptions):
    """Seed 001's tasks: ``heatmap2d``, ``lift`` and ``multitask`` (defaults: the report's values)."""

    section = "pipeline"

    encoder: Optional[str] = None  # heatmap2d/multitask: a SimCLR/SimSiam checkpoint for block A
    heatmap: Optional[str] = None  # lift: 2D from this heatmap2d checkpoint instead of the ground truth;
    #                                multitask: start the heatmap net from it
    lifter: Optional[str] = None  # multitask: start the lifter from this lifter checkpoint
    noise_std: float = 0.0  # lift: Gaussian noise (px) added to the training 2D
    loss_3d: Literal["l2", "l1"] = "l2"  # on the normalised 3D
    lambda_2d: float = 0.01  # multitask: L = L3d + lambda_2d * L2d (the heatmap L2)
    pck_fraction: float = 0.05  # PCK threshold, a fraction of the ground-truth box size

    def validate(self, config) -> None:
        if self.noise_std < 0 or self.lambda_2d < 0 or not 0 < self.pck_fraction <= 1:
            raise InputError("pipeline: noise_std and lambda_2d must be 0 or more, pck_fraction in (0, 1]")

    def paths(self) -> dict[str, str | None]:
        return {"pipeline.encoder": self.encoder, "pipeline.heatmap": self.heatmap, "pipeline.lifter": self.lifter}


def _heatmap2d():
    from hpe_core.training.tasks.heatmap2d import Heatmap2DTask

    return Heatmap2DTask


def _lift():
    from hpe_core.training.tasks.lift import LiftTask

    return LiftTask


def _multitask():
    from hpe_core.training.tasks.multitask import MultitaskTask

    return MultitaskTask


HEATMAP2D = TaskInfo("heatmap2d", "heatmap2d", ("images", "joints_2d"), _heatmap2d, options=PipelineOptions)
LIFT = TaskInfo("lift", "lifter", ("joints_2d", "joints_3d"), _lift, options=PipelineOptions)
MULTITASK = TaskInfo("multitask", "multitask", ("images", "joints_2d", "joints_3d"), _multitask,
                     options=PipelineOptions)
