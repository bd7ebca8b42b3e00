"""Seed 004's part maps written out for a dataset: one PNG per sample (parts coloured, alpha = the
map's value) and a ``parts.npz`` of every map (``hpe parts``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError
from hpe_core.datasets.part_maps import colour_parts, parts_of, render_part_maps


@dataclass(frozen=True)
class PartsSpec:
    """``hpe parts``: the part maps of ``dataset``'s ground-truth 2D joints into ``out``."""

    dataset: str
    out: str
    max_samples: int | None = None
    batch_size: int = 64


def write_part_maps(spec: PartsSpec, progress=None) -> dict:
    """PNG per sample (``DIR/<index>.png``, parts coloured, alpha = map value) and ``parts.npz``
    (``maps`` uint8 (N, P, H, W) 0..255, ``index``, ``parts``); returns a summary."""
    from hpe_core.atomic import atomic_path
    from hpe_core.datasets import open_dataset
    from hpe_core.progress import NullProgress, check_cancelled

    progress = progress or NullProgress()
    ds = open_dataset(spec.dataset)
    parts = parts_of(ds.skeleton)
    if ds.joints_2d is None:
        raise InputError(f"{spec.dataset}: the dataset has no 2D joints to draw part maps from")
    out = _output_folder(spec.out)
    n = len(ds) if spec.max_samples is None else min(len(ds), int(spec.max_samples))
    if n < 1:
        raise InputError(f"{spec.dataset}: no samples to draw")
    try:
        h, w = ds.image_hw(0)
    except (InputError, OSError) as exc:
        raise InputError(f"{ds.sample_name(0)}: no image size to draw part maps on ({exc})") from None
    maps = np.zeros((n, len(parts), h, w), np.uint8)
    for start in range(0, n, spec.batch_size):
        check_cancelled(progress)
        rows = np.arange(start, min(n, start + spec.batch_size))
        batch = render_part_maps(np.asarray(ds.joints_2d[rows], np.float32), ds.skeleton, (h, w))
        maps[rows] = np.round(batch * 255).astype(np.uint8)
        _write_pictures(out, rows, batch, ds.skeleton)
        progress.set_progress(rows[-1] / max(n - 1, 1))
    with atomic_path(out / "parts.npz", suffix=".npz") as tmp:
        np.savez_compressed(tmp, maps=maps, index=np.arange(n), parts=np.array([p.name for p in parts]))
    return {"dataset": str(spec.dataset), "out": str(out), "samples": n, "parts": [p.name for p in parts],
            "size": [h, w], "npz": str(out / "parts.npz")}


def _output_folder(value: str) -> Path:
    """``value`` as a folder, made if missing; an InputError when a file is there."""
    out = Path(value).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write_pictures(out: Path, rows: np.ndarray, batch: np.ndarray, skeleton) -> None:
    """``out/<row>.png`` of each sample's maps ``batch`` (n, P, H, W): parts coloured, alpha = map value."""
    import cv2

    from hpe_core.atomic import atomic_path

    for k, i in enumerate(rows):
        rgba = colour_parts(batch[k], skeleton)
        bgra = (np.clip(rgba[..., [2, 1, 0, 3]], 0, 1) * 255).astype(np.uint8)
        with atomic_path(out / f"{i:06d}.png", suffix=".png") as tmp:
            if not cv2.imwrite(str(tmp), bgra):
                raise OSError(f"{out / f'{i:06d}.png'}: could not write")
