"""Training losses (torch). Nothing imports this module when ``hpe_core`` is imported.

Shapes: embeddings ``(B, D)``, poses ``(B, J, 3)`` millimetres, heatmaps ``(B, J, H, W)``.
Every loss returns a scalar tensor (the mean over the batch) and checks its inputs: a wrong
shape raises :class:`~hpe_core.errors.InputError` (a ``ValueError``) naming the argument.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hpe_core.errors import InputError
from hpe_core.geometry import procrustes


def _check(x: Tensor, name: str, ndim: int, like: Tensor | None = None, like_name: str = "") -> None:
    if not isinstance(x, Tensor):
        raise InputError(f"{name}: expected a torch tensor, got {type(x).__name__}")
    if x.ndim != ndim or x.shape[0] == 0:
        raise InputError(f"{name}: expected a non-empty {ndim}-D tensor, got shape {tuple(x.shape)}")
    if like is not None and x.shape != like.shape:
        raise InputError(f"{name}, {like_name}: shapes disagree: {tuple(x.shape)} vs {tuple(like.shape)}")


def _full(x: Tensor) -> Tensor:
    """``x`` in float32 when it is half or bfloat16 (under autocast): similarities over a small
    temperature, eigenvalues, SVD and squared-error sums need the precision."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _check_temperature(temperature) -> None:
    t = float(temperature.detach()) if isinstance(temperature, Tensor) else float(temperature)
    if not math.isfinite(t) or t <= 0:
        raise InputError(f"temperature: expected a positive number, got {temperature!r}")


# ------------------------------------------------------------------ contrastive
def nt_xent(z1: Tensor, z2: Tensor, temperature: float = 0.5) -> Tensor:
    """SimCLR's NT-Xent. ``z1``, ``z2`` ``(B, D)``: two views of B samples; row ``i`` of each is
    a positive pair, the other ``2B - 2`` embeddings are negatives. Cosine similarities over
    ``temperature``, cross-entropy averaged over all ``2B`` anchors."""
    _check(z1, "z1", 2)
    _check(z2, "z2", 2, z1, "z1")
    _check_temperature(temperature)
    z = F.normalize(_full(torch.cat([z1, z2])), dim=1)
    b = len(z1)
    logits = (z @ z.T) / temperature
    logits = logits.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(logits, target)


def simsiam_loss(p1: Tensor, p2: Tensor, z1: Tensor, z2: Tensor, stop_gradient: bool = True) -> Tensor:
    """SimSiam's symmetric negative cosine: ``D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2`` with
    ``D(p, z) = -mean cos(p, z)`` and ``sg`` the stop-gradient. ``p`` predictor outputs,
    ``z`` projector outputs, all ``(B, D)``. In [-1, 1]; -1 when aligned. ``stop_gradient=False``
    lets the gradient through ``z`` too: the paper's collapsing control (its Fig. 2)."""
    _check(p1, "p1", 2)
    for x, name in ((p2, "p2"), (z1, "z1"), (z2, "z2")):
        _check(x, name, 2, p1, "p1")
    def d(p, z):
        return -F.cosine_similarity(p, z.detach() if stop_gradient else z, dim=1).mean()
    return 0.5 * d(p1, z2) + 0.5 * d(p2, z1)


def info_nce(x_s: Tensor, x_t: Tensor, temperature, symmetric: bool = False) -> Tensor:
    """UniHPE's pairwise InfoNCE (eq. 1): ``-log exp(x_s . x_t+ / tau) / sum_i exp(x_s . x_t,i / tau)``
    over L2-normalised ``(B, D)`` embeddings of two modalities (row ``i`` of each is a pair).
    ``symmetric`` averages it with the ``t -> s`` direction (as CLIP does)."""
    _check(x_s, "x_s", 2)
    _check(x_t, "x_t", 2, x_s, "x_s")
    _check_temperature(temperature)
    logits = F.normalize(_full(x_s), dim=1) @ F.normalize(_full(x_t), dim=1).T / temperature
    target = torch.arange(len(x_s), device=x_s.device)
    loss = F.cross_entropy(logits, target)
    return 0.5 * (loss + F.cross_entropy(logits.T, target)) if symmetric else loss


class LearnableTemperature(nn.Module):
    """A temperature ``tau`` learned as ``log tau``, initialised at ``tau0`` and clamped into
    ``[tau_min, tau_max]`` before every use (UniHPE: tau0 = 1/14, tau in [1/100, 1e4])."""

    def __init__(self, tau0: float = 1 / 14, tau_min: float = 0.01, tau_max: float = 1e4):
        super().__init__()
        if not 0 < tau_min <= tau0 <= tau_max:
            raise InputError(f"temperature: need 0 < tau_min <= tau0 <= tau_max, got "
                             f"{tau_min}, {tau0}, {tau_max}")
        self.bounds = (math.log(tau_min), math.log(tau_max))
        self.log_tau = nn.Parameter(torch.tensor(math.log(tau0)))

    def forward(self) -> Tensor:
        with torch.no_grad():
            self.log_tau.clamp_(*self.bounds)
        return self.log_tau.exp()


class PairInfoNCE(nn.Module):
    """:func:`info_nce` with a :class:`LearnableTemperature`."""

    def __init__(self, tau0: float = 1 / 14, tau_min: float = 0.01, tau_max: float = 1e4,
                 symmetric: bool = False):
        super().__init__()
        self.temperature = LearnableTemperature(tau0, tau_min, tau_max)
        self.symmetric = symmetric

    def forward(self, x_s: Tensor, x_t: Tensor) -> Tensor:
        return info_nce(x_s, x_t, self.temperature(), self.symmetric)


def triplet_indices(batch: int, generator: torch.Generator | None = None) -> Tensor:
    """UniHPE Algorithm 1: ``(B, B, 3)`` long indices. Row ``b`` lists B triplets for anchor
    ``b``: triplet 0 is the positive ``(b, b, b)``; triplets 1..B-1 keep the image ``b`` and take
    the 2D and 3D embeddings from independent random permutations (negatives)."""
    if batch < 1:
        raise InputError(f"batch: expected >= 1, got {batch}")
    index = torch.empty((batch, batch, 3), dtype=torch.long)
    index[:, :, 0] = torch.arange(batch)[:, None]
    index[:, 0, :] = torch.arange(batch)[:, None]
    # index[:, i, j] = a random permutation of arange(B), for i >= 1 and j in (2D, 3D)
    perms = torch.rand((batch - 1, 2, batch), generator=generator).argsort(dim=-1)
    index[:, 1:, 1:] = perms.permute(2, 0, 1)
    return index


def svd_triplet_info_nce(x_img: Tensor, x_2d: Tensor, x_3d: Tensor, temperature,
                         index: Tensor | None = None,
                         generator: torch.Generator | None = None) -> Tensor:
    """UniHPE's singular-value triplet InfoNCE (eq. 2-3, Algorithm 2).

    ``x_img``, ``x_2d``, ``x_3d`` ``(B, D)`` are L2-normalised here. For each triplet the rows
    stack into ``M (3, D)``; the logit is the largest eigenvalue of ``M M^T`` (``= sigma_1^2``, in
    [1, 3]) over ``temperature``; cross-entropy puts the positive triplet first among B (``index``
    from :func:`triplet_indices`, drawn with ``generator`` when not given). ``M M^T`` is taken
    from the three ``B x B`` cross-modal similarity matrices, never materialising ``(B, B, 3, D)``.
    """
    _check(x_img, "x_img", 2)
    _check(x_2d, "x_2d", 2, x_img, "x_img")
    _check(x_3d, "x_3d", 2, x_img, "x_img")
    _check_temperature(temperature)
    b = len(x_img)
    index = triplet_indices(b, generator) if index is None else index
    if tuple(index.shape) != (b, b, 3):
        raise InputError(f"index: expected shape ({b}, {b}, 3), got {tuple(index.shape)}")
    xs = [F.normalize(_full(x), dim=1) for x in (x_img, x_2d, x_3d)]
    index = index.to(x_img.device)
    entries = {}
    for m in range(3):
        for n in range(m, 3):
            sim = xs[m] @ xs[n].T  # (B, B): <x_m[i], x_n[k]>
            entries[m, n] = entries[n, m] = sim[index[:, :, m], index[:, :, n]]
    gram = torch.stack([entries[m, n] for m in range(3) for n in range(3)], -1).reshape(b, b, 3, 3)
    logits = torch.linalg.eigvalsh(_full(gram))[..., -1] / temperature  # (B, B) largest eigenvalues
    return F.cross_entropy(logits, torch.zeros(b, dtype=torch.long, device=x_img.device))


class TripletInfoNCE(nn.Module):
    """:func:`svd_triplet_info_nce` with a :class:`LearnableTemperature` (UniHPE stage 2:
    tau0 = 1/5, tau in [1/10, 1e4])."""

    def __init__(self, tau0: float = 0.2, tau_min: float = 0.1, tau_max: float = 1e4):
        super().__init__()
        self.temperature = LearnableTemperature(tau0, tau_min, tau_max)

    def forward(self, x_img: Tensor, x_2d: Tensor, x_3d: Tensor,
                generator: torch.Generator | None = None) -> Tensor:
        return svd_triplet_info_nce(x_img, x_2d, x_3d, self.temperature(), generator=generator)


# ------------------------------------------------------------------------- poses
def rotation_aligned_pose_loss(pred: Tensor, gt: Tensor, root: int = 0,
                               valid: Tensor | None = None) -> Tensor:
    """Seed 000's regression loss: MSE after the best rotation about the root.

    ``pred``, ``gt`` ``(B, J, 3)``; both are centred on joint ``root`` (the model's root row may
    be zeros), ``pred`` is rotated onto ``gt`` by Kabsch/SVD with the reflection fix (a mirror
    image is never fitted), then the MSE over joints and coordinates (over ``valid`` ``(B, J)``
    joints only, when given; the root joint must be valid). The rotation is fitted under ``torch.no_grad()`` and applied as a
    constant: by the envelope theorem the gradient equals that through the optimal rotation,
    without the SVD's unstable backward when singular values (nearly) coincide.
    """
    _check(pred, "pred", 3)
    _check(gt, "gt", 3, pred, "pred")
    if pred.shape[-1] != 3:
        raise InputError(f"pred: expected (B, J, 3), got {tuple(pred.shape)}")
    if not -pred.shape[1] <= root < pred.shape[1]:
        raise InputError(f"root: joint index {root} out of range for {pred.shape[1]} joints")
    pred = _full(pred)
    w = torch.ones(pred.shape[:2], dtype=pred.dtype, device=pred.device) if valid is None \
        else _valid_weights(valid, pred)
    p = pred - pred[:, root:root + 1]
    g = gt.to(pred.dtype) - gt[:, root:root + 1].to(pred.dtype)
    g = torch.where(w[..., None] > 0, g, torch.zeros_like(g))  # missing joints may be NaN
    with torch.no_grad():
        _, R, _, _ = procrustes(p.detach(), g, "rotation", weights=w, return_transform=True)
    sq = ((p @ R.transpose(1, 2).to(p.dtype) - g) ** 2) * w[..., None]  # R (B, 3, 3): R p ~ g
    return sq.sum() / (3 * w.sum()).clamp_min(1)


def _valid_weights(valid: Tensor, pred: Tensor) -> Tensor:
    valid = torch.as_tensor(valid, device=pred.device)
    if tuple(valid.shape) != tuple(pred.shape[:2]):
        raise InputError(f"valid: expected shape {tuple(pred.shape[:2])}, got {tuple(valid.shape)}")
    return valid.to(pred.dtype)


def heatmap_mse(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """MSE of heatmaps ``(B, J, H, W)``; ``weight`` ``(B, J)`` scales each joint's map (0 drops
    a missing joint, as SimpleBaseline's target weights do). Mean over all elements."""
    _check(pred, "pred", 4)
    _check(target, "target", 4, pred, "pred")
    sq = (pred - target) ** 2
    if weight is not None:
        if tuple(weight.shape) != tuple(pred.shape[:2]):
            raise InputError(f"weight: expected shape {tuple(pred.shape[:2])}, got {tuple(weight.shape)}")
        sq = sq * weight.to(pred.dtype)[:, :, None, None] ** 2
    return sq.mean()


def vae_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL divergence ``KL(N(mu, exp(logvar)) || N(0, I))`` of a VAE's latent ``(B, Z)``: summed
    over the Z dimensions, averaged over the batch: ``-1/2 sum(1 + logvar - mu^2 - exp(logvar))``."""
    _check(mu, "mu", 2)
    _check(logvar, "logvar", 2, mu, "mu")
    return (-0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)).mean()
