"""The report of every metric at once (:func:`evaluate` -> :class:`MetricReport`), for ``hpe metrics``,
``hpe evaluate`` and the GUI: summaries, per-sample and per-joint values of the measures of
:mod:`hpe_core.metrics`, with the settings they were taken under."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.metrics import (AUC_THRESHOLDS, PCK2D_FRACTION, PCK3D_THRESHOLD, aligned_errors, auc_of,
                              bone_length_error, check_threshold, checked_box_sizes, joint_means, mean_error,
                              pck_of, prepare, resolve_root, root_centre)
from hpe_core.skeleton import Skeleton, get_skeleton

METRIC_LABELS = {
    "mpjpe": "MPJPE", "pa_mpjpe": "PA-MPJPE", "n_mpjpe": "N-MPJPE",
    "mean_distance": "mean distance (rotation-aligned about the root)",
    "pck3d": "3D PCK", "auc3d": "3D AUC", "pck2d": "2D PCK", "epe": "EPE",
    "bone_length_error": "bone length error",
}
FRACTIONS = ("pck3d", "auc3d", "pck2d")  # in [0, 1]; the others are distances


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
             pck2d_fraction: float = PCK2D_FRACTION, bbox_size=None) -> MetricReport:
    """All metrics of ``(N, J, 3)`` poses (MPJPE, PA-MPJPE, N-MPJPE, mean distance, 3D PCK, AUC,
    and with a ``skeleton`` the bone length error) or ``(N, J, 2)`` ones (2D PCK, EPE), per
    sample and per joint too.

    ``root`` ("auto": the skeleton's root when one is named, else none) root-centres the poses
    for MPJPE, N-MPJPE, PCK and AUC; the mean distance is always taken about a root (joint 0
    when none is named, none only with ``root=None``).
    """
    p, g, mask = prepare(pred, gt, valid, skeleton=skeleton)
    names = get_skeleton(skeleton).joint_names if skeleton is not None else None
    if p.shape[-1] == 2:
        return _evaluate_2d(p, g, mask, pck2d_fraction, bbox_size, names)
    check_threshold(pck_threshold, "pck_threshold")
    r = resolve_root(root, skeleton, p.shape[1])
    md_root = 0 if (r is None and root == "auto") else r
    pr, gr = root_centre(p, g, mask, r)
    pm, gm = root_centre(p, g, mask, md_root)
    err = {"mpjpe": aligned_errors(pr, gr, mask, "none"),
           "pa_mpjpe": aligned_errors(p, g, mask, "similarity"),
           "n_mpjpe": aligned_errors(pr, gr, mask, "scale"),
           "mean_distance": aligned_errors(pm, gm, mask, "rotation")}
    summary = {k: mean_error(e, False) for k, e in err.items()}
    per_sample = {k: mean_error(e, True) for k, e in err.items()}
    for per, key in ((False, summary), (True, per_sample)):
        key["pck3d"] = pck_of(err["mpjpe"], pck_threshold, per)
        key["auc3d"] = auc_of(err["mpjpe"], auc_thresholds, per)
        if skeleton is not None:
            key["bone_length_error"] = bone_length_error(p, g, skeleton, mask, per_sample=per)
    thresholds = np.asarray(auc_thresholds, dtype=np.float64).reshape(-1)
    settings = {"root": r, "mean_distance_root": md_root, "pck_threshold": float(pck_threshold),
                "auc_thresholds": [float(thresholds.min()), float(thresholds.max()), thresholds.size],
                "skeleton": get_skeleton(skeleton).name if skeleton is not None else None}
    per_joint = {"mpjpe": joint_means(err["mpjpe"]), "pa_mpjpe": joint_means(err["pa_mpjpe"])}
    return MetricReport(3, "mm", len(p), p.shape[1], int(mask.sum()), settings, summary,
                        per_joint, per_sample, names)


def _evaluate_2d(p, g, mask, fraction, bbox_size, names) -> MetricReport:
    check_threshold(fraction, "pck2d_fraction")
    size = checked_box_sizes(g, mask, bbox_size)
    err = aligned_errors(p, g, mask, "none")
    summary = {"pck2d": pck_of(err, fraction * size, False), "epe": mean_error(err, False)}
    per_sample = {"pck2d": pck_of(err, fraction * size, True), "epe": mean_error(err, True)}
    settings = {"pck2d_fraction": float(fraction),
                "bbox": "ground-truth joints" if bbox_size is None else "given"}
    return MetricReport(2, "px", len(p), p.shape[1], int(mask.sum()), settings, summary,
                        {"epe": joint_means(err)}, per_sample, names)
