"""Data pipeline speed against plain baselines, in the same run.

    python bench/data_bench.py [--poses 150] [--cameras 4] [--size 128] [--workers 2] [--batch 32]

1. Synthesis: images/s of ``synthesize`` (render + JPEG + write, one process) vs the floor of
   writing the same number of already-rendered JPEG files; the target is >= 200 images/s.
2. Loading into a training batch: images/s of ``make_loader(PoseImageDataset(...))`` with
   ``--workers`` worker processes (decode, letterbox, normalise, collate), without augmentation and
   with the "pose" preset, and of ``TwoViewDataset`` with the "simclr" preset, each as a ratio to a
   plain single-process ``cv2.imread`` loop over the same files.
Each side checks it saw every image and exits 1 if not.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import torch  # noqa: E402

from hpe_core.datasets import open_dataset  # noqa: E402
from hpe_core.datasets.synthetic import SynthSpec, synthesize  # noqa: E402
from hpe_core.datasets.torch_data import PoseImageDataset, TwoViewDataset, make_loader  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_synthesis(root: Path, args) -> Path:
    spec = SynthSpec(root / "synth", poses=args.poses, cameras=args.cameras, size=args.size, seed=0)
    n = args.poses * args.cameras
    seconds, path = timed(lambda: synthesize(spec))
    files = sorted(path.glob("images/*/*.jpg"))
    blobs = [f.read_bytes() for f in files]
    copy = root / "copy"
    copy.mkdir()

    def write_all():
        for k, data in enumerate(blobs):
            (copy / f"{k:06d}.jpg").write_bytes(data)

    floor, _ = timed(write_all)
    if len(files) != n:
        sys.exit(f"synthesis wrote {len(files)} images, expected {n}")
    print(f"synthesis {args.size}x{args.size}: {n / seconds:8.0f} images/s   (target 200; "
          f"writing the finished files alone: {n / floor:8.0f} images/s; ratio {floor / seconds:.3f})")
    return path


def imread_rate(dataset) -> float:
    paths = [str(dataset.image_path(i)) for i in range(len(dataset))]
    seconds, count = timed(lambda: sum(cv2.imread(p) is not None for p in paths))
    if count != len(paths):
        sys.exit("cv2.imread failed on some files")
    return len(paths) / seconds


def loader_rate(ds, args, key: str, views: int) -> float:
    loader = make_loader(ds, batch_size=args.batch, shuffle=True, num_workers=args.workers, seed=0)

    def epoch():
        return sum(len(batch["index"]) for batch in loader)

    seconds, count = timed(epoch)
    if count + loader.skipped_count != len(ds):
        sys.exit(f"{key}: loader delivered {count} of {len(ds)} samples")
    return views * count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poses", type=int, default=150)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="hpe-data-bench-"))
    try:
        path = bench_synthesis(root, args)
        dataset = open_dataset(path)
        base = imread_rate(dataset)
        print(f"plain cv2.imread, 1 process:          {base:8.0f} images/s   (baseline)")
        cases = [("PoseImageDataset, no augmentation", PoseImageDataset(dataset, None, args.size), 1),
                 ("PoseImageDataset, 'pose' preset", PoseImageDataset(dataset, None, args.size, augment="pose"), 1),
                 ("TwoViewDataset, 'simclr' preset", TwoViewDataset(dataset, None, args.size), 2)]
        for label, ds, views in cases:
            rate = loader_rate(ds, args, label, views)
            print(f"{label:<36} {rate:8.0f} images/s   ratio to imread {rate / base:.2f} "
                  f"({args.workers} workers, batch {args.batch})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
