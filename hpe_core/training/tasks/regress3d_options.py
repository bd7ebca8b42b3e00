"""The ``regress3d`` task's declaration (seed 000, seed 004's FK head) and its ``regression`` section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from hpe_core.errors import InputError
from hpe_core.training.tasks.info import TaskInfo, TaskOptions


@dataclass(frozen=True)
class RegressionOptions(TaskOptions):
    section = "regression"

    encoder: Optional[str] = None  # a SimCLR/SimSiam checkpoint, or "random" (an untrained encoder)
    encoder_family: Optional[str] = None  # require this family of the encoder checkpoint
    head_layers: int = 2
    fine_tune: bool = False  # train the encoder too, at optim.encoder_lr
    loss: Literal["rotation_mse", "mse"] = "rotation_mse"
    loss_unit_mm: float = 100.0  # the MSE is taken in this unit (100: decimetres)
    pose_scale: float = 100.0  # mm per unit of the head's output
    cache_features: bool = True  # frozen encoder, no augmentation: encode every image once
    pose_head: Literal["free", "fk"] = "free"  # fk: seed 004's forward-kinematics head (exact bone lengths)
    bone_lengths: Optional[str] = None  # fk: None = training-set mean, "prior" = built-in, or a JSON file
    fk_hips: Literal["frame", "line"] = "frame"  # fk: hips as limb joints (frame) or on the hip line (seed)
    fk_frames: Literal["face", "transport"] = "face"  # fk: b = the face vector (seed) or carried along the limb

    def validate(self, config) -> None:
        if self.head_layers not in (1, 2, 3):
            raise InputError(f"regression.head_layers: expected 1, 2 or 3, got {self.head_layers}")
        if not self.encoder:
            raise InputError("regression.encoder: no encoder given; set a SimCLR/SimSiam checkpoint "
                             "(--set regression.encoder=runs/simclr/best.pt) or 'random' for an untrained one")

    def paths(self) -> dict[str, str | None]:
        fk_file = self.pose_head == "fk" and self.bone_lengths != "prior"
        return {"regression.encoder": self.encoder if self.encoder != "random" else None,
                "regression.bone_lengths": self.bone_lengths if fk_file else None}


def _trainer():
    from hpe_core.training.tasks.regress3d import Regress3DTask

    return Regress3DTask


REGRESS3D = TaskInfo("regress3d", "regressor", ("images", "joints_3d"), _trainer, options=RegressionOptions)
