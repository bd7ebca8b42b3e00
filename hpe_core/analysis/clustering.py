"""k-means (Lloyd's algorithm with greedy k-means++ seeding), in torch, blocked over samples.

The same algorithm as ``sklearn.cluster.KMeans(init="k-means++", algorithm="lloyd")``: seeding
picks each new centre among ``2 + log(k)`` candidates drawn with probability proportional to the
squared distance to the nearest chosen centre, keeping the candidate that lowers the potential
most; Lloyd iterations stop when the centres move less than ``tol`` times the mean feature
variance. The best of ``n_init`` runs (lowest inertia) is kept. Runs on any torch device. Above
:data:`FIT_SAMPLE` rows the centres are fitted on a seeded sample of that many and every row goes
to its nearest centre (:func:`assign`, a block at a time), so memory stays bounded at a million.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

_BLOCK = 16384
FIT_SAMPLE = 200_000  # rows the centres are fitted on above this many (1 M x 512 would be 2 GB of float32)


@dataclass(frozen=True)
class KMeansResult:
    labels: np.ndarray    # (N,) int64 in 0..k-1
    centers: np.ndarray   # (k, D) float32
    inertia: float        # sum of squared distances to the assigned centre
    n_iter: int           # Lloyd iterations of the kept run
    fitted_on: int = 0    # rows the centres were fitted on (a seeded sample above FIT_SAMPLE; else all)


def kmeans(features, k: int, seed: int = 0, n_init: int = 3, max_iter: int = 300, tol: float = 1e-4,
           device="cpu", progress: ProgressSink | None = None) -> KMeansResult:
    """Cluster (N, D) ``features`` into ``k`` groups; see the module docstring."""
    import torch

    progress = progress or NullProgress()
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InputError(f"features: expected a non-empty (N, D) array, got shape {tuple(x.shape)}")
    k = int(k)
    if k < 1:
        raise InputError(f"clusters: need at least 1 cluster, got {k}")
    if x.shape[0] < k:
        raise InputError(f"clusters: {k} clusters asked for but there are only {x.shape[0]} samples")
    if x.shape[0] > FIT_SAMPLE:  # centres from a seeded sample, every row assigned a block at a time
        rows = np.sort(np.random.default_rng(seed).choice(x.shape[0], FIT_SAMPLE, replace=False))
        fit = kmeans(x[rows], k, seed, n_init, max_iter, tol, device, progress)
        labels, inertia = assign(x, fit.centers, device)
        return KMeansResult(labels, fit.centers, inertia, fit.n_iter, FIT_SAMPLE)
    xt = torch.from_numpy(writable_float32(x)).to(torch.device(device))
    xt = xt - xt.mean(0, keepdim=True)  # centring changes no distance and helps float32
    norms = (xt * xt).sum(1)
    threshold = tol * float(xt.var(0).mean()) if x.shape[0] > 1 else 0.0
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    best = None
    for run in range(max(1, int(n_init))):
        check_cancelled(progress)
        centers = _kmeans_pp(xt, norms, k, gen)
        labels, centers, inertia, n_iter = _lloyd(xt, norms, centers, max_iter, threshold, progress)
        if best is None or inertia < best[2]:
            best = (labels, centers, inertia, n_iter)
        progress.set_progress((run + 1) / max(1, int(n_init)))
    labels, centers, inertia, n_iter = best
    mean = torch.as_tensor(x.mean(0, dtype=np.float64), dtype=torch.float32)
    return KMeansResult(labels.cpu().numpy().astype(np.int64), (centers.cpu() + mean).numpy(),
                        float(inertia), int(n_iter), int(x.shape[0]))


def assign(features, centers: np.ndarray, device="cpu") -> tuple[np.ndarray, float]:
    """``(labels (N,) of the nearest centre, inertia)`` for (N, D) ``features`` (a memory map is
    read a block at a time, never copied whole) and (k, D) ``centers``."""
    import torch

    dev = torch.device(device)
    c = torch.as_tensor(np.asarray(centers, np.float64), device=dev)
    labels = np.empty(features.shape[0], np.int64)
    inertia = 0.0
    for a in range(0, features.shape[0], _BLOCK):
        block = torch.as_tensor(np.asarray(features[a:a + _BLOCK], np.float64), device=dev)
        d2 = torch.cdist(block, c).square_()  # float64: exact enough to break no tie float32 would keep
        best = d2.min(1)
        labels[a:a + len(block)] = best.indices.cpu().numpy()
        inertia += float(best.values.sum())
    return labels, inertia


def writable_float32(x) -> np.ndarray:
    """A float32 C-contiguous writable array of ``x`` (copied when ``x`` is a read-only memory map)."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    return a if a.flags.writeable else a.copy()


def _sq_dist_to(xt, norms, centers):
    """(N, k) squared distances from every sample to every centre, in blocks."""
    import torch

    cn = (centers * centers).sum(1)
    out = torch.empty(xt.shape[0], centers.shape[0], dtype=xt.dtype, device=xt.device)
    for a in range(0, xt.shape[0], _BLOCK):
        b = min(a + _BLOCK, xt.shape[0])
        out[a:b] = torch.addmm(norms[a:b, None] + cn[None, :], xt[a:b], centers.T, alpha=-2.0)
    return out.clamp_min_(0.0)


def _kmeans_pp(xt, norms, k: int, gen):
    """(k, D) initial centres by greedy k-means++."""
    import torch

    n = xt.shape[0]
    trials = 2 + int(math.log(k))
    first = int(torch.randint(n, (1,), generator=gen))
    centers = [xt[first]]
    closest = _sq_dist_to(xt, norms, xt[first:first + 1])[:, 0]
    for _ in range(1, k):
        total = float(closest.sum())
        if total <= 0.0:  # every point sits on a centre: any unused point will do
            cand = torch.randint(n, (trials,), generator=gen)
        else:
            cand = torch.multinomial(closest.double().cpu() / total, trials, replacement=True, generator=gen)
        cand = cand.to(xt.device)
        d = _sq_dist_to(xt, norms, xt[cand])                       # (N, trials)
        pots = torch.minimum(d, closest[:, None]).sum(0)
        best = int(pots.argmin())
        centers.append(xt[cand[best]])
        closest = torch.minimum(closest, d[:, best])
    return torch.stack(centers)


def _lloyd(xt, norms, centers, max_iter: int, threshold: float, progress: ProgressSink):
    import torch

    k = centers.shape[0]
    labels = None
    for it in range(1, max_iter + 1):
        check_cancelled(progress)
        d = _sq_dist_to(xt, norms, centers)
        labels = d.argmin(1)
        counts = torch.bincount(labels, minlength=k).to(xt.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, xt)
        empty = counts == 0
        new = sums / counts.clamp_min(1)[:, None]
        if bool(empty.any()):  # an empty cluster takes the point farthest from its centre
            far = d.gather(1, labels[:, None])[:, 0].topk(int(empty.sum())).indices
            new[empty] = xt[far]
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if shift <= threshold:
            break
    d = _sq_dist_to(xt, norms, centers)
    best = d.min(1)
    return best.indices, centers, float(best.values.double().sum()), it
