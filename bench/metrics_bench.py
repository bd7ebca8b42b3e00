"""Batched PA-MPJPE against a per-sample numpy loop, in the same run.

    python bench/metrics_bench.py [--samples 100000] [--joints 17] [--repeat 3]

The loop is Protocol #2 written out per pose (centre, SVD of the 3x3 correlation, reflection
fix, scale, per-joint distances), as evaluation scripts usually do it. Both must agree to 1e-6
relative; the script prints both timings and the speed ratio, and exits 1 if they disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpe_core.geometry import random_rotations  # noqa: E402
from hpe_core.metrics import pa_mpjpe  # noqa: E402
from timing import best_of  # noqa: E402


def pa_mpjpe_loop(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-sample PA-MPJPE ``(N,)`` of ``(N, J, 3)`` poses, one pose at a time."""
    out = np.empty(len(pred))
    for i in range(len(pred)):
        p, g = pred[i], gt[i]
        mu_p, mu_g = p.mean(axis=0), g.mean(axis=0)
        pc, gc = p - mu_p, g - mu_g
        U, S, Vt = np.linalg.svd(pc.T @ gc)
        d = np.sign(np.linalg.det(U @ Vt))
        D = np.diag([1.0, 1.0, d])
        Rt = U @ D @ Vt  # row vectors: aligned = s * pc @ Rt + mu_g
        s = np.trace(np.diag(S) @ D) / (pc ** 2).sum()
        out[i] = np.linalg.norm(s * pc @ Rt + mu_g - g, axis=1).mean()
    return out


def make_poses(n: int, j: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth ``(n, j, 3)`` mm and predictions that are noisy, rotated, scaled, shifted."""
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=250.0, size=(n, j, 3))
    noisy = gt + rng.normal(scale=40.0, size=gt.shape)
    R = random_rotations(n, rng)
    scale = rng.uniform(0.7, 1.3, size=(n, 1, 1))
    shift = rng.normal(scale=500.0, size=(n, 1, 3))
    return scale * noisy @ np.swapaxes(R, 1, 2) + shift, gt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--joints", type=int, default=17)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    pred, gt = make_poses(args.samples, args.joints)
    t_loop, loop = best_of(lambda: pa_mpjpe_loop(pred, gt), max(1, args.repeat // 2))
    t_batch, batch = best_of(lambda: pa_mpjpe(pred, gt, per_sample=True), args.repeat)
    rel = np.abs(batch - loop) / np.abs(loop)
    print(f"PA-MPJPE, {args.samples} poses x {args.joints} joints")
    print(f"  per-sample numpy loop : {t_loop:8.3f} s   mean {loop.mean():.6f} mm")
    print(f"  batched hpe_core      : {t_batch:8.3f} s   mean {batch.mean():.6f} mm")
    print(f"  max relative difference {rel.max():.2e} (must be <= 1e-6)")
    print(f"  speed ratio           : {t_loop / t_batch:8.1f}x (aim >= 20x)")
    return 0 if rel.max() <= 1e-6 else 1


if __name__ == "__main__":
    from record import recording

    with recording("metrics_bench"):
        sys.exit(main())
