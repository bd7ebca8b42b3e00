"""The ``unihpe`` task's declaration (seed 002, one stage of Fig. 2 per run) and its ``unihpe`` section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hpe_core.errors import InputError
from hpe_core.training.tasks.info import TaskInfo, TaskOptions


@dataclass(frozen=True)
class UniHPEOptions(TaskOptions):
    """Seed 002's UniHPE training (task ``unihpe``), one stage of Fig. 2 per run; a stage starts
    from the previous stage's checkpoint (``model.init``). The temperature defaults are the
    paper's per stage: 1: tau0 1/14 in [1/100, 1e4]; 2: 1/5 in [1/10, 1e4]; 3: 1/5 in [1/5, 1e4]."""

    section = "unihpe"

    stage: int = 1  # 1, 2 or 3; 1: 2D-3D alignment; 2: image to the frozen pose encoders; 3: all + decoders
    triplet: bool = True  # add alpha x the singular-value triplet InfoNCE (stages 2 and 3)
    alpha: float = 1.0
    tau0: Optional[float] = None  # None: the stage's paper value
    tau_min: Optional[float] = None
    tau_max: Optional[float] = None
    symmetric: bool = True  # each pairwise InfoNCE in both directions (as CLIP)
    lambda_2d: float = 1.0  # stage 3: weight of the 2D decoder loss
    lambda_3d: float = 1.0  # stage 3: weight of the 3D decoder losses (from 2D and from the image)

    def validate(self, config) -> None:
        if self.stage not in (1, 2, 3):
            raise InputError(f"unihpe.stage: expected 1, 2 or 3, got {self.stage}")
        if self.alpha < 0 or self.lambda_2d < 0 or self.lambda_3d < 0:
            raise InputError("unihpe.alpha, unihpe.lambda_2d, unihpe.lambda_3d: must be 0 or more")
        if self.stage == 2 and not config.model.init:
            raise InputError("model.init: stage 2 aligns the image encoder to the stage-1 pose encoders; "
                             "set model.init to the stage-1 checkpoint (e.g. runs/unihpe_stage1/best.pt)")


def _trainer():
    from hpe_core.training.tasks.unihpe import UniHPETask

    return UniHPETask


# stage 1 reads joints only; stages 2 and 3 need images too (checked by the task)
UNIHPE = TaskInfo("unihpe", "unihpe", ("joints_2d", "joints_3d"), _trainer, options=UniHPEOptions, min_batch=2)
