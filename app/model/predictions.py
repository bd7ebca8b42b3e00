"""Predictions of one checkpoint on one dataset (or video), filled in as batches arrive."""

from __future__ import annotations

import numpy as np

from app.model.sample_data import batch_errors, batch_pa_errors

METRICS = ("MPJPE", "PA-MPJPE")


class PredictionStore:
    """``joints`` ``(N, J, 3)`` root-relative mm, NaN until predicted; per-sample ``error`` (MPJPE)
    and ``pa_error`` (PA-MPJPE) in mm. ``metric`` names the one the browser ranks by."""

    def __init__(self, n: int, num_joints: int, metric: str = "MPJPE") -> None:
        if metric not in METRICS:
            raise ValueError(f"metric: expected one of {METRICS}, got {metric!r}")
        self.metric = metric
        self.joints = np.full((n, num_joints, 3), np.nan, dtype=np.float32)
        self.error = np.full(n, np.nan, dtype=np.float32)
        self.pa_error = np.full(n, np.nan, dtype=np.float32)
        self.predicted = np.zeros(n, dtype=bool)
        self.complete = False

    @property
    def count(self) -> int:
        return int(self.predicted.sum())

    def add(self, indices: np.ndarray, joints: np.ndarray, gt: np.ndarray | None = None,
            root: int = 0, visible: np.ndarray | None = None) -> None:
        """Store ``(B, J, 3)`` predictions of rows ``indices`` and their MPJPE against ``gt`` rows."""
        indices = np.asarray(indices, dtype=np.int64)
        if joints.shape[1] != self.joints.shape[1]:
            raise ValueError(f"predictions have {joints.shape[1]} joints, expected {self.joints.shape[1]}")
        self.joints[indices] = joints
        self.predicted[indices] = True
        if gt is not None:
            vis = None if visible is None else visible[indices]
            pred, target = joints.astype(np.float64), gt[indices].astype(np.float64)
            self.error[indices] = batch_errors(pred, target, root, vis)
            self.pa_error[indices] = batch_pa_errors(pred, target, root, vis)

    @property
    def ranking(self) -> np.ndarray:
        """``(N,)`` the per-sample error of :attr:`metric` (what the browser shows and sorts by)."""
        return self.pa_error if self.metric == "PA-MPJPE" else self.error

    def get(self, index: int) -> np.ndarray | None:
        return self.joints[index] if 0 <= index < len(self.joints) and self.predicted[index] else None

    def missing(self, order: np.ndarray | None = None) -> np.ndarray:
        """Rows not predicted yet, in ``order`` when given (e.g. the browser's order)."""
        order = np.arange(len(self.joints)) if order is None else np.asarray(order)
        return order[~self.predicted[order]]
