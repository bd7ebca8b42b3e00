"""Which per-sample error a checkpoint is read by: one measure everywhere a user reads or colours
by error (the browser's ranking and footer, the sample's metrics, hover cards, colour-by-error).

A pose head trained with a rotation-aligned loss (seed 000's ``rotation_mse``: MSE after the best
rotation about the root) predicts poses only up to a rotation, so its raw MPJPE measures the
rotation it was never asked to get right (700-970 mm on the demo's heads); it is read by
PA-MPJPE. Every other head is read by MPJPE. The decision is made from the checkpoint's own
training record: the task that trained it and that task's loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Training tasks whose pose loss is ``config.regression.loss`` (the others carry the section's
# defaults without using it).
REGRESSION_TASKS = ("regress3d",)


@dataclass(frozen=True)
class ErrorMeasure:
    name: str     # "MPJPE" or "PA-MPJPE": what the GUI labels it
    key: str      # "mpjpe" or "pa_mpjpe": the key of hpe_core.metrics' summaries
    reason: str   # one line: why this measure for this checkpoint

    @property
    def rotation_aligned(self) -> bool:
        return self.key == "pa_mpjpe"


MPJPE = ErrorMeasure("MPJPE", "mpjpe", "")
PA_MPJPE = ErrorMeasure("PA-MPJPE", "pa_mpjpe", "")


def error_measure(training: dict[str, Any] | None) -> ErrorMeasure:
    """The measure of a checkpoint from its training record (``CheckpointInfo.training``)."""
    training = training or {}
    config = training.get("config") or {}
    task = str(training.get("task") or config.get("task") or "")
    loss = str(((config.get("regression") or {}).get("loss")) or "")
    if task in REGRESSION_TASKS and loss.startswith("rotation"):
        return ErrorMeasure("PA-MPJPE", "pa_mpjpe",
                            f"trained with the rotation-aligned loss {loss}: poses are defined up to a rotation")
    why = f"trained by {task} with loss {loss}" if task in REGRESSION_TASKS else (
        f"trained by {task}" if task else "no training record")
    return ErrorMeasure("MPJPE", "mpjpe", why)


def checkpoint_error_measure(info) -> ErrorMeasure:
    """:func:`error_measure` of a ``CheckpointInfo`` (or anything with ``.training``)."""
    return error_measure(getattr(info, "training", None))
