"""Predictions of one checkpoint on one dataset (or video), filled in as batches arrive, the
cache of them per (dataset, checkpoint), and where a lifter's 2D comes from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from psygnal import Signal, evented

from hpe_core import metrics

METRICS = ("MPJPE", "PA-MPJPE")


class PredictionStore:
    """``joints`` ``(N, J, 3)`` root-relative mm, NaN until predicted (and for a 2D-only model);
    ``joints_2d`` ``(N, J, 2)`` the model's own 2D in image px (heatmap decoding), NaN where none;
    per-sample ``error`` (MPJPE) and ``pa_error`` (PA-MPJPE) in mm of whatever 3D the model has
    (a lifter's lifted pose). ``metric`` names the one the browser ranks by, unless a protocol
    (:meth:`set_protocol`) gives its own per-sample measure on the dataset's ``skeleton``. ``heatmaps``:
    the last requested sample's ``(index, SampleHeatmaps)`` (one only: they are large)."""

    def __init__(self, n: int, num_joints: int, metric: str = "MPJPE", skeleton: str | None = None) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric: expected one of {METRICS}, got {metric!r}")
        self.metric = metric
        self.joints = np.full((n, num_joints, 3), np.nan, dtype=np.float32)
        self.joints_2d = np.full((n, num_joints, 2), np.nan, dtype=np.float32)
        self.heatmaps: tuple[int, object] | None = None
        self.error = np.full(n, np.nan, dtype=np.float32)
        self.pa_error = np.full(n, np.nan, dtype=np.float32)
        self.predicted = np.zeros(n, dtype=bool)
        self.time_ms = np.full(n, np.nan, dtype=np.float32)  # the model's time per row (NaN: not known)
        self.wall_s = 0.0  # the wall time of the batches that predicted the rows
        self.complete = False
        self.looked_up = False  # its entry of the disk cache was read (see app.workers.predicting)
        self.disk_key: str | None = None  # that entry's key (None: not kept on disk)
        self.skeleton, self.protocol, self.protocol_label = skeleton, "standard", None
        self.protocol_error: np.ndarray | None = None  # (N,) the protocol's per-sample measure
        self._truth = None  # (gt, visible) the rows were scored against: references, not copies

    @property
    def count(self) -> int:
        return int(self.predicted.sum())

    def add(self, indices: np.ndarray, joints: np.ndarray | None, gt: np.ndarray | None = None,
            root: int = 0, visible: np.ndarray | None = None, joints_2d: np.ndarray | None = None,
            time_ms=None, wall_s: float = 0.0) -> None:
        """Store ``(B, J, 3)`` predictions of rows ``indices`` (None: a 2D-only model) and their
        MPJPE against ``gt`` rows, and the model's own ``(B, J, 2)`` 2D when it has some;
        ``time_ms`` the model's time per row (a number or (B,)), ``wall_s`` the batch's wall time."""
        indices = np.asarray(indices, dtype=np.int64)
        if time_ms is not None:
            self.time_ms[indices] = time_ms
        self.wall_s += float(wall_s)
        for name, arr in (("joints", joints), ("joints_2d", joints_2d)):
            if arr is not None and arr.shape[1] != self.joints.shape[1]:
                raise ValueError(f"predictions have {arr.shape[1]} joints, expected {self.joints.shape[1]}")
        if joints_2d is not None:
            self.joints_2d[indices] = joints_2d
        self.predicted[indices] = True
        if joints is None:
            return
        self.joints[indices] = joints
        if gt is not None:
            vis = None if visible is None else visible[indices]
            pred, target = joints.astype(np.float64), gt[indices].astype(np.float64)
            self.error[indices] = metrics.mpjpe(pred, target, vis, root=root, per_sample=True, empty="nan")
            self.pa_error[indices] = metrics.pa_mpjpe(pred, target, vis, per_sample=True, empty="nan")
            self._truth = (gt, visible)
            if self.protocol_error is not None:
                self.protocol_error[indices] = self._protocol_errors(indices)

    def set_protocol(self, name: str) -> bool:
        """Rank by protocol ``name``'s per-sample measure (:func:`hpe_core.protocols.sample_errors`)
        where it scores this dataset's joints, else by :attr:`metric`; True when it does."""
        from hpe_core.protocols import sample_errors

        self.protocol, self.protocol_error, self.protocol_label = name, None, None
        got = None if self.skeleton is None else sample_errors(name, self.skeleton, self.joints[:0], self.joints[:0])
        if got is None:
            return False
        self.protocol_label = got[0]
        self.protocol_error = np.full(len(self.error), np.nan, dtype=np.float32)
        if self._truth is not None:
            rows = np.flatnonzero(self.predicted)
            self.protocol_error[rows] = self._protocol_errors(rows)
        return True

    def _protocol_errors(self, rows: np.ndarray) -> np.ndarray:
        from hpe_core.protocols import sample_errors

        gt, visible = self._truth
        return sample_errors(self.protocol, self.skeleton, self.joints[rows], np.asarray(gt)[rows],
                             None if visible is None else np.asarray(visible)[rows])[1]

    @property
    def ranking(self) -> np.ndarray:
        """``(N,)`` the per-sample error the browser shows and sorts by: the protocol's, else :attr:`metric`'s."""
        if self.protocol_error is not None:
            return self.protocol_error
        return self.pa_error if self.metric == "PA-MPJPE" else self.error

    @property
    def ranking_label(self) -> str:
        return self.protocol_label or self.metric

    def get(self, index: int) -> np.ndarray | None:
        return self.joints[index] if 0 <= index < len(self.joints) and self.predicted[index] else None

    def get_2d(self, index: int) -> np.ndarray | None:
        """The model's own 2D of row ``index`` (None when it has none)."""
        if not 0 <= index < len(self.joints_2d) or not np.isfinite(self.joints_2d[index]).any():
            return None
        return self.joints_2d[index]

    def get_heatmaps(self, index: int):
        return self.heatmaps[1] if self.heatmaps is not None and self.heatmaps[0] == index else None

    def missing(self, order: np.ndarray | None = None) -> np.ndarray:
        """Rows not predicted yet, in ``order`` when given (e.g. the browser's order)."""
        order = np.arange(len(self.joints)) if order is None else np.asarray(order)
        return order[~self.predicted[order]]


class PredictionCache:
    """One :class:`PredictionStore` per ``(dataset key, checkpoint key)``; ``changed(pair, rows)``
    when the store of ``pair`` got the predictions of ``rows``."""

    changed = Signal(object, object)  # (dataset key, checkpoint key), (B,) int64 rows

    def __init__(self) -> None:
        self._stores: dict[tuple[str, str], PredictionStore] = {}
        self.protocol = "standard"  # whose per-sample measure the stores rank by (the GUI's chosen protocol)

    def get(self, dataset_key: str | None, checkpoint_key: str | None) -> PredictionStore | None:
        return self._stores.get((dataset_key, checkpoint_key))

    def store(self, dataset_key: str, checkpoint_key: str, n: int, num_joints: int,
              metric: str = "MPJPE", skeleton: str | None = None) -> PredictionStore:
        """The store of the pair, made empty on first use."""
        pair = (dataset_key, checkpoint_key)
        if pair not in self._stores:
            self._stores[pair] = PredictionStore(n, num_joints, metric, skeleton)
            self._stores[pair].set_protocol(self.protocol)
        return self._stores[pair]

    def set_protocol(self, name: str) -> None:
        """Rank every store by protocol ``name``'s measure (where it applies); ``changed`` for each."""
        self.protocol = name
        for pair, store in self._stores.items():
            store.set_protocol(name)
            self.changed.emit(pair, np.flatnonzero(store.predicted))

    def add(self, pair: tuple[str, str], indices, joints, gt=None, root: int = 0, visible=None,
            joints_2d=None, time_ms=None, wall_s: float = 0.0) -> None:
        store = self._stores.get(pair)
        if store is not None:
            store.add(indices, joints, gt, root, visible, joints_2d, time_ms, wall_s)
            self.changed.emit(pair, np.asarray(indices, dtype=np.int64))

    def add_heatmaps(self, pair: tuple[str, str], index: int, heatmaps) -> None:
        """Keep ``heatmaps`` (a ``SampleHeatmaps``) of row ``index`` in the store of ``pair``."""
        store = self._stores.get(pair)
        if store is not None and heatmaps is not None:
            store.heatmaps = (int(index), heatmaps)
            self.changed.emit(pair, np.array([index], dtype=np.int64))

    def drop(self, dataset_key: str | None = None, checkpoint_key: str | None = None) -> None:
        """Forget the stores of a closed dataset or checkpoint."""
        for pair in [p for p in self._stores if p[0] == dataset_key or p[1] == checkpoint_key]:
            del self._stores[pair]

    def __len__(self) -> int:
        return len(self._stores)


@evented
@dataclass
class LiftSource:
    """Where the 2D that a lifter lifts comes from: ``key`` None for the dataset's ground-truth
    2D, else the catalog key of a heatmap checkpoint (``lift.events.key`` fires on a change)."""

    key: str | None = None
