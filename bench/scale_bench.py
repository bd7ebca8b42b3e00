"""Embeddings at scale (issue 32), each figure beside a baseline of the same run and the load.

1. silhouette: the sampled estimate at 200,000 samples (time, interval) against the exact value
   of a set whose exact silhouette is a closed form (copies of 60 distinct points; the count over
   the distinct points, as in tests/core/test_silhouette_estimate.py); aim: the interval holds it,
   in ≤ 2 s;
2. PCA of N x 512 float16 features (a memory map): the randomised SVD against the exact covariance
   eigenvectors (ratio), and the angle between their first axes;
3. UMAP and t-SNE 2D of N synthetic features (clusters with known labels) through landmarks
   (time, share of the 5-minute aim), and at ``--compare`` samples the landmark map against a full
   fit with the same seed: the share of each sample's 10 nearest neighbours in the full map that are
   also its 10 nearest in the landmark map (and each map's share of the features' own 10 nearest).

Run: ``python3 bench/scale_bench.py [--n 1000000] [--compare 200000 (0: none)] [--skip tsne,umap] [--record]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def features(n: int, d: int = 512, k: int = 17, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) float16 features with known labels and local structure (so that 10 nearest neighbours
    mean something): k clusters (like 17 actions) on a 6-D latent, each sample's latent position
    mapped to d dimensions by a fixed random matrix, plus small isotropic noise; made a block at a time."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4.0, (k, 6))
    lift = rng.normal(0, 1.0 / np.sqrt(6), (6, d)).astype(np.float32)
    labels = rng.integers(0, k, n)
    out = np.empty((n, d), np.float16)
    for a in range(0, n, 65536):
        b = min(a + 65536, n)
        latent = (centres[labels[a:b]] + rng.normal(0, 1.0, (b - a, 6))).astype(np.float32)
        out[a:b] = latent @ lift + rng.normal(0, 0.05, (b - a, d)).astype(np.float32)
    return out, labels


def bench_silhouette() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
    from test_silhouette_estimate import repeated_points

    from hpe_core.analysis.silhouette_estimate import silhouette_estimate

    x, y, exact = repeated_points(200_000)
    silhouette_estimate(x[:2000], y[:2000], sample=100)  # torch's first call
    t = time.perf_counter()
    est = silhouette_estimate(x, y)
    took = time.perf_counter() - t
    print(f"silhouette estimate at 200,000: {took:.2f} s = {took / 2:.2f} of the 2 s aim; {est.value:.4f} in "
          f"[{est.low:.4f}, {est.high:.4f}] ({est.sample:,} rows); exact {exact:.4f} "
          f"{'inside' if est.low <= exact <= est.high else 'OUTSIDE'} (aim ≤ 2 s; {load()})")


def bench_pca(x: np.ndarray) -> None:
    from hpe_core.analysis import projections

    t = time.perf_counter()
    _, fast_axes, _ = projections.pca_fit(x, 2)
    fast = time.perf_counter() - t
    limit = projections.RANDOMISED_FROM
    projections.RANDOMISED_FROM = 1 << 62
    try:
        t = time.perf_counter()
        _, exact_axes, _ = projections.pca_fit(x, 2)
        slow = time.perf_counter() - t
    finally:
        projections.RANDOMISED_FROM = limit
    cos = float(np.abs(fast_axes[0] @ exact_axes[0]))
    print(f"PCA of {x.shape[0]:,} x {x.shape[1]} float16: randomised SVD {fast:.1f} s vs exact covariance "
          f"{slow:.1f} s, ratio {slow / fast:.1f}x; first axes' |cos| {cos:.5f} ({load()})")


def knn_sets(points: np.ndarray, rows: np.ndarray, k: int = 10) -> np.ndarray:
    from scipy.spatial import cKDTree

    _, idx = cKDTree(points).query(points[rows], k + 1)
    return idx[:, 1:]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(p) & set(q)) / len(p) for p, q in zip(a.tolist(), b.tolist())]))


def bench_map(method: str, x: np.ndarray, compare: int) -> None:
    from hpe_core.analysis.projections import project

    t = time.perf_counter()
    proj = project(x, method, 2, seed=0)
    took = time.perf_counter() - t
    print(f"{method} 2D of {x.shape[0]:,} x {x.shape[1]}: {took:.0f} s = {took / 300:.2f} of the 5-minute aim "
          f"({proj.info.get('how')}; {load()})")
    if not compare:
        return
    small = x[:compare]
    t = time.perf_counter()
    full = project(small, method, 2, seed=0, landmarks=0).coords
    t_full = time.perf_counter() - t
    t = time.perf_counter()
    marks = project(small, method, 2, seed=0, landmarks=min(20_000, compare // 4)).coords
    t_marks = time.perf_counter() - t
    rows = np.random.default_rng(0).choice(compare, 2000, replace=False)
    reduced = np.asarray(small, np.float32)
    truth, in_full, in_marks = knn_sets(reduced, rows), knn_sets(full, rows), knn_sets(marks, rows)
    print(f"{method} at {compare:,}: 10-NN of the landmark map shared with the full map's {overlap(in_marks, in_full):.3f}; "
          f"with the features' own: landmark {overlap(in_marks, truth):.3f}, full {overlap(in_full, truth):.3f}; "
          f"time full {t_full:.0f} s vs landmarks {t_marks:.0f} s, ratio {t_full / t_marks:.1f}x ({load()})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--compare", type=int, default=200_000)
    ap.add_argument("--skip", default="", help="comma-separated: silhouette, pca, umap, tsne")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if "silhouette" not in skip:
        bench_silhouette()
    with tempfile.TemporaryDirectory() as tmp:
        data, _ = features(args.n)
        path = Path(tmp) / "f.npy"
        np.save(path, data)
        del data
        x = np.load(path, mmap_mode="r")
        if "pca" not in skip:
            bench_pca(x)
        for method in ("umap", "tsne"):
            if method not in skip:
                bench_map(method, x, args.compare)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from record import recording

    with recording("scale_bench"):
        main()
