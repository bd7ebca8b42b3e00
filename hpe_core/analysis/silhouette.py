"""Silhouette coefficient, exactly scikit-learn's definition (Euclidean), computed in blocks.

For sample ``i`` in cluster ``C``: ``a(i)`` is the mean distance to the other members of ``C``,
``b(i)`` the smallest mean distance to the members of another cluster, and
``s(i) = (b - a) / max(a, b)``; a sample alone in its cluster has ``s(i) = 0`` (Rousseeuw's rule,
as in ``sklearn.metrics.silhouette_samples``). The score is the mean of ``s``.

The work is ``N x N`` distances, i.e. one float32 matrix product over the upper triangle of the
distance matrix, done in square blocks with torch so memory stays at a few blocks whatever ``N``
is (CPU or CUDA). Samples are sorted by cluster and the blocks follow the cluster boundaries (a
large cluster is cut into blocks, small neighbouring clusters share one), so a block pair between
two single-cluster blocks adds its row and column sums (two matrix-vector products) to one entry
each of the (N, K) table of per-cluster sums, and pairs inside one cluster are done once, for the
within-cluster sums, on data centred on that cluster's mean, so ``a(i)`` does not lose digits to
cancellation. Squared distances come straight out of the product: the rows are augmented to
``[-2x, 1, |x|^2]`` and ``[y, |y|^2, 1]``, so no (B, B) pass is needed before the square root.
On the CPU a block pair is computed a strip of rows at a time (about 1 MB of distances), so the
square root and the sums read the strip from cache rather than a block's matrix from memory, and
a piece paired with itself is a triangle of strips (each strip against the columns from its own
first row on), so it costs half its square.
With very many labels (N x K above ``DENSE_LIMIT``) rows are done block by block instead, keeping
a (rows, K) table.
"""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

DEFAULT_BLOCK = 2048
STRIP_FLOATS = 1 << 18  # distances computed at once (1 MB): a strip of a block pair, kept in cache
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
    codes = codes.reshape(-1)
    n, k = len(codes), len(counts)
    if not 2 <= k <= n - 1:
        raise InputError(f"silhouette needs between 2 and N - 1 = {n - 1} distinct labels, got {k}")
    order = np.argsort(codes, kind="stable")
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    d = x.shape[1]
    rows = _augmented(_sorted_centred(x, order, dev))
    cs = torch.as_tensor(codes[order], dtype=torch.int64, device=dev)
    sizes = torch.as_tensor(counts, dtype=torch.float64, device=dev)
    dense = n * k <= DENSE_LIMIT
    plan = _Plan(starts, block, None if dense else int(max(64, min(block, DENSE_LIMIT // k))), progress)
    within = _within_sums(rows, d, starts, plan)
    if dense:
        result = _finish(_cluster_sums(rows, d, cs, k, plan), within, cs, sizes)
    else:
        result = _by_row_blocks(rows, d, cs, k, within, sizes, plan)
    out = np.empty(n, dtype=np.float64)
    out[order] = result.cpu().numpy()
    progress.set_progress(1.0)
    return out


def _sorted_centred(x: np.ndarray, order: np.ndarray, dev):
    """(N, D) float32 on ``dev``: the rows of ``x`` in ``order`` minus their mean, converted a
    block at a time (a float16 memory map is never copied whole as another dtype)."""
    import torch

    n, d = x.shape
    out = torch.empty(n, d, dtype=torch.float32, device=dev)
    step = 65536
    for a in range(0, n, step):
        out[a:a + step] = torch.as_tensor(np.asarray(x[order[a:a + step]], dtype=np.float32), device=dev)
    out -= out.mean(0, keepdim=True)
    return out


def _augmented(xs):
    """(N, D') rows ``[x, |x|^2, 1, 0...]`` of (N, D) ``xs`` (D' = D + 2 rounded up to a multiple
    of 8), so that ``_left(rows, D) @ rows.T`` is the matrix of squared distances."""
    import torch

    n, d = xs.shape
    out = torch.zeros(n, (d + 2 + 7) // 8 * 8, dtype=xs.dtype, device=xs.device)
    out[:, :d] = xs
    out[:, d] = (xs * xs).sum(1)
    out[:, d + 1] = 1.0
    return out


def _left(rows, d: int):
    """``[-2x, 1, |x|^2, 0...]`` of augmented ``rows``: the left factor of the squared distances."""
    out = rows.clone()
    out[:, :d] *= -2.0
    out[:, d] = 1.0
    out[:, d + 1] = rows[:, d]
    return out


def _distances(left, right, diagonal: bool = False):
    """(A, B) Euclidean distances from a left factor (A, D') and augmented rows (B, D')."""
    import torch

    dist = torch.mm(left, right.T).clamp_min_(0.0).sqrt_()
    if diagonal:
        dist.fill_diagonal_(0.0)
    return dist


def _strips(left, right, triangle: bool = False):
    """``(offset, dist)`` for strips of rows of the (A, B) distances between a left factor and
    augmented rows: each strip's square root and sums run while it is still in cache (a whole
    block's matrix is several MB: it would make every pass after the product a trip to memory).
    ``triangle`` (``left`` and ``right`` the same rows): strip ``[s, e)`` holds only the columns
    from ``s`` on, zero on its diagonal, so the block costs half. ``dist`` is reused: use it
    before asking for the next strip."""
    import torch

    a, b = left.shape[0], right.shape[0]
    rows = int(min(max(STRIP_FLOATS // max(b, 1), 32), a)) if left.device.type == "cpu" else a  # a GPU: one go
    buf = torch.empty(rows * b, dtype=left.dtype, device=left.device)
    for s in range(0, a, rows):
        e = min(s + rows, a)
        cols = right[s:] if triangle else right
        dist = torch.mm(left[s:e], cols.T, out=buf[:(e - s) * cols.shape[0]].view(e - s, cols.shape[0]))
        dist.clamp_min_(0.0).sqrt_()
        if triangle:
            dist.diagonal().zero_()
        yield s, dist


class _Plan:
    """Blocks that follow the cluster boundaries, and progress over all the block pairs."""

    def __init__(self, starts: np.ndarray, block: int, row_block: int | None, progress: ProgressSink) -> None:
        """``row_block``: rows per step of the row-block path (None: the (N, K) table path)."""
        self.progress, block = progress, max(1, int(block))
        self.pieces: list[tuple[int, int, int]] = []  # (lo, hi, cluster): clusters cut into <= block rows
        for c in range(len(starts) - 1):
            lo, hi = int(starts[c]), int(starts[c + 1])
            edges = np.linspace(lo, hi, -(-(hi - lo) // block) + 1).round().astype(np.int64)
            self.pieces += [(int(a), int(b), c) for a, b in zip(edges[:-1], edges[1:])]
        self.blocks: list[tuple[int, int, int, int]] = []  # (lo, hi, first, last cluster), <= block rows
        for lo, hi, c in self.pieces:
            if self.blocks and hi - self.blocks[-1][0] <= block:
                self.blocks[-1] = (self.blocks[-1][0], hi, self.blocks[-1][2], c)
            else:
                self.blocks.append((lo, hi, c, c))
        self.by_cluster: list[list[tuple[int, int]]] = [[] for _ in range(len(starts) - 1)]
        for lo, hi, c in self.pieces:
            self.by_cluster[c].append((lo, hi))
        within = sum(len(p) * (len(p) + 1) // 2 for p in self.by_cluster)
        nb, n = len(self.blocks), int(starts[-1])
        self.row_block = row_block
        cross = nb * (nb + 1) // 2 if row_block is None else -(-n // row_block) * nb
        self.total, self.done = max(within + cross, 1), 0

    def step(self) -> None:
        self.done += 1
        self.progress.set_progress(0.95 * self.done / self.total)
        check_cancelled(self.progress)


def _within_sums(rows, d: int, starts: np.ndarray, plan: _Plan):
    """(N,) float64 sums of distances inside each cluster, on data centred on that cluster's mean;
    each pair of the cluster's pieces once and each piece with itself as a triangle of strips."""
    import torch

    out = torch.zeros(rows.shape[0], dtype=torch.float64, device=rows.device)
    ones = torch.ones(max(hi - lo for lo, hi, _ in plan.pieces), dtype=rows.dtype, device=rows.device)
    for c, pieces in enumerate(plan.by_cluster):
        lo = int(starts[c])
        xc = rows[lo:int(starts[c + 1]), :d]
        right = _augmented(xc - xc.mean(0, keepdim=True))
        for p, (a0, a1) in enumerate(pieces):
            left = _left(right[a0 - lo:a1 - lo], d)
            for b0, b1 in pieces[p:]:
                if b0 == a0:  # the piece with itself: rows [s, e) against columns s.., once
                    for s, dist in _strips(left, right[a0 - lo:a1 - lo], triangle=True):
                        e = a0 + s + dist.shape[0]
                        out[a0 + s:e] += torch.mv(dist, ones[:dist.shape[1]])
                        out[e:a1] += torch.mv(dist[:, e - a0 - s:].T, ones[:dist.shape[0]])
                else:
                    for s, dist in _strips(left, right[b0 - lo:b1 - lo]):
                        out[a0 + s:a0 + s + dist.shape[0]] += torch.mv(dist, ones[:b1 - b0])
                        out[b0:b1] += torch.mv(dist.T, ones[:dist.shape[0]])
                plan.step()
    return out


def _cluster_sums(rows, d: int, cs, k: int, plan: _Plan):
    """(N, K) float64: for each sample the sum of its distances to every member of each cluster
    but its own (whose entries are left out or ignored: :func:`_within_sums` does them)."""
    import torch

    n = rows.shape[0]
    sums = torch.zeros(n, k, dtype=torch.float64, device=rows.device)
    ones = torch.ones(max(hi - lo for lo, hi, _, _ in plan.blocks), dtype=rows.dtype, device=rows.device)
    onehot = None
    blocks = plan.blocks
    for i, (a0, a1, fa, la) in enumerate(blocks):
        left = _left(rows[a0:a1], d)
        for b0, b1, fb, lb in blocks[i:]:
            if fa == la == fb == lb:  # inside one cluster
                plan.step()
                continue
            if (fb != lb or (fa != la and b0 != a0)) and onehot is None:
                onehot = _onehot(cs, k)
            for s, dist in _strips(left, rows[b0:b1]):
                r0, r1 = a0 + s, a0 + s + dist.shape[0]
                if fb == lb:
                    sums[r0:r1, fb] += torch.mv(dist, ones[:b1 - b0])
                else:
                    sums[r0:r1] += torch.mm(onehot[:, b0:b1], dist.T).T
                if b0 != a0:
                    if fa == la:
                        sums[b0:b1, fa] += torch.mv(dist.T, ones[:r1 - r0])
                    else:
                        sums[b0:b1] += torch.mm(onehot[:, r0:r1], dist).T
            plan.step()
    return sums


def _onehot(cs, k: int):
    """(K, N) float32 cluster indicators; ``onehot[:, cols] @ dist.T`` is the fast way round for
    BLAS (a (K, B) by (B, A) product, against a (B, A) by (A, K) one with a transposed operand)."""
    import torch

    return torch.nn.functional.one_hot(cs, k).to(torch.float32).T.contiguous()


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


def _by_row_blocks(rows, d: int, cs, k: int, within, counts, plan: _Plan):
    """Per-sample silhouette (N,) a block of rows at a time, for very many clusters: a (rows, K)
    table instead of (N, K), every block pair computed (twice the work of the upper triangle)."""
    import torch

    n = rows.shape[0]
    out = torch.empty(n, dtype=torch.float64, device=rows.device)
    for a0 in range(0, n, plan.row_block):
        a1 = min(a0 + plan.row_block, n)
        left = _left(rows[a0:a1], d)
        sums = torch.zeros(a1 - a0, k, dtype=torch.float32, device=rows.device)
        for b0, b1, _, _ in plan.blocks:
            sums.index_add_(1, cs[b0:b1], _distances(left, rows[b0:b1]))
            plan.step()
        out[a0:a1] = _finish(sums, within[a0:a1], cs[a0:a1], counts)
    return out
