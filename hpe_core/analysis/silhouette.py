"""Silhouette coefficient, exactly scikit-learn's definition (Euclidean), computed in blocks.

For sample ``i`` in cluster ``C``: ``a(i)`` is the mean distance to the other members of ``C``,
``b(i)`` the smallest mean distance to the members of another cluster, and
``s(i) = (b - a) / max(a, b)``; a sample alone in its cluster has ``s(i) = 0`` (Rousseeuw's rule,
as in ``sklearn.metrics.silhouette_samples``). The score is the mean of ``s``.

The work is ``N x N`` distances, done in square blocks with torch so memory stays at a few blocks
whatever ``N`` is, and only the upper triangle of block pairs is computed (distances are symmetric)
while the (N, K) table of per-cluster sums stays small; with very many labels (N x K above
``DENSE_LIMIT``) rows are done block by block instead, keeping a (rows, K) table.
Distances use the expansion ``|x|^2 + |y|^2 - 2 x.y`` on globally centred data in float32; the
within-cluster sums, whose distances are small next to the norms, are computed again on data
centred on each cluster's own mean, so ``a(i)`` does not lose digits to cancellation.
"""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

DEFAULT_BLOCK = 2048
DENSE_LIMIT = 25_000_000  # N x K above this: row blocks (2x the work, memory B x K) instead of (N, K) sums


def check_features_labels(features, labels, what: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Validate (N, D) features and (N,) labels; return them as numpy arrays."""
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InputError(f"{what}: expected a non-empty (N, D) array, got shape {tuple(x.shape)}")
    if not np.issubdtype(x.dtype, np.number):
        raise InputError(f"{what}: expected numbers, got dtype {x.dtype}")
    y = np.asarray(labels).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise InputError(f"labels: {y.shape[0]} labels for {x.shape[0]} samples of {what}")
    return x, y


def silhouette(features, labels, device="cpu", block: int = DEFAULT_BLOCK,
               progress: ProgressSink | None = None) -> tuple[float, np.ndarray]:
    """Silhouette of ``labels`` over ``features``.

    features: (N, D) numbers (float16 memory maps are read block by block, not copied as float64);
    labels: (N,) any hashable values. Returns ``(score, per_sample)`` with per_sample (N,) float64.
    Needs 2 <= number of labels <= N - 1 (else InputError, as sklearn refuses it).
    """
    s = silhouette_samples(features, labels, device=device, block=block, progress=progress)
    return float(s.mean()), s


def silhouette_score(features, labels, **kwargs) -> float:
    """The mean silhouette; see :func:`silhouette`."""
    return silhouette(features, labels, **kwargs)[0]


def silhouette_samples(features, labels, device="cpu", block: int = DEFAULT_BLOCK,
                       progress: ProgressSink | None = None) -> np.ndarray:
    """Per-sample silhouette values (N,) float64; see :func:`silhouette`."""
    import torch

    progress = progress or NullProgress()
    x, y = check_features_labels(features, labels)
    if not np.all(np.isfinite(x[: min(len(x), 100000)])):
        raise InputError("features: contain NaN or infinite values")
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    n, k = len(codes), len(counts)
    if not 2 <= k <= n - 1:
        raise InputError(f"silhouette needs between 2 and N - 1 = {n - 1} distinct labels, got {k}")
    order = np.argsort(codes, kind="stable")
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    xs = torch.as_tensor(np.ascontiguousarray(x[order]), dtype=torch.float32).to(dev)
    xs -= xs.mean(0, keepdim=True)
    cs = torch.as_tensor(codes[order], dtype=torch.int64, device=dev)
    starts = np.concatenate([[0], np.cumsum(counts)])
    within = torch.zeros(n, dtype=torch.float64, device=dev)
    for c in range(k):                                          # exact within-cluster sums
        lo, hi = int(starts[c]), int(starts[c + 1])
        within[lo:hi] = _within_sums(xs[lo:hi], block)
    sizes = torch.as_tensor(counts, dtype=torch.float64, device=dev)
    if n * k <= DENSE_LIMIT:
        result = _finish(_cluster_sums(xs, cs, k, block, progress), within, cs, sizes)
    else:
        result = _by_row_blocks(xs, cs, k, within, sizes, block, progress)
    out = np.empty(n, dtype=np.float64)
    out[order] = result.cpu().numpy()
    progress.set_progress(1.0)
    return out


def _sq_dists(a, b, na, nb):
    """(A, B) squared distances from rows ``a`` (A, D) and ``b`` (B, D) with squared norms."""
    import torch

    d2 = torch.addmm(na[:, None] + nb[None, :], a, b.T, beta=1.0, alpha=-2.0)
    return d2.clamp_min_(0.0)


def _cluster_sums(xs, cs, k: int, block: int, progress: ProgressSink):
    """(N, K) float64: for each sample the sum of its distances to every member of each cluster.

    Block pairs that lie inside a single cluster are skipped: :func:`_within_sums` does them.
    """
    import torch

    n = xs.shape[0]
    norms = (xs * xs).sum(1)
    onehot = torch.nn.functional.one_hot(cs, k).to(xs.dtype)
    sums = torch.zeros(n, k, dtype=torch.float64, device=xs.device)
    edges = list(range(0, n, block)) + [n]
    first, last = cs[edges[:-1]].tolist(), cs[[e - 1 for e in edges[1:]]].tolist()
    pairs = [(i, j) for i in range(len(edges) - 1) for j in range(i, len(edges) - 1)
             if not (first[i] == last[i] == first[j] == last[j])]
    for step, (i, j) in enumerate(pairs):
        check_cancelled(progress)
        a0, a1, b0, b1 = edges[i], edges[i + 1], edges[j], edges[j + 1]
        d = _sq_dists(xs[a0:a1], xs[b0:b1], norms[a0:a1], norms[b0:b1]).sqrt_()
        if i == j:
            d.fill_diagonal_(0.0)
        sums[a0:a1] += torch.mm(d, onehot[b0:b1])
        if i != j:
            sums[b0:b1] += torch.mm(onehot[a0:a1].T, d).T
        progress.set_progress(0.9 * (step + 1) / max(len(pairs), 1))
    return sums


def _within_sums(xc, block: int):
    """(n_c,) sums of distances inside one cluster, on data centred on that cluster."""
    import torch

    xc = xc - xc.mean(0, keepdim=True)
    norms = (xc * xc).sum(1)
    n = xc.shape[0]
    out = torch.zeros(n, dtype=torch.float64, device=xc.device)
    for a0 in range(0, n, block):
        a1 = min(a0 + block, n)
        for b0 in range(0, n, block):
            b1 = min(b0 + block, n)
            d = _sq_dists(xc[a0:a1], xc[b0:b1], norms[a0:a1], norms[b0:b1]).sqrt_()
            if a0 == b0:
                d.fill_diagonal_(0.0)
            out[a0:a1] += d.sum(1, dtype=torch.float64)
    return out


def _finish(sums, within, cs, counts):
    """Per-sample silhouette (R,) from (R, K) distance sums to each cluster, (R,) sums within the
    own cluster, codes (R,) and cluster sizes (K,)."""
    import torch

    own = counts[cs]
    a = within / (own - 1).clamp_min(1)
    means = sums.double() / counts[None, :]
    means.scatter_(1, cs[:, None], float("inf"))
    b = means.min(1).values
    s = (b - a) / torch.maximum(a, b)
    s = torch.nan_to_num(s, nan=0.0)
    return torch.where(own > 1, s, torch.zeros_like(s))


def _by_row_blocks(xs, cs, k: int, within, counts, block: int, progress: ProgressSink):
    """Per-sample silhouette (N,) a block of rows at a time, for very many clusters."""
    import torch

    n = xs.shape[0]
    norms = (xs * xs).sum(1)
    rows = int(max(64, min(block, DENSE_LIMIT // max(k, 1))))
    out = torch.empty(n, dtype=torch.float64, device=xs.device)
    for a0 in range(0, n, rows):
        check_cancelled(progress)
        a1 = min(a0 + rows, n)
        sums = torch.zeros(a1 - a0, k, dtype=torch.float32, device=xs.device)
        for b0 in range(0, n, block):
            b1 = min(b0 + block, n)
            d = _sq_dists(xs[a0:a1], xs[b0:b1], norms[a0:a1], norms[b0:b1]).sqrt_()
            sums.index_add_(1, cs[b0:b1], d)
        out[a0:a1] = _finish(sums, within[a0:a1], cs[a0:a1], counts)
        progress.set_progress(0.9 * a1 / n)
    return out
