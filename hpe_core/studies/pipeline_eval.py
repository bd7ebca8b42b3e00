"""Seed 001's figures on a dataset split: the heatmap net's 2D, the lifter on ground-truth and on
predicted 2D (the separately trained pipeline), and the multi-task network, all through the one
:func:`~hpe_core.inference.predict`.

    evaluate_pipeline("demo-dataset", heatmap=hm, lifter=lf, multitask=mt, image_size=96)
    -> {"heatmap2d": {"epe", "pck"}, "lifter_gt_2d": {"mpjpe", "pa_mpjpe", ...},
        "lifter_heatmap_2d": {...}, "multitask": {"mpjpe", "pa_mpjpe", "epe", "pck", ...}}

2D errors are in the pixels of the dataset's images, PCK at ``pck_fraction`` (0.05) of the
ground-truth box; 3D errors in mm, root-relative (``mpjpe``), after similarity alignment
(``pa_mpjpe``) and after rotation (``mean_distance``), as the training tasks report them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hpe_core.training.losses import ERRORS, pose_error_sums
from hpe_core.training.tasks.pipeline import pose2d_sums, root_relative


def _errors_3d(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(pred).all((1, 2))
    sums = pose_error_sums(torch.from_numpy(pred[ok]), torch.from_numpy(gt[ok]),
                           torch.ones(gt[ok].shape[:2], dtype=torch.bool))
    return {name: sums[name] / max(sums["joints"], 1.0) for name in ERRORS} | {"samples": int(ok.sum())}


def _errors_2d(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, fraction: float) -> dict[str, float]:
    s = pose2d_sums(pred, gt, visible, fraction)
    return {"epe": s["epe"] / max(s["joints_2d"], 1.0), "pck": s["pck"] / max(s["joints_2d"], 1.0)}


def _table(batches, rows: np.ndarray, field: str, dims: int) -> np.ndarray:
    """``field`` of every row predicted by ``batches``, in ``rows`` order; NaN for a row skipped."""
    out = np.full((len(rows), 0, dims), np.nan)
    where = {int(r): k for k, r in enumerate(rows)}
    for batch in batches:
        if batch.prediction is None:
            continue
        values = np.asarray(getattr(batch.prediction, field), np.float64)
        if out.shape[1] == 0:
            out = np.full((len(rows),) + values.shape[1:], np.nan)
        out[[where[int(r)] for r in batch.indices]] = values
    return out


def evaluate_pipeline(dataset, heatmap=None, lifter=None, multitask=None, image_size: int = 96,
                      split: str = "test", pck_fraction: float = 0.05) -> dict:
    """The figures of whichever models are given (see the module docstring), each predicted by
    :func:`hpe_core.inference.predict`."""
    from hpe_core.datasets import open_dataset
    from hpe_core.inference import Predictor, predict

    ds = open_dataset(Path(dataset)) if isinstance(dataset, (str, Path)) else dataset
    idx = ds.split_indices(split)
    gt2 = np.asarray(ds.joints_2d[idx], dtype=np.float64)
    vis = np.asarray(ds.visible[idx], dtype=bool)
    gt3 = root_relative(ds.joints_3d[idx], ds.skeleton.root)
    run = {k: Predictor(m, "cpu", image_size=image_size, batch_size=64) for k, m in
           (("heatmap", heatmap), ("lifter", lifter), ("multitask", multitask)) if m is not None}
    out: dict[str, dict] = {}
    if heatmap is not None:
        out["heatmap2d"] = _errors_2d(_table(predict(run["heatmap"], ds, idx), idx, "joints_2d", 2), gt2, vis,
                                      pck_fraction)
    if lifter is not None:
        out["lifter_gt_2d"] = _errors_3d(_table(predict(run["lifter"], ds, idx), idx, "joints_3d", 3), gt3)
        if heatmap is not None:
            lifted = predict(run["lifter"], ds, idx, lift_from=run["heatmap"])
            out["lifter_heatmap_2d"] = _errors_3d(_table(lifted, idx, "joints_3d", 3), gt3)
    if multitask is not None:
        rows = list(predict(run["multitask"], ds, idx))
        out["multitask"] = {**_errors_3d(_table(rows, idx, "joints_3d", 3), gt3),
                            **_errors_2d(_table(rows, idx, "joints_2d", 2), gt2, vis, pck_fraction)}
    return out
