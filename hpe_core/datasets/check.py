"""The dataset health check behind ``hpe data check``.

Every sample is looked at once: its image file (missing, empty, truncated, undecodable), its
pixels (near-uniform frames, frames where one colour channel is saturated and the others are
dark, like the entirely green CMU Panoptic frames seed 000 found; exact duplicates of another
sample's frame) and its joints (NaN where marked visible or no visible joint at all, points
behind the camera, 2D joints far outside the image). The report counts each problem and names
every flagged sample; the names can be written as a skip list the readers honour.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpe_core.datasets.fileio import decode_image, image_problem
from hpe_core.errors import DatasetError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

PROBLEMS = {
    "missing_image": "image file does not exist",
    "empty": "image file is empty",
    "truncated": "image file is truncated",
    "unreadable": "image does not decode",
    "uniform": "near-uniform frame (e.g. black)",
    "saturated": "one colour channel saturated, the others dark (e.g. an all-green frame)",
    "duplicate": "same pixels as an earlier sample",
    "nan_joints": "NaN joints marked visible, or no visible joint",
    "behind_camera": "3D joints at or behind the camera plane",
    "outside_image": "2D joints far outside the image",
}
CHUNK = 64


@dataclass(frozen=True)
class CheckSpec:
    """What to check and the thresholds."""

    path: str | Path
    skip_list: str | Path | None = None
    write_skip_list: str | Path | None = None
    images: str | Path | None = None  # an mmpose body3d file's image folder, if not beside it
    uniform_std: float = 3.0  # a frame whose every channel has a smaller std (0-255) is near-uniform
    saturated_fraction: float = 0.9  # of pixels with one channel >= 200 and the others <= 80
    outside_margin: float = 0.5  # how far outside the image (fraction of its size) a joint may be


def image_stats(image: np.ndarray, spec: CheckSpec) -> list[str]:
    """Problems of a decoded (H, W, 3) uint8 image: "uniform", "saturated"."""
    import cv2

    small = image
    if max(image.shape[:2]) > 96:
        scale = 96 / max(image.shape[:2])
        small = cv2.resize(image, (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    flat = small.reshape(-1, 3)
    out = []
    if flat.std(axis=0).max() < spec.uniform_std:
        out.append("uniform")
    high, low = flat >= 200, flat <= 80
    for c in range(3):
        others = [k for k in range(3) if k != c]
        if (high[:, c] & low[:, others].all(axis=1)).mean() >= spec.saturated_fraction:
            out.append("saturated")
            break
    return out


def _look(dataset, i: int, spec: CheckSpec) -> tuple[list[str], bytes | None, tuple | None, str | None]:
    """(problems, pixel digest, image shape, file key) of the image of sample ``i``."""
    path = dataset.image_path(i)
    try:
        if path is not None:
            if not path.is_file():
                return ["missing_image"], None, None, str(path)
            data = path.read_bytes()
            problem = image_problem(data)
            if problem:
                return [problem], None, None, str(path)
            image = decode_image(data, path)
        else:
            image = dataset.load_image(i)
    except (DatasetError, OSError):
        return ["unreadable"], None, None, None if path is None else str(path)
    digest = hashlib.blake2b(image.tobytes() + repr(image.shape).encode(), digest_size=16).digest()
    return image_stats(image, spec), digest, image.shape, None if path is None else str(path)


def _joint_problems(dataset, i: int, shape, spec: CheckSpec) -> list[str]:
    out = []
    visible = np.asarray(dataset.visible[i], bool)
    j2 = np.asarray(dataset.joints_2d[i], np.float64)
    j3 = None if dataset.joints_3d is None else np.asarray(dataset.joints_3d[i], np.float64)
    bad = ~np.isfinite(j2).all(-1) & visible
    if j3 is not None:
        bad |= ~np.isfinite(j3).all(-1) & visible
        finite = np.isfinite(j3).all(-1)
        if np.any(j3[finite, 2] <= 0):
            out.append("behind_camera")
    if bad.any() or not visible.any():
        out.append("nan_joints")
    height, width = (shape[0], shape[1]) if shape else _camera_size(dataset, i)
    if width and height:
        pts = j2[visible & np.isfinite(j2).all(-1)]
        mx, my = spec.outside_margin * width, spec.outside_margin * height
        if len(pts) and np.any((pts[:, 0] < -mx) | (pts[:, 0] > width + mx) | (pts[:, 1] < -my) | (pts[:, 1] > height + my)):
            out.append("outside_image")
    return out


def _camera_size(dataset, i: int) -> tuple[int, int]:
    cam = dataset.camera(i)
    return (cam.height, cam.width) if cam is not None else (0, 0)


def check_dataset(dataset, progress: ProgressSink | None = None, spec: CheckSpec | None = None) -> dict:
    """The health report of ``dataset`` (see the module docstring); cancellable."""
    progress = progress or NullProgress()
    spec = spec or CheckSpec(path=dataset.path)
    start = time.perf_counter()
    n = len(dataset)
    has_images = dataset.info()["has_images"]
    annotated = dataset.has("joints_2d") or dataset.has("joints_3d")
    seen: dict[bytes, tuple[int, str | None]] = {}
    issues, counts = [], {k: 0 for k in PROBLEMS}
    progress.set_status(f"Checking {n} samples")
    with ThreadPoolExecutor(max_workers=4) as pool:
        for lo in range(0, n, CHUNK):
            check_cancelled(progress)
            idx = range(lo, min(n, lo + CHUNK))
            looks = pool.map(lambda i: _look(dataset, i, spec), idx) if has_images else [([], None, None, None)] * len(idx)
            for i, (problems, digest, shape, key) in zip(idx, looks):
                problems = list(problems)
                if digest is not None:
                    first = seen.setdefault(digest, (i, key))
                    if first[0] != i and (key is None or first[1] != key):
                        problems.append("duplicate")
                if annotated:
                    problems += _joint_problems(dataset, i, shape, spec)
                if problems:
                    for p in problems:
                        counts[p] += 1
                    issues.append({"index": i, "name": dataset.sample_name(i), "problems": problems})
            progress.set_progress(min(n, lo + CHUNK) / max(n, 1))
    return {"path": str(dataset.path), "format": dataset.format, "samples": n, "flagged": len(issues),
            "counts": counts, "issues": issues, "images_checked": has_images, "joints_checked": annotated,
            "left_out": left_out(dataset), "seconds": round(time.perf_counter() - start, 3)}


def left_out(dataset) -> list[dict]:
    """``[{"name", "why"}]`` of every file the reader left out (not a sample: empty, truncated,
    not an image), so a report names them rather than counting only what was read."""
    return [{"name": str(name), "why": str(why)} for name, why in getattr(dataset, "unreadable", None) or ()]


def run_check(spec: CheckSpec, progress: ProgressSink | None = None) -> dict:
    """Open ``spec.path``, check it, and write the skip list when asked; return the report."""
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.skiplist import write_skip_list

    dataset = open_dataset(spec.path, skip_list=spec.skip_list, images=spec.images)
    report = check_dataset(dataset, progress, spec)
    report["skip_list"] = None
    if spec.write_skip_list:
        names = sorted({issue["name"] for issue in report["issues"]})
        write_skip_list(spec.write_skip_list, names, comment=f"written by hpe data check for {dataset.path}")
        report["skip_list"] = str(spec.write_skip_list)
    return report


def check_text(report: dict) -> str:
    """The report as text: a summary line, the counts, then every flagged sample by problem."""
    gone = report.get("left_out") or []
    lines = [f"{report['path']} ({report['format']}): {report['samples']} samples, {report['flagged']} flagged"
             + (f", {len(gone)} file(s) left out" if gone else "")]
    for key, count in report["counts"].items():
        if count:
            lines.append(f"  {key:<14} {count:>7}  {PROBLEMS[key]}")
    for key in PROBLEMS:
        names = [issue["name"] for issue in report["issues"] if key in issue["problems"]]
        if names:
            lines.append(f"{key}:")
            lines.extend(f"  {name}" for name in names)
    lines += left_out_lines(gone)
    if report.get("skip_list"):
        lines.append(f"skip list written to {report['skip_list']}")
    return "\n".join(lines)


def left_out_lines(gone: list[dict]) -> list[str]:
    """The files a reader left out, one line each with why (for ``hpe data check`` and ``info``)."""
    if not gone:
        return []
    return [f"left out (not samples): {len(gone)} file(s)"] + [f"  {g['name']}: {g['why']}" for g in gone]
