"""The objectives and per-epoch pose errors of the training tasks.

The losses themselves live in :mod:`hpe_core.losses` (NT-Xent, SimSiam, seed 000's
rotation-aligned pose loss); the metrics in :mod:`hpe_core.metrics`. Here they are put in the
units and the form the loop needs: the pose loss in ``unit_mm`` units (decimetres by default,
so the numbers stay near 1), and errors as sums that add up over batches and ranks.

Poses are ``(N, J, 3)`` in mm, root-relative (root row zero); ``visible`` is ``(N, J)`` bool.
"""

from __future__ import annotations

import numpy as np
import torch

from hpe_core.losses import nt_xent, rotation_aligned_pose_loss, simsiam_loss

__all__ = ["nt_xent", "simsiam_loss", "pose_loss", "pose_error_sums", "ERRORS"]

#: reported name -> alignment of :func:`hpe_core.metrics.pjpe` (poses are already root-relative)
ERRORS = {"mpjpe": "none", "pa_mpjpe": "similarity", "mean_distance": "rotation"}


def pose_loss(pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor, kind: str = "rotation_mse",
              unit_mm: float = 100.0, root: int = 0) -> torch.Tensor:
    """``rotation_mse`` (seed 000: MSE after the best rotation about the root) or plain ``mse``,
    over the visible, finite joints, in ``unit_mm`` units squared."""
    valid = visible.bool() & torch.isfinite(target).all(dim=-1)
    if not bool(torch.isfinite(pred).all()):  # the SVD would fail; the loop stops on a NaN loss
        return pred.float().sum() * float("nan")
    pred = pred.float() / unit_mm
    target = torch.nan_to_num(target.float()) / unit_mm
    if kind == "rotation_mse":
        return rotation_aligned_pose_loss(pred, target, root=root, valid=valid)
    w = valid.to(pred.dtype)[..., None]
    return (((pred - target) ** 2) * w).sum() / (3 * w.sum()).clamp_min(1)


def pose_error_sums(pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor) -> dict[str, float]:
    """Sums of per-joint errors (mm) for each of :data:`ERRORS`, and ``joints``, the count of
    evaluated joints: dividing gives the pooled means of :mod:`hpe_core.metrics`."""
    from hpe_core.metrics import pjpe

    p = pred.detach().double().cpu().numpy()
    g = target.detach().double().cpu().numpy()
    v = visible.detach().cpu().numpy().astype(bool) & np.isfinite(g).all(axis=-1) & np.isfinite(p).all(axis=-1)
    rows = v.any(axis=1)  # hpe_core.metrics refuses poses with nothing to evaluate
    out: dict[str, float] = {"joints": float(v.sum())}
    for name, align in ERRORS.items():
        out[name] = float(np.nansum(pjpe(p[rows], g[rows], v[rows], align=align))) if rows.any() else 0.0
    return out
