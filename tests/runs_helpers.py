"""Shared by the tests of runs, queues, sweeps and trackers: one tiny lifting run (the ``lift_cpu``
demo preset on 20 synthetic poses, 2 epochs of 3 steps, a 32-wide MLP) that trains in about a
second, and the ``hpe`` command run from this tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESET = ROOT / "resources" / "presets" / "lift_cpu.yaml"
#: the preset made tiny: every run trains in about a second on one core
TINY = ("train.epochs=2", "model.options.linear_size=32", "train.batch_size=16", "train.log_every=1",
        "train.threads=1", "train.device=cpu")


def make_tiny_dataset(folder: Path) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    synthesize(SynthSpec(folder, poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return folder


def tiny_raw(dataset: Path, output: Path, *overrides: str) -> dict:
    """The plain config of a tiny run writing into ``output``."""
    from hpe_core.training.config_data import apply_overrides, read_mapping

    return apply_overrides(read_mapping(PRESET), [*TINY, f"data.path={dataset}", f"train.output={output}",
                                                  *overrides])


def write_tiny_config(path: Path, dataset: Path, output: Path, *overrides: str) -> Path:
    path.write_text(json.dumps(tiny_raw(dataset, output, *overrides)))
    return path


def hpe(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    env = kw.pop("env", None)
    return subprocess.run([sys.executable, "-m", "hpe_core.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=env, **kw)
