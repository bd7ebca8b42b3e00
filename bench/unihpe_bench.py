"""UniHPE's triplet InfoNCE: batched eigenvalues of B x B Gram matrices (3 x 3) against a
per-triplet loop taking the largest singular value of each stacked (3, D) matrix with
``torch.linalg.svd``, in the same run.

    python bench/unihpe_bench.py [--batch 64] [--dim 256] [--repeat 3] [--backward]

Both use the same random triplets (Algorithm 1). The loss values must agree to 1e-5 relative
(float64 inputs: float rounding only); the script prints both timings and the ratio and exits 1
if they disagree. ``--backward`` times forward + backward instead of the forward pass alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpe_core.losses import svd_triplet_info_nce, triplet_indices  # noqa: E402
from timing import best_of  # noqa: E402


def triplet_loss_loop(x_img, x_2d, x_3d, temperature, index):
    """Eq. 2-3 written out: for each anchor and each of its B triplets, stack the three unit
    embeddings into M (3, D), take sigma_1 with torch.linalg.svd, logit = sigma_1^2 / tau."""
    xs = [F.normalize(x, dim=1) for x in (x_img, x_2d, x_3d)]
    b = len(x_img)
    rows = []
    for a in range(b):
        logits = []
        for k in range(b):
            m = torch.stack([xs[j][index[a, k, j]] for j in range(3)])
            logits.append(torch.linalg.svd(m, full_matrices=False).S[0] ** 2 / temperature)
        rows.append(torch.stack(logits))
    return F.cross_entropy(torch.stack(rows), torch.zeros(b, dtype=torch.long))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64, help="(default: 64; the paper trains stage 2 with 180)")
    ap.add_argument("--dim", type=int, default=256, help="(default: 256; the paper uses 1024)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backward", action="store_true")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    x = [torch.randn(args.batch, args.dim, generator=g, dtype=torch.float64) for _ in range(3)]
    for i in (1, 2):  # partly aligned, as during training
        x[i] = x[i] + 2 * x[0]
    index = triplet_indices(args.batch, torch.Generator().manual_seed(1))
    tau = 0.2

    def run(fn):
        def go():
            inputs = [t.clone().requires_grad_(args.backward) for t in x]
            loss = fn(*inputs, tau, index)
            if args.backward:
                loss.backward()
            return loss.detach()
        return go

    t_eig, v_eig = best_of(run(lambda a, b, c, t, i: svd_triplet_info_nce(a, b, c, t, index=i)), args.repeat)
    t_svd, v_svd = best_of(run(triplet_loss_loop), max(1, args.repeat // 3))
    rel = abs(float(v_eig) - float(v_svd)) / abs(float(v_svd))
    what = "forward + backward" if args.backward else "forward"
    print(f"triplet InfoNCE, B={args.batch}, D={args.dim}, {args.batch ** 2} triplets, {what}, "
          f"{torch.get_num_threads()} threads")
    print(f"  batched eigvalsh of B x B 3x3 Gram matrices: {t_eig * 1e3:9.2f} ms   loss {float(v_eig):.10f}")
    print(f"  per-triplet torch.linalg.svd loop:           {t_svd * 1e3:9.2f} ms   loss {float(v_svd):.10f}")
    print(f"  relative difference {rel:.2e}; speed-up {t_svd / t_eig:.1f}x")
    if rel > 1e-5:
        print("MISMATCH: the two losses disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
