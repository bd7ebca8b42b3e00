"""The K sampled 3D hypotheses of the selected sample (a ``vae_lifter`` checkpoint, seed 003).

Qt-free and evented: :class:`Hypotheses` holds the last :class:`HypothesisSet` (what
:func:`hpe_core.inference.predict` sampled for one dataset row, root-relative mm)
and announces it; :func:`place_hypotheses` puts the set where the 3D view draws the mean
hypothesis, moved by the same transform (root on the ground-truth root, then the alignment the
view options ask for, fitted on the mean), so the spread around the mean is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from psygnal import Signal

from hpe_core.geometry import procrustes

DEFAULT_SEED = 0  # the seed of ``hpe evaluate --hypotheses`` (its ``--seed`` default)


@dataclass(frozen=True)
class HypothesisSet:
    """``joints`` ``(K, J, 3)`` and ``mean`` ``(J, 3)``: root-relative mm of dataset row ``index``,
    lifted from the 2D of ``lift_key``'s checkpoint (None: the ground truth's)."""

    dataset_key: str
    checkpoint_key: str
    index: int
    seed: int
    joints: np.ndarray
    mean: np.ndarray
    lift_key: str | None = None  # the checkpoint whose 2D was lifted (None: the ground truth's)

    @property
    def k(self) -> int:
        return int(self.joints.shape[0])


class Hypotheses:
    """The current set (or None); ``changed(set | None)`` whenever it is replaced."""

    changed = Signal(object)

    def __init__(self) -> None:
        self.current: HypothesisSet | None = None

    def show(self, value: HypothesisSet | None) -> None:
        self.current = value
        self.changed.emit(value)


def place_hypotheses(hyps: HypothesisSet, gt: np.ndarray | None, root: int, align: str) -> np.ndarray | None:
    """``(K, J, 3)`` camera-frame mm: each hypothesis on the ``(J, 3)`` ground truth's root, then
    moved by the transform ``align`` ("none" | "rigid" | "similarity") fits from the mean to
    ``gt`` (as :func:`app.model.sample_data.place_prediction` moves the mean). None without GT."""
    if gt is None or not np.isfinite(gt[root]).all():
        return None
    gt = np.asarray(gt, np.float64)
    joints = np.asarray(hyps.joints, np.float64)
    placed = joints - joints[:, root:root + 1] + gt[root]
    if align not in ("rigid", "similarity"):
        return placed
    mean = np.asarray(hyps.mean, np.float64)
    mean = mean - mean[root] + gt[root]
    ok = (np.isfinite(gt).all(axis=1) & np.isfinite(mean).all(axis=1)).astype(float)
    if ok.sum() < 3:
        return placed
    _, R, s, t = procrustes(mean[None], np.nan_to_num(gt)[None], align, weights=ok[None], return_transform=True)
    return s[0] * placed @ R[0].T + t[0]
