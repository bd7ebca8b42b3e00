"""Seed 001's figures on a dataset split: the heatmap net's 2D, the lifter on ground-truth and on
predicted 2D (the separately trained pipeline), and the multi-task network.

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
from hpe_core.training.tasks.pipeline import pose2d_sums, predicted_2d, root_relative


def _errors_3d(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(pred).all((1, 2))
    sums = pose_error_sums(torch.from_numpy(pred[ok]), torch.from_numpy(gt[ok]),
                           torch.ones(gt[ok].shape[:2], dtype=torch.bool))
    return {name: sums[name] / max(sums["joints"], 1.0) for name in ERRORS} | {"samples": int(ok.sum())}


def _errors_2d(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, fraction: float) -> dict[str, float]:
    s = pose2d_sums(pred, gt, visible, fraction)
    return {"epe": s["epe"] / max(s["joints_2d"], 1.0), "pck": s["pck"] / max(s["joints_2d"], 1.0)}


@torch.no_grad()
def _lift(lifter, joints_2d: np.ndarray) -> np.ndarray:
    out = np.full(joints_2d.shape[:2] + (3,), np.nan)
    ok = np.isfinite(joints_2d).all((1, 2))
    lifter = lifter.eval()
    x = torch.as_tensor(joints_2d[ok], dtype=torch.float32)
    out[ok] = torch.cat([lifter(x[a:a + 4096]) for a in range(0, len(x), 4096)]).double().numpy() if len(x) else []
    return out


@torch.no_grad()
def _multitask(model, dataset, indices, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(3D mm root-relative, 2D px of the dataset's images) of the multi-task model."""
    from hpe_core.datasets.transforms import letterbox, normalize, to_float
    from hpe_core.models.families import FAMILIES
    from hpe_core.training.tasks.pipeline import unletterbox_joints

    model = model.eval()
    j3, j2 = [], []
    for a in range(0, len(indices), 64):
        images = [dataset.load_image(int(i)) for i in indices[a:a + 64]]
        x = torch.stack([normalize(to_float(letterbox(im, image_size))) for im in images])
        pred = FAMILIES["multitask"].predict(model, {"image": x, "heatmaps": False})
        j3.append(pred.joints_3d.astype(np.float64))
        j2.extend(unletterbox_joints(p, *im.shape[:2], image_size) for p, im in zip(pred.joints_2d, images))
    return np.concatenate(j3), np.stack(j2)


def evaluate_pipeline(dataset, heatmap=None, lifter=None, multitask=None, image_size: int = 96,
                      split: str = "test", pck_fraction: float = 0.05) -> dict:
    """The figures of whichever models are given (see the module docstring)."""
    from hpe_core.datasets import open_dataset

    ds = open_dataset(Path(dataset)) if isinstance(dataset, (str, Path)) else dataset
    idx = ds.split_indices(split)
    gt2 = np.asarray(ds.joints_2d[idx], dtype=np.float64)
    vis = np.asarray(ds.visible[idx], dtype=bool)
    gt3 = root_relative(ds.joints_3d[idx], ds.skeleton.root)
    out: dict[str, dict] = {}
    if heatmap is not None:
        pred2 = predicted_2d(heatmap, ds, idx, image_size, "cpu")
        out["heatmap2d"] = _errors_2d(pred2, gt2, vis, pck_fraction)
    if lifter is not None:
        out["lifter_gt_2d"] = _errors_3d(_lift(lifter, gt2), gt3)
        if heatmap is not None:
            out["lifter_heatmap_2d"] = _errors_3d(_lift(lifter, pred2), gt3)
    if multitask is not None:
        j3, j2 = _multitask(multitask, ds, idx, image_size)
        out["multitask"] = {**_errors_3d(j3, gt3), **_errors_2d(j2, gt2, vis, pck_fraction)}
    return out
