"""Feature extraction at scale (issue 32): ``extract_to_cache`` against a bare model loop.

The same model runs over the same seeded stream of inputs, N rows in batches of 1,024: an MLP
64 -> W -> W -> 512, W = ``--width`` (256: about 250,000 rows/s on one core, 250 MB/s of float16
features, so that writing them is the largest share it can be; 2,048: about 20,000 rows/s, nearer
what an image encoder gives on a GPU):

1. the bare loop: ``model.features(x)`` made float16 (by torch) on the host, then dropped;
2. ours: :func:`hpe_core.analysis.feature_cache.extract_to_cache` streaming each batch into a
   float16 part with its resume points, then the entry made (the part renamed into place).

Throughput is rows per second of each (best of ``--repeat``) and ours over the bare loop (aim
≥ 0.9). Peak memory: each run in a fresh process, its peak resident set (``ru_maxrss``) over the
process's size before the loop, at 100,000 and 1,000,000 rows, beside the features' own size (the
cache file): bounded means the peak does not grow with N.

Run: ``python3 bench/extract_bench.py [--rows 100000,1000000] [--repeat 2] [--record]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH, D_IN, D_OUT = 1024, 64, 512


def model(width: int):
    import torch

    class Mlp(torch.nn.Module):
        feature_names = ("encoder",)

        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(D_IN, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
                                           torch.nn.ReLU(), torch.nn.Linear(width, D_OUT))

        def features(self, x, layers):
            return {"encoder": self.net(x)}

    return Mlp().eval()


def batches(n: int):
    import torch

    rng = np.random.default_rng(0)
    for start in range(0, n, BATCH):
        stop = min(n, start + BATCH)
        x = torch.from_numpy(rng.standard_normal((stop - start, D_IN), dtype=np.float32))
        yield np.arange(start, stop, dtype=np.int64), x, []


def bare(n: int, width: int) -> None:
    import torch

    net = model(width)
    with torch.inference_mode():
        for _, x, _ in batches(n):
            net.features(x, ("encoder",))["encoder"].half().cpu().numpy()


def ours(n: int, width: int, folder: Path) -> int:
    from hpe_core.analysis.feature_cache import FeatureCache, extract_to_cache
    from hpe_core.progress import NullProgress

    cache = FeatureCache(folder)
    key = f"bench{n}"
    extract_to_cache(model(width), batches(n), ["encoder"], cache, {"encoder": key}, "cpu", "fp32", n, NullProgress())
    return cache.data_path(key).stat().st_size


def child(kind: str, n: int, width: int) -> dict:
    """One run in this process: seconds, peak RSS over the RSS before the loop (MB), cache bytes."""
    import torch

    torch.set_num_threads(1)
    import hpe_core.analysis.feature_cache  # noqa: F401 (imports and torch's first use before the clock and the RSS)

    bare(BATCH, width)
    before = _rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        size = ours(n, width, Path(tmp)) if kind == "ours" else (bare(n, width) or 0)
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_over_start_mb": peak - before, "cache_mb": size / 2**20}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(kind: str, n: int, width: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(width)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", default="100000,1000000")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--width", default="256,2048", help="the MLP's hidden widths to run")
    p.add_argument("--record", action="store_true")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), int(args.child[2]))))
        return
    figures = []
    for width, n in ((int(w), int(v)) for w in args.width.split(",") for v in args.rows.split(",")):
        b = min((run("bare", n, width) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        o = min((run("ours", n, width) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        line = (f"extract {n:>9,} rows, width {width:>4}: ours {n / o['seconds']:>9,.0f} rows/s, bare loop {n / b['seconds']:>9,.0f} "
                f"rows/s (ours/bare {b['seconds'] / o['seconds']:.2f}x); peak over start: ours "
                f"{o['peak_over_start_mb']:.0f} MB, bare {b['peak_over_start_mb']:.0f} MB; features "
                f"{o['cache_mb']:.0f} MB float16 (load {os.getloadavg()[0]:.1f})")
        print(line, flush=True)
        figures += [(f"{n:,} rows, MLP width {width}: ours / bare loop", f"{b['seconds'] / o['seconds']:.2f}x "
                     f"({n / o['seconds']:,.0f} rows/s)", ">= 0.9x"),
                    (f"{n:,} rows, MLP width {width}: peak over start", f"{o['peak_over_start_mb']:.0f} MB "
                     f"(bare {b['peak_over_start_mb']:.0f}; features {o['cache_mb']:.0f} MB)", "bounded")]
    if args.record:
        from bench.record import record

        record("extract_bench", figures)


if __name__ == "__main__":
    main()
