"""The cost of checking a checkpoint's integrity, against loading it without the check, in the same run.

    python bench/faults_bench.py [--repeat 5] [--big-mb 100] [--record]

For every demo checkpoint and for a native checkpoint of about ``--big-mb`` MB (a ResNet50
SimCLR whose width is chosen to reach that size):

1. the CRC-32 check of the zip container (``hpe_core.models.safe_load.check_zip``, what every load
   of a PyTorch file now does once per file per process) vs ``torch.load(weights_only=True)``;
2. ``load_checkpoint`` with the check (a file not seen before) vs without (the same file again:
   the check is skipped), the ratio the user sees on a first load;
3. the content hash of the weights (what ``hpe inspect`` checks) vs ``torch.load``.

Timings are the best of interleaved repeats (the file is in the page cache: this is the CPU cost).
Exits 1 if a check fails on an intact file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpe_core.models import build_model, load_checkpoint, save_checkpoint  # noqa: E402
from hpe_core.models import safe_load  # noqa: E402
from hpe_core.models.native import content_hash  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


def best(fns: dict, repeat: int) -> dict[str, float]:
    """Best time of each function, the functions interleaved in every round."""
    times = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name] = min(times[name], time.perf_counter() - start)
    return times


def unchecked(fn):
    def run():
        safe_load._CHECKED.clear()  # a file not seen before in this process: its CRCs are checked
        return fn()
    return run


def measure(path: Path, repeat: int) -> dict[str, float]:
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    load_checkpoint(path)  # warm: the file in the page cache, the check recorded
    return best({"torch.load": lambda: torch.load(path, map_location="cpu", weights_only=True),
                 "crc": unchecked(lambda: safe_load.check_zip(path)),
                 "load checked": unchecked(lambda: load_checkpoint(path)),
                 "load": lambda: load_checkpoint(path),
                 "content hash": lambda: content_hash(state)}, repeat)


def big_checkpoint(folder: Path, megabytes: float) -> Path:
    width = 64
    while True:
        model = build_model("simclr", "resnet50", width=width)
        size = sum(p.numel() for p in model.state_dict().values()) * 4 / 1e6
        if size >= 0.95 * megabytes or width > 512:
            return save_checkpoint(folder / f"simclr_resnet50_w{width}.pt", model)
        width = int(width * (megabytes / size) ** 0.5) + 1


def row(name: str, mb: float, t: dict) -> tuple[str, str, str]:
    text = (f"CRC {t['crc'] * 1e3:.1f} ms = {t['crc'] / t['torch.load']:.2f}x torch.load ({t['torch.load'] * 1e3:.1f} ms); "
            f"first load_checkpoint / again {t['load checked'] / t['load']:.2f}x; "
            f"content hash {t['content hash'] * 1e3:.1f} ms = {t['content hash'] / t['torch.load']:.2f}x")
    print(f"{name:<28} {mb:7.1f} MB  {text}")
    return f"checkpoint check, {name} ({mb:.0f} MB)", text, "CRC well under one load"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big-mb", type=float, default=100.0)
    parser.add_argument("--record", action="store_true", help="write the figures into bench/README.md")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    figures, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(DEMO.glob("*.pt")) + [big_checkpoint(Path(tmp), args.big_mb)]
        total = {}
        for path in paths:
            t = measure(path, args.repeat)
            for key, value in t.items():
                total[key] = total.get(key, 0.0) + (value if path.parent == DEMO else 0.0)
            if path.parent != DEMO:
                figures.append(row(f"a {args.big_mb:.0f} MB checkpoint", path.stat().st_size / 1e6, t))
            else:
                row(path.name, path.stat().st_size / 1e6, t)
        demo_mb = sum(p.stat().st_size for p in paths[:-1]) / 1e6
        figures.insert(0, row(f"the {len(paths) - 1} demo checkpoints", demo_mb, total))
        for path in paths:
            try:
                safe_load._CHECKED.clear()
                safe_load.check_zip(path)
            except Exception as exc:  # noqa: BLE001 - an intact file must pass
                print(f"FAILED on an intact file: {exc}")
                ok = False
    if args.record:
        from record import record

        record("faults_bench", figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
