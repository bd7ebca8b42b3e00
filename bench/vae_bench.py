"""K hypotheses of the VAE lifter decoded in one batched pass, against K separate passes.

    python bench/vae_bench.py [--samples 512] [--hypotheses 10] [--neurons 1024] [--repeat 3]

Both decode the same latent draws (the same ``eps``) with the thesis-sized lifter in eval mode:
the baseline runs the lifter K times (encode, sample, decode: what a loop over samples does), the
batched pass encodes once and decodes the mean and all K samples as one batch of N*(K+1). The script
checks that both give the same poses (float32: 1e-4 of the pose range), prints both timings and
the speed ratio, and exits 1 if they disagree.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpe_core.models.vae_lifter import VAELifter, reparameterise, resolve_config  # noqa: E402


def separate(model: VAELifter, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``(N, K, J, 3)``: K full passes of the lifter (encode, sample, decode), one per hypothesis."""
    out = []
    for k in range(eps.shape[1]):
        mu, logvar = model.encode(x)
        out.append(model.decode(reparameterise(mu, logvar, eps[:, k])))
    return torch.stack(out, dim=1)


def batched(model: VAELifter, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    return model(x, hypotheses=eps.shape[1], eps=eps)["hypotheses"]


def best_time(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        with torch.inference_mode():
            result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--hypotheses", type=int, default=10)
    ap.add_argument("--neurons", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = VAELifter(resolve_config(skeleton="h36m17", neurons=args.neurons)).eval()
    x = torch.randn(args.samples, 17, 2)
    eps = torch.randn(args.samples, args.hypotheses, model.config["latent_dim"])
    t_sep, a = best_time(lambda: separate(model, x, eps), args.repeat)
    t_bat, b = best_time(lambda: batched(model, x, eps), args.repeat)
    diff = float((a - b).abs().max())
    tol = 1e-4 * float(a.abs().max())
    print(f"{args.samples} samples x {args.hypotheses} hypotheses, {args.neurons} units, "
          f"{args.threads} thread(s)")
    print(f"K separate lifter passes:  {t_sep * 1e3:9.1f} ms")
    print(f"one batched pass (N*(K+1)): {t_bat * 1e3:9.1f} ms (includes the mean hypothesis)")
    print(f"speed ratio (separate / batched): {t_sep / t_bat:.2f}x")
    print(f"max |difference| {diff:.3g} (tolerance {tol:.3g})")
    if not diff <= tol:
        print("MISMATCH: the batched hypotheses differ from the separate passes")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
