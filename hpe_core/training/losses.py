"""The training objectives of the seed experiments, and the pose errors reported per epoch.

- :func:`nt_xent`: SimCLR's normalised-temperature cross entropy over ``2N`` views;
- :func:`simsiam_loss`: SimSiam's symmetric negative cosine with stop-gradient;
- :func:`rotation_aligned_mse`: seed 000's loss: the prediction is rotated onto the ground
  truth by Kabsch (SVD, reflection fix) about the root, then the squared error is averaged;
- :func:`pose_errors`: MPJPE, PA-MPJPE and the seed's mean distance, summed over a batch.

Poses are ``(N, J, 3)`` in mm, root-relative (root row zero); ``visible`` is ``(N, J)`` bool.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hpe_core.errors import InputError
from hpe_core.geometry import procrustes


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent of two views ``(N, D)``: view ``i`` of ``z1`` is positive with view ``i`` of ``z2``
    and negative with the other ``2N - 2`` embeddings. Mean over the ``2N`` anchors."""
    if z1.shape != z2.shape or z1.ndim != 2 or z1.shape[0] < 2:
        raise InputError(f"nt_xent: expected two (N, D) tensors with N >= 2, got {tuple(z1.shape)} "
                         f"and {tuple(z2.shape)}")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)


def simsiam_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """``D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2`` with ``D = -cos``; all ``(N, D)``. In ``[-1, 1]``."""
    def d(p, z):
        return -F.cosine_similarity(p.float(), z.detach().float(), dim=1).mean()

    return 0.5 * d(p1, z2) + 0.5 * d(p2, z1)


def rotation_aligned_mse(pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor | None = None,
                         unit_mm: float = 100.0) -> torch.Tensor:
    """Mean squared error (in ``unit_mm`` units) after rotating ``pred`` onto ``target``.

    ``pred``, ``target``: ``(N, J, 3)`` root-relative. The best rotation about the root is found
    by Kabsch on the visible joints; it is held fixed for the gradient, which is exact: the loss
    is the minimum over rotations, so by the envelope theorem its gradient is the partial one at
    the minimiser (and this avoids the unstable SVD backward of degenerate poses).
    """
    mask = _mask(pred, target, visible)
    _, rot, _, _ = procrustes(pred.detach(), target.detach(), mode="rotation", weights=mask,
                              return_transform=True)
    aligned = pred @ rot.transpose(1, 2).to(pred.dtype)
    return masked_mse(aligned, target, mask, unit_mm)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, unit_mm: float = 100.0):
    """Mean over visible joints and the 3 coordinates of the squared error in ``unit_mm`` units."""
    diff = (pred - torch.nan_to_num(target)) / unit_mm
    sq = (diff ** 2).sum(dim=-1) * mask
    return sq.sum() / (3.0 * mask.sum().clamp_min(1.0))


def _mask(pred, target, visible):
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise InputError(f"pose loss: expected two (N, J, 3) tensors, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")
    finite = torch.isfinite(target).all(dim=-1)
    mask = finite if visible is None else finite & visible.bool()
    return mask.to(pred.dtype)


@torch.no_grad()
def pose_errors(pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor | None = None) -> dict:
    """Sums over the batch of per-pose errors in mm, and the pose count ``n``.

    - ``mpjpe``: mean joint distance, both root-relative, no alignment;
    - ``pa_mpjpe``: after the best similarity transform (Procrustes, Protocol #2);
    - ``mean_distance``: after the best rotation about the root (the seed's accuracy measure).
    """
    mask = _mask(pred, target, visible).double()
    pred, target = pred.double(), torch.nan_to_num(target.double())
    count = mask.sum(dim=1).clamp_min(1.0)

    def mean_dist(p):
        return ((p - target).norm(dim=-1) * mask).sum(dim=1) / count

    rot = procrustes(pred, target, mode="rotation", weights=mask)
    sim = procrustes(pred, target, mode="similarity", weights=mask)
    return {"mpjpe": float(mean_dist(pred).sum()), "pa_mpjpe": float(mean_dist(sim).sum()),
            "mean_distance": float(mean_dist(rot).sum()), "n": int(pred.shape[0])}
