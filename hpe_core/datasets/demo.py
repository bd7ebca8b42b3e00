"""The demo dataset's names and where it lives.

``demo_dataset_path()`` returns the demo dataset, generating it (deterministically, in seconds)
into the cache (:func:`hpe_core.cache_dirs.cache_root`) the first time; a config's ``data.path``
may name it ``demo`` or ``demo-heldout`` (:func:`demo_alias`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hpe_core import resources_dir
from hpe_core.cache_dirs import cache_root
from hpe_core.progress import NullProgress

#: the demo dataset (a change here regenerates it under a new cache name); the GUI opens it, and the
#: VAE lifter and seed 001's step train on it (a seeded 60/20/20 split of the poses)
DEMO_DATASET = {"poses": 2500, "cameras": 4, "size": 96, "seed": 0, "subjects": 12}
#: seed 000's step: the same images split by subject (P00-P07 train, P08-P09 validate, P10-P11
#: test), so its test split shows people no encoder or head saw (docs/demo_recipe.md)
SEED000_DATASET = {**DEMO_DATASET, "held_out_subjects": 2}
#: the names a config's ``data.path`` may give these sets by (the shipped configs use them)
DEMO_NAMES = {"demo": DEMO_DATASET, "demo-heldout": SEED000_DATASET}
#: a tiny stand-in, for tests of the build itself
QUICK_DATASET = {"poses": 48, "cameras": 4, "size": 64, "seed": 0, "subjects": 4}

_SHORT = {"held_out_subjects": "heldout"}  # the name shows in the GUI's dataset lists: keep it short


def _dataset_name(params: dict) -> str:
    prefix = "demo-" if "held_out_subjects" in params else "demo-dataset-"
    return prefix + "-".join(f"{_SHORT.get(k, k)}{v}" for k, v in sorted(params.items()))


def demo_alias(path) -> dict | None:
    """The parameters of the demo set that ``data.path`` names ("demo", "demo-heldout"), else None."""
    return DEMO_NAMES.get(path) if isinstance(path, str) else None


def demo_dataset_path(params: dict | None = None, progress=None) -> Path:
    """The demo dataset folder, generated into the cache when missing (atomically): its
    annotations only, in seconds; each image renders when first read
    (:mod:`hpe_core.datasets.synthetic.lazy`), so the GUI shows the first samples at once."""
    from hpe_core.datasets.synthetic import SynthSpec, synthesize

    params = dict(DEMO_DATASET if params is None else params)
    shipped = resources_dir() / "demo" / _dataset_name(params)
    if (shipped / "dataset.json").is_file():
        return shipped
    target = cache_root() / _dataset_name(params)
    if (target / "dataset.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=target.parent))
    try:
        synthesize(SynthSpec(out=tmp / "d", **params), progress or NullProgress(), lazy=True)
        try:
            os.replace(tmp / "d", target)
        except OSError:  # another process finished first
            if not (target / "dataset.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
