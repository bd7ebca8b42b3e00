"""The report of every metric at once (:func:`evaluate` -> :class:`MetricReport`), for ``hpe metrics``,
``hpe evaluate`` and the GUI: summaries, per-sample and per-joint values of the measures of
:mod:`hpe_core.metrics`, with the settings they were taken under.

Memory: the poses are checked and scored a chunk of samples at a time (:data:`CHUNK`), each
chunk turned into float64 only while it is scored, and the report keeps running sums: besides the
inputs (which may be memory-mapped) it holds one chunk's temporaries and, only with ``per_sample``,
one ``(N,)`` array a metric. A pooled value is the sum of one pass over all samples added chunk by chunk,
so past one chunk it can differ from a single ``np.sum`` in the last bits of a float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.alignment import chunks
from hpe_core.metrics import (AUC_THRESHOLDS, PCK2D_FRACTION, PCK3D_THRESHOLD, aligned_errors, as_array,
                              bbox_sizes, bone_errors, check_inputs, check_root, check_threshold, checked_thresholds,
                              mask_of, mean_error, pck_of, resolve_root, root_centre)
from hpe_core.errors import InputError
from hpe_core.skeleton import Skeleton, get_skeleton

METRIC_LABELS = {
    "mpjpe": "MPJPE", "pa_mpjpe": "PA-MPJPE", "n_mpjpe": "N-MPJPE",
    "mean_distance": "mean distance (rotation-aligned about the root)",
    "pck3d": "3D PCK", "auc3d": "3D AUC", "pck2d": "2D PCK", "epe": "EPE",
    "bone_length_error": "bone length error",
}
FRACTIONS = ("pck3d", "auc3d", "pck2d")  # in [0, 1]; the others are distances
CHUNK = 2048  # samples scored at once: about 6 KB of float64 temporaries each (12 MB), as fast as 4096


@dataclass
class MetricReport:
    """Everything :func:`evaluate` computed. ``summary`` name -> float; ``per_joint`` name ->
    ``(J,)``; ``per_sample`` name -> ``(N,)``; ``units`` of the distances ("mm" or "px")."""

    dims: int
    units: str
    samples: int
    joints: int
    evaluated_joints: int
    settings: dict
    summary: dict[str, float]
    per_joint: dict[str, np.ndarray]
    per_sample: dict[str, np.ndarray]
    joint_names: tuple[str, ...] | None = None

    def to_dict(self, per_sample: bool = False) -> dict:
        names = list(self.joint_names or (str(j) for j in range(self.joints)))
        out = {"dims": self.dims, "units": self.units, "samples": self.samples,
               "joints": self.joints, "evaluated_joints": self.evaluated_joints,
               "settings": dict(self.settings), "metrics": dict(self.summary),
               "per_joint": {"joint_names": names,
                             **{k: v.tolist() for k, v in self.per_joint.items()}}}
        if per_sample:
            out["per_sample"] = {k: v.tolist() for k, v in self.per_sample.items()}
        return out


def evaluate(pred, gt, valid=None, *, skeleton: str | Skeleton | None = None, root="auto",
             pck_threshold: float = PCK3D_THRESHOLD, auc_thresholds=AUC_THRESHOLDS,
             pck2d_fraction: float = PCK2D_FRACTION, bbox_size=None, per_sample: bool = True) -> MetricReport:
    """All metrics of ``(N, J, 3)`` poses (MPJPE, PA-MPJPE, N-MPJPE, mean distance, 3D PCK, AUC,
    and with a ``skeleton`` the bone length error) or ``(N, J, 2)`` ones (2D PCK, EPE), per
    joint, and per sample unless ``per_sample`` is False (then ``per_sample`` is empty).

    ``root`` ("auto": the skeleton's root when one is named, else none) root-centres the poses
    for MPJPE, N-MPJPE, PCK and AUC; the mean distance is always taken about a root (joint 0
    when none is named, none only with ``root=None``).
    """
    p, g, v = check_inputs(pred, gt, valid, skeleton=skeleton)
    names = get_skeleton(skeleton).joint_names if skeleton is not None else None
    if p.shape[-1] == 2:
        return _evaluate_2d(p, g, v, pck2d_fraction, bbox_size, names, per_sample)
    check_threshold(pck_threshold, "pck_threshold")
    thresholds = checked_thresholds(auc_thresholds)
    r = resolve_root(root, skeleton, p.shape[1])
    md_root = 0 if (r is None and root == "auto") else r
    _check_roots(p, g, v, (r, md_root))
    sums = _Sums(len(p), p.shape[1], per_sample, ("mpjpe", "pa_mpjpe"))
    for sl, pc, gc, m in _chunks(p, g, v):
        sums.evaluated += int(m.sum())
        pr, gr = root_centre(pc, gc, m, r)
        pm, gm = (pr, gr) if md_root == r else root_centre(pc, gc, m, md_root)
        err = {"mpjpe": aligned_errors(pr, gr, m, "none"), "pa_mpjpe": aligned_errors(pc, gc, m, "similarity"),
               "n_mpjpe": aligned_errors(pr, gr, m, "scale"), "mean_distance": aligned_errors(pm, gm, m, "rotation")}
        sums.add_errors(sl, err)
        sums.add_hits(sl, "pck3d", err["mpjpe"], [pck_threshold])
        sums.add_hits(sl, "auc3d", err["mpjpe"], thresholds)
        if skeleton is not None:
            sums.add_bones(sl, *bone_errors(pc, gc, m, skeleton))
    settings = {"root": r, "mean_distance_root": md_root, "pck_threshold": float(pck_threshold),
                "auc_thresholds": [float(thresholds.min()), float(thresholds.max()), thresholds.size],
                "skeleton": get_skeleton(skeleton).name if skeleton is not None else None}
    summary, per_joint, per_sample_values = sums.result()
    return MetricReport(3, "mm", len(p), p.shape[1], sums.evaluated, settings, summary,
                        per_joint, per_sample_values, names)


def _chunks(p, g, v):
    """``(slice, pred, gt, mask)`` of each chunk: the poses as float64, the mask :func:`mask_of`."""
    for sl in chunks(len(p), CHUNK):
        pc, gc = p[sl].astype(np.float64), g[sl].astype(np.float64)
        yield sl, pc, gc, mask_of(pc, gc, None if v is None else v[sl])


def _check_roots(p, g, v, roots) -> None:
    """:func:`~hpe_core.metrics.check_root` of each root (None: no root) over the chunks."""
    for root in dict.fromkeys(r for r in roots if r is not None):
        missing = [sl.start + np.flatnonzero(~mask_of(p[sl], g[sl], None if v is None else v[sl])[:, root])
                   for sl in chunks(len(p))]
        check_root(np.concatenate(missing), root)


def _evaluate_2d(p, g, v, fraction, bbox_size, names, per_sample) -> MetricReport:
    check_threshold(fraction, "pck2d_fraction")
    given = None if bbox_size is None else as_array(bbox_size, "bbox_size")
    if given is not None:
        if given.shape != (len(g),):
            raise InputError(f"bbox_size: expected shape ({len(g)},), got {given.shape}")
        check_threshold(given, "bbox_size")
    sums = _Sums(len(p), p.shape[1], per_sample, ("epe",))
    for sl, pc, gc, m in _chunks(p, g, v):
        sums.evaluated += int(m.sum())
        size = bbox_sizes(gc, m) if given is None else given[sl]  # from the joints: finite, >= 0
        err = aligned_errors(pc, gc, m, "none")
        sums.add_hits(sl, "pck2d", err, [fraction * size])
        sums.add_errors(sl, {"epe": err})
    summary, per_joint, per_sample_values = sums.result()
    settings = {"pck2d_fraction": float(fraction),
                "bbox": "ground-truth joints" if bbox_size is None else "given"}
    return MetricReport(2, "px", len(p), p.shape[1], sums.evaluated, settings, summary,
                        per_joint, per_sample_values, names)


class _Sums:
    """Running sums of the chunks' per-joint errors ``(n, J)`` (NaN where not evaluated): for each
    measure its pooled mean, per-joint means of the measures named ``joints``, the fraction of
    errors within each threshold (PCK; the AUC is the mean over its thresholds), and each sample's
    values into ``(N,)`` arrays when ``per_sample``. Pooled means are float64 sums over chunks."""

    def __init__(self, n: int, j: int, per_sample: bool, joints: tuple[str, ...]) -> None:
        self.n, self.j, self.joints, self.keep = n, j, joints, per_sample
        self.total: dict[str, list] = {}  # name -> [sum, count] (floats, or arrays of the thresholds)
        self.joint: dict[str, list] = {}  # name -> [(J,) sums, (J,) counts]
        self.rows: dict[str, np.ndarray] = {}
        self.evaluated = 0  # joints evaluated, over all samples (the caller counts them)

    def _row(self, name: str, sl: slice, values) -> None:
        """Each sample's ``values()`` of ``name`` (computed only when kept)."""
        if self.keep:
            self.rows.setdefault(name, np.empty(self.n))[sl] = values()

    def _pool(self, name: str, total, count) -> None:
        acc = self.total.setdefault(name, [0, 0])
        acc[0], acc[1] = acc[0] + total, acc[1] + count

    def add_errors(self, sl: slice, errors: dict[str, np.ndarray]) -> None:
        for name, err in errors.items():
            ok = np.isfinite(err)
            zeroed = np.where(ok, err, 0.0)
            self._pool(name, zeroed.sum(), ok.sum())
            if name in self.joints:
                acc = self.joint.setdefault(name, [np.zeros(self.j), np.zeros(self.j, np.int64)])
                acc[0] += zeroed.sum(axis=0)
                acc[1] += ok.sum(axis=0)
            self._row(name, sl, lambda: mean_error(err, True))

    def add_hits(self, sl: slice, name: str, err: np.ndarray, thresholds) -> None:
        """PCK (one threshold) or AUC (several) of ``err``; a threshold may be ``(n,)``, one a sample."""
        hits = np.array([(err <= np.asarray(t, np.float64).reshape(-1, 1)).sum() for t in thresholds])
        self._pool(name, hits, np.isfinite(err).sum())
        self._row(name, sl, lambda: np.mean([pck_of(err, t, True) for t in thresholds], axis=0))

    def add_bones(self, sl: slice, err: np.ndarray, counted: np.ndarray) -> None:
        self._pool("bone_length_error", err.sum(), counted.sum())
        self._row("bone_length_error", sl,
                  lambda: np.where(counted > 0, err.sum(axis=1) / np.maximum(counted, 1), np.nan))

    def result(self) -> tuple[dict, dict, dict]:
        summary = {}
        for name, (total, count) in self.total.items():
            if np.ndim(total):  # hit counts per threshold: the mean of the fractions
                summary[name] = float(np.mean(total / count))
            else:
                summary[name] = float(total / count) if count else float("nan")
        per_joint = {name: np.where(c > 0, t / np.maximum(c, 1), np.nan) for name, (t, c) in self.joint.items()}
        return summary, per_joint, self.rows
