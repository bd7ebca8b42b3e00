"""The silhouette of a large set: a seeded sampled estimate with a confidence interval.

The exact silhouette (:mod:`hpe_core.analysis.silhouette`) costs ``N^2 D``: seconds at 20,000
samples on two cores, hours at a million. Above :data:`EXACT_LIMIT` samples the score is estimated
instead: ``m`` rows drawn at random without replacement (seeded), and for each its *exact*
``s(i)`` (its mean distance to every member of every cluster, over all ``N`` rows, read a block
of rows at a time so a float16 memory map is never copied whole). The score is the mean of
``s`` over all rows, so the sample mean is unbiased, and since ``s`` lies in [-1, 1] its mean
over a few thousand rows is close to normal: the interval is
``mean +- z * sd / sqrt(m) * sqrt(1 - m / N)`` (the finite-population correction of sampling
without replacement; ``z`` the normal quantile of the confidence). The cost is ``m N D``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

EXACT_LIMIT = 20_000   # exact up to here (seconds on 2 cores); the estimate above (the exact is N^2)
SAMPLE = 2_000         # rows whose silhouette is computed exactly (the interval narrows as 1/sqrt)
_COLUMN_BLOCK = 4_096  # rows of x read, converted and centred at once
_ROW_CHUNK = 512       # sampled rows per product: 512 x 4096 distances (8 MB) at once


@dataclass(frozen=True)
class SilhouetteEstimate:
    value: float        # the estimated mean silhouette
    low: float          # the interval's ends
    high: float
    confidence: float   # e.g. 0.95
    sample: int         # rows scored exactly
    total: int          # N
    rows: np.ndarray    # (m,) the sampled rows
    per_sample: np.ndarray  # (m,) their silhouette values

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "confidence": self.confidence,
                "sample": self.sample, "total": self.total, "method": "sampled rows, exact s(i); normal interval"}


def silhouette_estimate(features, labels, sample: int = SAMPLE, seed: int = 0, confidence: float = 0.95,
                        device="cpu", progress: ProgressSink | None = None) -> SilhouetteEstimate:
    """Estimate the silhouette of ``labels`` (N,) over ``features`` (N, D); see the module docstring.

    With ``sample >= N`` every row is scored and the interval is the point itself (the exact value).
    """
    from hpe_core.analysis.silhouette import check_features_labels

    progress = progress or NullProgress()
    x, y = check_features_labels(features, labels)
    if not 0.5 <= confidence < 1:
        raise InputError(f"confidence: expected a value in [0.5, 1), got {confidence}")
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    n, k = len(codes), len(counts)
    if not 2 <= k <= n - 1:
        raise InputError(f"silhouette needs between 2 and N - 1 = {n - 1} distinct labels, got {k}")
    m = int(min(max(int(sample), 2), n))
    rows = np.sort(np.random.default_rng(seed).choice(n, m, replace=False))
    with _threads_for_the_load(device):
        sums = _distance_sums(x, codes, k, rows, device, progress)
    s = _silhouettes(sums, codes[rows], counts)
    mean = float(s.mean())
    half = 0.0
    if m < n:
        from statistics import NormalDist

        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        half = z * float(s.std(ddof=1)) / np.sqrt(m) * np.sqrt(1.0 - m / n)
    progress.set_progress(1.0)
    return SilhouetteEstimate(mean, mean - half, mean + half, float(confidence), m, n, rows, s)


@contextmanager
def _threads_for_the_load(device):
    """One torch thread while the machine's cores are taken by other work (the 1-minute load
    average): its threads wait for each other between the thousand small products here, and a
    core taken elsewhere stalls them all (10x slower than one thread on a loaded 2-core machine,
    as t-SNE's threads: see ``projections._tsne_threads``)."""
    import torch

    before = torch.get_num_threads()
    try:
        busy = str(device).startswith("cpu") and before > 1 and (os.cpu_count() or 1) - os.getloadavg()[0] < before - 0.5
    except (AttributeError, OSError):  # no load average (Windows)
        busy = False
    if busy:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if busy:
            torch.set_num_threads(before)


def _distance_sums(x, codes: np.ndarray, k: int, rows: np.ndarray, device, progress: ProgressSink) -> np.ndarray:
    """(m, K) float64: each sampled row's summed Euclidean distance to the members of each cluster
    (itself counted as 0), over all N rows of ``x`` a block at a time (float32 products on data
    centred on the mean, the sampled rows' own entries set to exactly 0)."""
    import torch

    dev = torch.device(device)
    n = x.shape[0]
    mean = np.zeros(x.shape[1], np.float64)
    for a in range(0, n, _COLUMN_BLOCK):
        mean += np.asarray(x[a:a + _COLUMN_BLOCK], np.float64).sum(0)
    mean /= n
    left = torch.as_tensor(np.asarray(x[rows], np.float64) - mean, dtype=torch.float32, device=dev)
    left_sq = (left * left).sum(1)
    sums = torch.zeros(len(rows), k, dtype=torch.float64, device=dev)
    for a in range(0, n, _COLUMN_BLOCK):
        b = min(a + _COLUMN_BLOCK, n)
        block = torch.as_tensor(np.asarray(x[a:b], np.float32) - mean.astype(np.float32), device=dev)
        block_sq = (block * block).sum(1)[None, :]
        onehot = torch.nn.functional.one_hot(torch.as_tensor(codes[a:b], device=dev), k).to(torch.float32)
        mine = np.flatnonzero((rows >= a) & (rows < b))  # sampled rows inside this block: 0 to themselves
        for r in range(0, len(rows), _ROW_CHUNK):
            e = min(r + _ROW_CHUNK, len(rows))
            dist = torch.addmm(left_sq[r:e, None], left[r:e], block.T, alpha=-2.0).add_(block_sq)
            dist.clamp_min_(0.0).sqrt_()
            here = mine[(mine >= r) & (mine < e)]
            dist[torch.as_tensor(here - r), torch.as_tensor(rows[here] - a)] = 0.0
            sums[r:e] += (dist @ onehot).double()
        progress.set_progress(0.99 * b / n)
        check_cancelled(progress)
    return sums.cpu().numpy()


def _silhouettes(sums: np.ndarray, own: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """s(i) (m,) from (m, K) distance sums, own cluster codes (m,) and cluster sizes (K,)
    (Rousseeuw's rule: 0 for a sample alone in its cluster)."""
    m = len(own)
    size = counts[own].astype(np.float64)
    a = sums[np.arange(m), own] / np.maximum(size - 1, 1)
    means = sums / counts[None, :]
    means[np.arange(m), own] = np.inf
    b = means.min(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (b - a) / np.maximum(a, b)
    s = np.nan_to_num(s, nan=0.0)
    return np.where(size > 1, s, 0.0)
