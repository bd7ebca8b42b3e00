"""Data pipeline speed against plain baselines, in the same run.

    python bench/data_bench.py [--poses 150] [--cameras 4] [--size 128] [--workers 2] [--batch 32]

1. Synthesis: images/s of ``synthesize`` (render + JPEG + write, one process) vs the floor of
   writing the same number of already-rendered JPEG files; the target is >= 200 images/s.
2. Loading into a training batch: images/s of ``make_loader(PoseImageDataset(...))`` with
   ``--workers`` worker processes (decode, letterbox, normalise, collate), without augmentation and
   with the "pose" preset, and of ``TwoViewDataset`` with the "simclr" preset, each as a ratio to a
   plain single-process ``cv2.imread`` loop over the same files.
3. Opening a CMU Panoptic processed set of ``--samples`` joints files (JSON only, 31 cameras):
   the first open (parses every file in one worker process per core, stores the index; aim
   <= 1.1x) and the second (from the index; aim <= 3 s at 200,000), against the bare
   ``os.scandir`` + ``json.load`` loop over the same files in one process, the ratio's base, and
   beside it the same loop split over two processes (what two cores could do at best); best of
   ``--repeats`` interleaved rounds.
4. Opening an mmpose body3d file of ``--rows`` rows (1.5 M: Human3.6M's train set at 10 fps, as
   mmpose's ``preprocess_h36m.py`` writes it: imgname, center, scale, part, S in float64): the
   first open (parses the image names, stores the labels in the index cache) and the second
   (from the cache), against a bare ``np.load`` of the file's arrays.
5. ``hpe evaluate --pred`` of an ``--eval-rows``-row prediction file (1,000,000 by default): its
   peak resident memory, in a fresh process, against reading the bare arrays it scores
   (prediction and ground truth float32, visible flags) in another; aim <= 1.1x.
Each side checks it saw every image or row and exits 1 if not; the Panoptic and evaluate lines
print the load average. ``--only`` picks sections (synthesis, loading, panoptic, mmpose,
evaluate); ``--record`` puts the figures into bench/README.md.
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


def bare_json_loop(root: Path, files: list[str] | None = None) -> int:
    """The baseline the issue names: ``os.scandir`` + ``json.load`` of every joints file, in one
    process (or of ``files`` only, one worker's half of the two-core reference)."""
    count = 0
    if files is not None:
        for path in files:
            with open(path, "rb") as fh:
                json.load(fh)
            count += 1
        return count
    for seq in os.scandir(root / "ProcessedPanopticDataset"):
        for entry in os.scandir(Path(seq.path) / "hdJoints"):
            with open(entry.path, "rb") as fh:
                json.load(fh)
            count += 1
    return count


def bare_json_loop_2(root: Path) -> int:
    """The same loop with the listed files split over two forked processes: what two cores could
    do at best (a reference beside the one-process baseline, which stays the ratio's base)."""
    import multiprocessing

    files = [e.path for seq in os.scandir(root / "ProcessedPanopticDataset")
             for e in os.scandir(Path(seq.path) / "hdJoints")]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return sum(pool.starmap(bare_json_loop, [(root, files[0::2]), (root, files[1::2])]))


def bench_panoptic(root: Path, args) -> list:
    """First open (parse + index, in worker processes) and second open (from the index) of a
    ``--samples``-file Panoptic set against the bare loop on one core and on two, best of
    ``--repeats`` interleaved rounds (each first open after removing the index)."""
    os.environ["HPE_STUDIO_CACHE"] = str(root / "cache")  # the bench's own cache, not the user's
    data = root / "panoptic"
    t_build, _ = timed(lambda: build_panoptic(data, args.samples))
    print(f"built a Panoptic set of {args.samples} joints files in {t_build:.1f} s; load {load()}")
    time.sleep(1.1)  # files modified less than a second before an open are not indexed
    rounds = {"bare": [], "bare2": [], "first": [], "second": []}
    for _ in range(args.repeats):
        shutil.rmtree(root / "cache", ignore_errors=True)
        counts = []
        for key, fn in (("bare", bare_json_loop), ("bare2", bare_json_loop_2), ("first", open_dataset),
                        ("second", open_dataset)):
            seconds, result = timed(lambda: fn(data))
            rounds[key].append(seconds)
            counts.append(result if isinstance(result, int) else len(result))
        if set(counts) != {args.samples}:
            sys.exit(f"panoptic: bare loops saw {counts[:2]} files, opens gave {counts[2:]} samples")
    t_touch, _ = timed(lambda: [result.column(c).sum() for c in ("joints_3d", "pose_id", "camera_id")])
    return report_panoptic(args, rounds, t_touch)


def report_panoptic(args, rounds: dict, t_touch: float) -> list:
    t_bare, t_bare2, t_first, t_second = (min(rounds[k]) for k in ("bare", "bare2", "first", "second"))
    n = args.samples
    print(f"bare os.scandir + json.load loop:     {t_bare:8.2f} s  (baseline, 1 process; {n / t_bare:,.0f} files/s)")
    print(f"the same loop over 2 processes:       {t_bare2:8.2f} s  ({n / t_bare2:,.0f} files/s)")
    print(f"first open (parse + index):           {t_first:8.2f} s  ratio to the bare loop {t_first / t_bare:.2f} "
          f"({n / t_first:,.0f} files/s: {t_bare / t_first:.0%} of the 1-process loop's rate, "
          f"{t_bare2 / t_first:.0%} of the 2-process loop's)")
    print(f"second open (from the index):         {t_second:8.2f} s  ratio {t_second / t_bare:.3f} (aim <= 3 s); "
          f"then reading its columns {t_touch:.2f} s")
    every = ", ".join(f"{k} " + "/".join(f"{v:.2f}" for v in vals) for k, vals in rounds.items())
    # a round's own ratios: a busy second core slows the two-process sides more than the bare loop
    pairs = "/".join(f"{f / b:.2f}" for f, b in zip(rounds["first"], rounds["bare"]))
    spread = "/".join(f"{b2 / b:.2f}" for b2, b in zip(rounds["bare2"], rounds["bare"]))
    print(f"rounds (s): {every}; first / bare in each round {pairs} (2-process loop / bare {spread}); load {load()}")
    return [(f"Panoptic {n:,}: second open", f"{t_second:.2f} s ({t_second / t_bare:.3f}x the bare loop)", "<= 3 s"),
            (f"Panoptic {n:,}: first open / bare scandir+json.load", f"{t_first / t_bare:.2f}x ({t_first:.1f} s; "
             f"{t_bare2 / t_first:.0%} of the bare loop's rate on 2 processes; each round {pairs}, where the "
             f"2-process loop took {spread} of the bare one)", "<= 1.1x (both cores)")]


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


# ---------------------------------------------------------------- evaluate memory
PEAK_CHILD = r"""
import contextlib, io, json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from hpe_core.cli import main
import hpe_core.commands.evaluate, hpe_core.inference.evaluate, hpe_core.inference.files, hpe_core.metric_report
import hpe_core.analysis.features, hpe_core.datasets.native

def status(key):  # bytes, from /proc/self/status
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key))

try:  # reset the peak resident size to what the imports left (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base, peak = status("VmRSS"), lambda: status("VmHWM")
except OSError:  # elsewhere the peak includes the imports'
    base, peak = 0, lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
kind, data = sys.argv[2], sys.argv[3]
start = time.perf_counter()
if kind == "bare":  # the arrays that evaluate scores, read into memory and nothing else
    with np.load(data + "/pred.npz") as z:
        held = [z["joints_3d"]]
    with np.load(data + "/ds/annotations.npz") as z:
        held += [z["joints_3d"], z["visible"]]
    samples = len(held[0])
else:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(["evaluate", "--pred", data + "/pred.npz", data + "/ds", "--split", "all", "--json"])
    assert code == 0, code
    samples = json.loads(out.getvalue())["samples"]
print(json.dumps({"peak": peak() - base, "samples": samples, "seconds": time.perf_counter() - start}))
"""


def build_predictions(folder: Path, rows: int) -> Path:
    """A native set of ``rows`` panoptic19 samples (3D joints float32 mm, visible, no images) and a
    prediction file (our .npz) of every row, the ground truth plus 40 mm of noise."""
    import numpy as np

    from hpe_core.datasets.native import write_native
    from hpe_core.geometry import Camera
    from hpe_core.predictions import Prediction

    rng = np.random.default_rng(0)
    gt = rng.standard_normal((rows, 19, 3), dtype=np.float32) * np.float32(300) + np.float32(4000)
    visible = rng.random((rows, 19), dtype=np.float32) > 0.05
    visible[:, 0] = True  # the root: MPJPE is root-centred
    camera = Camera(K=np.array([[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]]))
    write_native(folder / "ds", arrays={"joints_3d": gt, "visible": visible, "camera_id": np.zeros(rows, np.int32)},
                 cameras={0: camera})
    gt += rng.standard_normal(gt.shape, dtype=np.float32) * np.float32(40)
    Prediction(joints_3d=gt, frame="camera", skeleton="panoptic19").save(folder / "pred.npz")
    return folder


def peak_child(kind: str, folder: Path) -> dict:
    """Peak resident memory over what the imports use, of ``hpe evaluate --pred`` (``kind``
    "evaluate") or of reading the arrays it scores ("bare"), in a fresh process."""
    import subprocess

    repo = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", PEAK_CHILD, repo, kind, str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"evaluate memory ({kind}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_evaluate_memory(root: Path, args) -> list:
    """``hpe evaluate --pred`` of an ``--eval-rows``-row prediction file: its peak memory against the
    bare arrays it scores (prediction and ground-truth joints, visible flags) read alone."""
    t_build, folder = timed(lambda: build_predictions(root / "evaluate", args.eval_rows))
    print(f"built a {args.eval_rows:,}-row native set and prediction file in {t_build:.1f} s; load {load()}")
    bare, ev = peak_child("bare", folder), peak_child("evaluate", folder)
    if not bare["samples"] == ev["samples"] == args.eval_rows:
        sys.exit(f"evaluate memory: scored {ev['samples']} of {args.eval_rows} rows")
    mb, ratio, per = bare["peak"] / 1e6, ev["peak"] / bare["peak"], ev["peak"] / args.eval_rows
    print(f"the bare arrays read alone:           {mb:8.0f} MB  ({bare['peak'] / args.eval_rows:.0f} B a sample; "
          "baseline)")
    print(f"hpe evaluate --pred (peak):           {ev['peak'] / 1e6:8.0f} MB  ratio {ratio:.3f} ({per:.0f} B a sample, "
          f"{ev['seconds']:.1f} s); load {load()}")
    n = f"{args.eval_rows:,}"
    return [(f"evaluate {n} rows: peak memory / the bare arrays",
             f"{ratio:.3f}x ({ev['peak'] / 1e6:.0f} MB vs {mb:.0f} MB; {per:.0f} B a sample)", "<= 1.1x")]


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
    parser.add_argument("--eval-rows", type=int, default=1_000_000, help="rows of the evaluate memory set")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds of the Panoptic opens (best counts)")
    parser.add_argument("--only", default="synthesis,loading,panoptic,mmpose,evaluate")
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
        if "evaluate" in only:
            figures += bench_evaluate_memory(root, args)
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
