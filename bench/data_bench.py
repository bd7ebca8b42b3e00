"""Data pipeline speed against plain baselines, in the same run.

    python bench/data_bench.py [--poses 150] [--cameras 4] [--size 128] [--workers 2] [--batch 32]

1. Synthesis: images/s of ``synthesize`` (render + JPEG + write, one process) vs the floor of
   writing the same number of already-rendered JPEG files; the target is >= 200 images/s.
2. Loading into a training batch: images/s of ``make_loader(PoseImageDataset(...))`` with
   ``--workers`` worker processes (decode, letterbox, normalise, collate), without augmentation and
   with the "pose" preset, and of ``TwoViewDataset`` with the "simclr" preset, each as a ratio to a
   plain single-process ``cv2.imread`` loop over the same files.
3. Opening a CMU Panoptic processed set of ``--samples`` joints files (JSON only, 31 cameras):
   the first open (parses every file, stores the index) and the second (from the index; aim
   <= 3 s at 200,000), against a bare ``os.scandir`` + ``json.load`` loop over the same files.
4. Opening an mmpose body3d file of ``--rows`` rows (1.5 M: Human3.6M's train set at 10 fps, as
   mmpose's ``preprocess_h36m.py`` writes it: imgname, center, scale, part, S in float64): the
   first open (parses the image names, stores the labels in the index cache) and the second
   (from the cache), against a bare ``np.load`` of the file's arrays.
Each side checks it saw every image and exits 1 if not. ``--only`` picks sections
(synthesis, loading, panoptic, mmpose); ``--record`` puts the figures into bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
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


def bench_synthesis(root: Path, args, figures: list) -> Path:
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
    figures.append(("synthesis images/s", f"{n / seconds:.0f} ({floor / seconds:.3f}x writing the files alone)",
                    ">= 200 images/s"))
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


def build_panoptic(root: Path, samples: int, cameras: int = 31) -> Path:
    """``samples`` joints files of one sequence, laid out as the processed Panoptic set is."""
    import numpy as np

    seq = "171204_pose1"
    folder = root / "ProcessedPanopticDataset" / seq / "hdJoints"
    folder.mkdir(parents=True)
    (folder.parent / "hdImages").mkdir()
    rng = np.random.default_rng(0)
    cams = []
    for c in range(cameras):
        a = 2 * np.pi * c / cameras
        R = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
        K = np.array([[1400.0 + c, 0, 960.0], [0, 1400.0 + c, 540.0], [0, 0, 1]])
        t = np.array([[0.0], [50.0], [300.0]])
        cams.append(repr({"K": K, "distCoef": np.array([-0.2, 0.1, 1e-4, -2e-4, 0.01]), "R": R, "t": t}))
    for i in range(samples):
        frame, c = divmod(i, cameras)
        if c == 0:
            pose = np.concatenate([rng.normal([0, -100, 0], 25, (19, 3)), rng.uniform(0.2, 1, (19, 1))], 1)
            poses = [round(float(v), 4) for v in pose.reshape(-1)]
        doc = {"poses_3d": poses, "cam": cams[c]}
        (folder / f"{seq};hd_00_{c:02d};person_0;{frame:08d}.json").write_text(json.dumps(doc))
    return root


def bare_json_loop(root: Path) -> int:
    count = 0
    for seq in os.scandir(root / "ProcessedPanopticDataset"):
        for entry in os.scandir(Path(seq.path) / "hdJoints"):
            with open(entry.path, "rb") as fh:
                json.load(fh)
            count += 1
    return count


def bench_panoptic(root: Path, args) -> list:
    os.environ["HPE_STUDIO_CACHE"] = str(root / "cache")  # the bench's own cache, not the user's
    t_build, _ = timed(lambda: build_panoptic(root / "panoptic", args.samples))
    print(f"built a Panoptic set of {args.samples} joints files in {t_build:.1f} s")
    t_bare, count = timed(lambda: bare_json_loop(root / "panoptic"))
    time.sleep(1.1)  # files modified less than a second before an open are not indexed
    t_first, first = timed(lambda: open_dataset(root / "panoptic"))
    t_second, second = timed(lambda: open_dataset(root / "panoptic"))
    t_touch, _ = timed(lambda: [second.column(c).sum() for c in ("joints_3d", "pose_id", "camera_id")])
    if not count == len(first) == len(second) == args.samples:
        sys.exit(f"panoptic: {count} files, opens gave {len(first)} and {len(second)} samples")
    print(f"bare os.scandir + json.load loop:     {t_bare:8.2f} s  (baseline)")
    print(f"first open (parse + index):           {t_first:8.2f} s  ratio to the bare loop {t_first / t_bare:.2f}")
    print(f"second open (from the index):         {t_second:8.2f} s  ratio {t_second / t_bare:.3f} (aim <= 3 s); "
          f"then reading its columns {t_touch:.2f} s")
    n = f"{args.samples:,}"
    return [(f"Panoptic {n}: second open", f"{t_second:.2f} s ({t_second / t_bare:.3f}x the bare loop)", "<= 3 s"),
            (f"Panoptic {n}: first open / bare scandir+json.load", f"{t_first / t_bare:.2f}x ({t_first:.1f} s)",
             "near 1")]


def build_mmpose(path: Path, rows: int) -> Path:
    """An mmpose Human3.6M train file of ``rows`` rows: 5 subjects x 30 sequences x 4 cameras."""
    import numpy as np

    runs = [(s, f"Action{a // 2}_{a % 2 + 1}", c) for s in ("S1", "S5", "S6", "S7", "S8") for a in range(30)
            for c in ("54138969", "55011271", "58860488", "60457274")]
    per = -(-rows // len(runs))
    names = [f"{s}/{s}_{a}.{c}/{s}_{a}.{c}_{1 + 5 * f:06d}.jpg" for s, a, c in runs for f in range(per)][:rows]
    rng = np.random.default_rng(0)
    np.savez(path, imgname=np.array(names), center=rng.uniform(0, 1000, (rows, 2)), scale=rng.uniform(1, 5, rows),
             part=rng.uniform(0, 1000, (rows, 17, 3)), S=rng.normal(0, 1, (rows, 17, 4)))
    return path


def bench_mmpose(root: Path, args) -> list:
    import numpy as np

    os.environ["HPE_STUDIO_CACHE"] = str(root / "cache")
    t_build, path = timed(lambda: build_mmpose(root / "h36m_train.npz", args.rows))
    print(f"built an mmpose body3d file of {args.rows:,} rows ({path.stat().st_size / 1e9:.2f} GB) in {t_build:.1f} s")
    time.sleep(1.1)  # files modified less than a second before an open are not indexed

    def bare():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}

    t_bare, arrays = timed(bare)
    del arrays
    t_first, first = timed(lambda: open_dataset(path))
    t_second, second = timed(lambda: open_dataset(path))
    t_touch, _ = timed(lambda: second.joints_3d.sum())
    if not len(first) == len(second) == args.rows or not np.array_equal(first.pose_id, second.pose_id):
        sys.exit(f"mmpose: opens gave {len(first)} and {len(second)} samples of {args.rows}, or other labels")
    for label, seconds in (("bare np.load of every array (baseline)", t_bare),
                           ("first open (parse names + index)", t_first), ("second open (from the index)", t_second)):
        print(f"{label + ':':<40} {seconds:8.2f} s  ratio to np.load {seconds / t_bare:.3f}")
    print(f"then the second's joints_3d in mm:       {t_touch:8.2f} s")
    n = f"{args.rows / 1e6:.1f} M"
    return [(f"mmpose {n} rows: first open / bare np.load", f"{t_first / t_bare:.2f}x ({t_first:.1f} s)", "near 1"),
            (f"mmpose {n} rows: second open", f"{t_second:.2f} s ({t_second / t_bare:.3f}x np.load)", "well under 1 s")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poses", type=int, default=150)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--samples", type=int, default=200_000, help="joints files of the Panoptic set")
    parser.add_argument("--rows", type=int, default=1_500_000, help="rows of the mmpose body3d file")
    parser.add_argument("--only", default="synthesis,loading,panoptic,mmpose")
    parser.add_argument("--record", action="store_true", help="put the figures into bench/README.md")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    only = {s.strip() for s in args.only.split(",")}
    root = Path(tempfile.mkdtemp(prefix="hpe-data-bench-"))
    figures = []
    try:
        if "panoptic" in only:
            figures += bench_panoptic(root, args)
        if "mmpose" in only:
            figures += bench_mmpose(root, args)
        if only & {"synthesis", "loading"}:
            figures += bench_images(root, args, only)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.record and figures:
        from record import record

        record("data_bench", figures)


def bench_images(root: Path, args, only: set) -> list:
    figures = []
    path = bench_synthesis(root, args, figures)
    if "loading" not in only:
        return figures
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
        figures.append((f"{label} / cv2.imread", f"{rate / base:.2f}x ({rate:.0f} images/s)", "-"))
    return figures


if __name__ == "__main__":
    main()
