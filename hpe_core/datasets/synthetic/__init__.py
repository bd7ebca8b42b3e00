"""The synthetic multi-view people dataset: the built-in default when no real data is at hand.

``synthesize(SynthSpec(out, poses, cameras, size, seed, corrupt), progress)`` draws ``poses``
people (``subjects`` distinct bodies and outfits) in 17 actions, seen by a ring of ``cameras``
cameras that all see every pose (views of one ``pose_id`` are the positive pairs of contrastive
learning), and writes the native format. Deterministic for a seed: every pose and view draws
from its own seeded stream. ``views="varied"`` (opt-in, :mod:`.variety`) gives each view its
own light, wall texture, occluders and camera effects; ``held_out_subjects=k`` writes a subject
split (the last k subjects test, the k before them validate). ``corrupt`` plants all-green, black and truncated frames; which
ones is :func:`planted_faults` (also written to ``planted_faults.json``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink

__all__ = ["SynthSpec", "synthesize", "planted_faults", "subject_split", "FAULT_KINDS"]

FAULT_KINDS = ("green", "black", "truncated")


@dataclass(frozen=True)
class SynthSpec:
    """What to generate. ``poses`` x ``cameras`` samples of ``size`` x ``size`` px."""

    out: str | Path
    poses: int = 2000
    cameras: int = 4
    size: int = 128
    seed: int = 0
    corrupt: float = 0.0  # fraction of samples with a planted fault
    subjects: int = 12
    quality: int = 90  # JPEG quality
    overwrite: bool = False
    part_masks: bool = False  # also write the renderer's per-part masks (parts/CC/PPPPPP.png, 16-bit)
    views: str = "plain"  # "varied": each view its own light, wall texture, occluders, colour cast, noise
    held_out_subjects: int = 0  # >0: the last k subjects are the test split, the k before them val

    def validate(self) -> None:
        checks = [(self.poses >= 1, "poses must be at least 1"),
                  (1 <= self.cameras <= 64, "cameras must be 1 to 64"),
                  (32 <= self.size <= 1024, "size must be 32 to 1024 px"),
                  (0.0 <= self.corrupt < 1.0, "corrupt must be a fraction in [0, 1)"),
                  (self.subjects >= 1, "subjects must be at least 1"),
                  (20 <= self.quality <= 100, "quality must be 20 to 100"),
                  (self.seed >= 0, "seed must be non-negative"),
                  (self.views in ("plain", "varied"), f"views must be 'plain' or 'varied', got {self.views!r}"),
                  (0 <= self.held_out_subjects and (self.held_out_subjects == 0 or 2 * self.held_out_subjects
                                                    < self.subjects),
                   "held_out_subjects must be 0, or k with 2k below the number of subjects")]
        for ok, message in checks:
            if not ok:
                raise InputError(f"synthetic dataset: {message}")


def planted_faults(spec: SynthSpec) -> dict[int, str]:
    """Sample index -> fault kind ("green", "black", "truncated") that ``spec`` plants."""
    n = spec.poses * spec.cameras
    count = int(round(spec.corrupt * n))
    if count == 0:
        return {}
    rng = np.random.default_rng([spec.seed, 99])
    rows = np.sort(rng.choice(n, size=count, replace=False))
    kinds = np.resize(np.arange(len(FAULT_KINDS)), count)
    rng.shuffle(kinds)
    return {int(r): FAULT_KINDS[k] for r, k in zip(rows, kinds)}


def _prepare_out(spec: SynthSpec) -> tuple[Path, Path]:
    out = Path(spec.out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not spec.overwrite:
        raise InputError(f"--out {out}: folder exists and is not empty (choose a new folder or overwrite it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return out, tmp


def _finish(out: Path, tmp: Path) -> None:
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def synthesize(spec: SynthSpec, progress: ProgressSink | None = None, lazy: bool = False) -> Path:
    """Render the dataset of ``spec`` into ``spec.out`` (written in a temporary folder, then
    moved into place); return its path. Cancelling leaves nothing behind. ``lazy``: write the
    annotations only; each image is rendered when first read (:mod:`.lazy`)."""
    from hpe_core.datasets.synthetic.scene import SceneMaker

    progress = progress or NullProgress()
    spec.validate()
    out, tmp = _prepare_out(spec)
    try:
        maker = SceneMaker(spec)
        faults = planted_faults(spec)
        if lazy and spec.part_masks:
            raise InputError("synthetic dataset: part masks are written with the images; not with lazy rendering")
        if lazy:
            progress.set_status(f"Posing {spec.poses} poses x {spec.cameras} cameras (images render when shown)")
            arrays = maker.annotate_all(tmp, progress)
        else:
            progress.set_status(f"Rendering {spec.poses} poses x {spec.cameras} cameras")
            arrays = maker.render_all(tmp, faults, progress)
        _write(tmp, spec, maker, arrays, faults, lazy)
        _finish(out, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    progress.set_progress(1.0)
    return out


def _write(tmp: Path, spec: SynthSpec, maker, arrays: dict, faults: dict, lazy: bool = False) -> None:
    from hpe_core.datasets.native import DEFAULT_PATTERN, write_native
    from hpe_core.datasets.synthetic.actions import ACTION_NAMES

    extra = {"generator": {"name": "hpe-studio synthetic", "poses": spec.poses, "cameras": spec.cameras,
                           "size": spec.size, "seed": spec.seed, "corrupt": spec.corrupt,
                           "subjects": spec.subjects, "quality": spec.quality, **_masks_meta(spec),
                           **({"render_on_demand": True} if lazy else {}),
                           **_variety_meta(spec), "created": time.strftime("%Y-%m-%dT%H:%M:%S")}}
    if spec.held_out_subjects:
        extra["subject_split"] = subject_split(spec.subjects, spec.held_out_subjects)
    write_native(tmp, arrays=arrays, cameras=maker.cameras, skeleton="panoptic19",
                 image_size=(spec.size, spec.size), pattern=DEFAULT_PATTERN,
                 names={"action": list(ACTION_NAMES), "subject": [f"P{k:02d}" for k in range(spec.subjects)],
                        "sequence": ["synthetic"]}, extra=extra)
    listing = [{"index": i, "file": DEFAULT_PATTERN.format(camera_id=i % spec.cameras, pose_id=i // spec.cameras),
                "fault": kind} for i, kind in sorted(faults.items())]
    (tmp / "planted_faults.json").write_text(json.dumps(listing, indent=1))


def _masks_meta(spec: SynthSpec) -> dict:
    if not spec.part_masks:
        return {}
    from hpe_core.datasets.synthetic.masks import PART_NAMES, PATTERN

    return {"part_masks": {"pattern": PATTERN, "parts": list(PART_NAMES), "amodal": True}}


def subject_split(subjects: int, held_out: int) -> dict[str, list[str]]:
    """Subject names per split when ``held_out`` subjects are kept out for each of val and test:
    the last ``held_out`` are the test subjects, the ``held_out`` before them validate."""
    names = [f"P{k:02d}" for k in range(subjects)]
    cut = subjects - 2 * held_out
    return {"train": names[:cut], "val": names[cut:subjects - held_out], "test": names[subjects - held_out:]}


def _variety_meta(spec: SynthSpec) -> dict:
    """The opt-in options, recorded only when set (a default dataset's manifest is unchanged)."""
    out = {}
    if spec.views != "plain":
        out["views"] = spec.views
    if spec.held_out_subjects:
        out["held_out_subjects"] = spec.held_out_subjects
    return out
