"""What seed 001's three tasks share: 2D from a heatmap checkpoint, lifter statistics, errors.

2D joints travel in the pixels of the dataset's own images (``dataset.joints_2d``); a heatmap
network sees letterboxed S x S inputs; :func:`hpe_core.inference.predict` maps its 2D back.
"""

from __future__ import annotations

import numpy as np
import torch

from hpe_core.errors import CheckpointError, InputError


def load_heatmap_checkpoint(path: str, skeleton, what: str = "pipeline.heatmap"):
    """A heatmap2d checkpoint whose joints are ``skeleton``'s; CheckpointError otherwise."""
    from hpe_core.models.checkpoint import load_checkpoint

    model, info = load_checkpoint(path, device="cpu")
    if model.family != "heatmap2d":
        raise CheckpointError(f"{what} {path}: a {model.family!r} checkpoint, but this needs a heatmap2d one")
    if model.num_joints != skeleton.num_joints:
        raise CheckpointError(f"{what} {path}: predicts {model.num_joints} joints, the dataset has "
                              f"{skeleton.num_joints} ({skeleton.name})")
    return model, info


def predicted_2d(model, dataset, indices: np.ndarray, image_size: int, device, batch_size: int = 64,
                 progress=None) -> np.ndarray:
    """(len(indices), J, 2) px of the dataset's images: ``model``'s 2D through the one
    :func:`~hpe_core.inference.predict`. An unreadable image gives NaN joints."""
    from hpe_core.inference import Predictor, predict

    indices = np.asarray(indices, np.int64)
    rows = np.unique(indices)
    table = np.full((len(rows), model.num_joints, 2), np.nan)
    predictor = Predictor(model, device, image_size=image_size, batch_size=batch_size)
    for batch in predict(predictor, dataset, rows, progress=progress):
        if batch.prediction is not None:
            table[np.searchsorted(rows, batch.indices)] = batch.prediction.joints_2d
    return table[np.searchsorted(rows, indices)]


def lifter_stats(joints_2d: np.ndarray, joints_3d_rel: np.ndarray, input_joints, output_joints):
    """Per-coordinate (mean_2d, std_2d, mean_3d, std_3d) over the finite rows (Martinez's normalisation)."""
    x = joints_2d[:, input_joints].reshape(len(joints_2d), -1)
    y = joints_3d_rel[:, output_joints].reshape(len(joints_3d_rel), -1)
    ok = np.isfinite(x).all(1) & np.isfinite(y).all(1)
    if ok.sum() < 2:
        raise InputError("the training split has fewer than 2 samples with every 2D and 3D joint present")
    return x[ok].mean(0), x[ok].std(0), y[ok].mean(0), y[ok].std(0)


def root_relative(joints_3d: np.ndarray, root: int) -> np.ndarray:
    j = np.asarray(joints_3d, dtype=np.float64)
    return j - j[:, root:root + 1]


def loss_3d(pred_norm: torch.Tensor, target_norm: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """L2 (mean squared) or L1 (mean absolute) difference of normalised 3D poses."""
    diff = pred_norm.float() - target_norm.float()
    return (diff ** 2).mean() if kind == "l2" else diff.abs().mean()


def pose2d_sums(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, fraction: float) -> dict[str, float]:
    """Sums over joints of the 2D end-point error (px) and of PCK hits at ``fraction`` of the box size."""
    from hpe_core.metrics import bbox_sizes

    v = visible.astype(bool) & np.isfinite(gt).all(-1) & np.isfinite(pred).all(-1)
    rows = v.any(1)
    if not rows.any():
        return {"epe": 0.0, "pck": 0.0, "joints_2d": 0.0}
    p, g, v = pred[rows], gt[rows], v[rows]
    err = np.linalg.norm(p - g, axis=-1)
    box = bbox_sizes(g, v)[:, None]
    return {"epe": float(err[v].sum()), "pck": float((err <= fraction * box)[v].sum()), "joints_2d": float(v.sum())}


def check_models_path(path: str | None, what: str) -> None:
    from pathlib import Path

    if path and not Path(path).expanduser().is_file():
        raise InputError(f"{what} {path}: no such file")
