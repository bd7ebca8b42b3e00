"""Seed 001 speed: batched heatmap decoding against a per-joint Python loop, and lifter inference
on many poses (the product's one predict) against a bare ``model(x)`` loop, in the same run.

    python bench/heatmap_bench.py [--maps 2000] [--joints 17] [--size 64] [--poses 100000]

Decoding: argmax + Gaussian sub-pixel refinement of (N, J, H, W) heatmaps, batched
(:func:`hpe_core.models.heatmap.argmax_decode`) and one joint at a time in Python / numpy as
evaluation scripts often do; both must agree to 1e-4 px. Lifting: 100,000 poses through
:func:`hpe_core.inference.predict` over a keypoints file (large batches, inference mode) against a loop calling
``model(x)`` on batches of 64 (a training-sized batch) under ``no_grad``. Ratios are printed.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpe_core.inference import Predictor, collect, predict  # noqa: E402
from hpe_core.inference.sources import open_source  # noqa: E402
from hpe_core.models import build_model  # noqa: E402
from hpe_core.models.heatmap import argmax_decode, gaussian_targets  # noqa: E402
from timing import best_of  # noqa: E402


def decode_loop(maps: np.ndarray) -> np.ndarray:
    """Per-joint argmax + log-parabola refinement, one (H, W) map at a time."""
    n, j, h, w = maps.shape
    out = np.zeros((n, j, 2))
    for a in range(n):
        for b in range(j):
            m = maps[a, b]
            y, x = divmod(int(np.argmax(m)), w)
            px, py = float(x), float(y)
            if 0 < x < w - 1:
                lo, c, hi = (math.log(max(float(v), 1e-38)) for v in (m[y, x - 1], m[y, x], m[y, x + 1]))
                if lo - 2 * c + hi < 0:
                    px += min(max(0.5 * (lo - hi) / (lo - 2 * c + hi), -0.5), 0.5)
            if 0 < y < h - 1:
                lo, c, hi = (math.log(max(float(v), 1e-38)) for v in (m[y - 1, x], m[y, x], m[y + 1, x]))
                if lo - 2 * c + hi < 0:
                    py += min(max(0.5 * (lo - hi) / (lo - 2 * c + hi), -0.5), 0.5)
            out[a, b] = px, py
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", type=int, default=2000)
    ap.add_argument("--joints", type=int, default=17)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--poses", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    joints = 2 + (args.size - 4) * torch.rand(args.maps, args.joints, 2, generator=g)
    maps = gaussian_targets(joints, args.size, args.size / 12.8) + torch.rand(args.maps, args.joints, args.size,
                                                                             args.size, generator=g)
    t_batch, (coords, _) = best_of(lambda: argmax_decode(maps, refine=True), args.repeat)
    t_loop, looped = best_of(lambda: decode_loop(maps.numpy()), 1)
    diff = float(np.abs(coords.numpy() - looped).max())
    print(f"decode   {args.maps} x {args.joints} maps of {args.size}^2: batched {t_batch * 1e3:.1f} ms, "
          f"per-joint loop {t_loop * 1e3:.1f} ms, ratio {t_loop / t_batch:.1f}x (max difference {diff:.2e} px)")

    model = build_model("lifter", skeleton="h36m17").eval()
    poses = np.random.default_rng(0).uniform(0, 1000, (args.poses, 17, 2)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "poses.npy", poses)
        predictor = Predictor(model, "cpu")
        keypoints = open_source(Path(tmp) / "poses.npy", predictor)
        t_lift, run = best_of(lambda: collect(predict(predictor, keypoints), predictor), args.repeat)

    def bare():
        x = torch.from_numpy(poses)
        with torch.no_grad():
            return torch.cat([model(x[a:a + 64]) for a in range(0, len(x), 64)])

    t_bare, want = best_of(bare, 1)
    diff = float(np.abs(run.joints_3d - want.numpy()).max())
    print(f"lift     {args.poses} poses: predict {t_lift:.2f} s ({args.poses / t_lift:,.0f} poses/s), "
          f"bare model(x) loop of 64 {t_bare:.2f} s, ratio {t_bare / t_lift:.1f}x (max difference {diff:.2e} mm)")
    return 0 if diff < 1e-2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
