"""The demo's UniHPE checkpoint: ``hpe demo build-unihpe`` (a step of its own, beside ``hpe demo build``).

Trains the three stages on the demo synthetic set with the ``unihpe_stage1|2|3_cpu`` presets
(stage 2 and 3 with the triplet loss, the decoders with the modality token, 64 px images and a
seeded 3000-sample training subset so the build stays within minutes), scores its three
inference paths on the test split, and writes ``unihpe.pt`` (weights stored as float16 to keep
the demo small; they load as float32), ``configs/unihpe.json`` and ``unihpe_metrics.json``.
With ``--work DIR``, a stage whose finished run of the same config is already in
``DIR/stage<k>`` is kept rather than retrained.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hpe_core import __version__, resources_dir
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, check_cancelled, stage

DEMO_OVERRIDES = ("data.image_size=64", "data.max_train_samples=3000", "data.max_eval_samples=400")
FILES = ("unihpe.pt", "configs/unihpe.json", "unihpe_metrics.json")


@dataclass(frozen=True)
class UniHPEDemoSpec:
    out: Path = field(default_factory=lambda: resources_dir() / "demo")
    work: Path | None = None
    quick: bool = False
    overrides: tuple[str, ...] = ()
    eval_samples: int = 600


def build_unihpe_demo(spec: UniHPEDemoSpec, progress=None) -> dict:
    from hpe_core.analysis.features import select_indices
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.demo import QUICK_DATASET, demo_dataset_path
    from hpe_core.models.checkpoint import file_hash, load_checkpoint, save_checkpoint
    from hpe_core.training.config import load_config
    from hpe_core.training.loop import run_training
    from hpe_core.studies.unihpe_ablation import QUICK
    from hpe_core.studies.unihpe_eval import evaluate_paths

    progress = progress or NullProgress()
    started = time.monotonic()
    dataset = demo_dataset_path(QUICK_DATASET if spec.quick else None, stage(progress, 0.0, 0.05))
    work = Path(spec.work) if spec.work else Path(tempfile.mkdtemp(prefix="hpe-unihpe-demo-"))
    try:
        init, seconds, result = None, {}, None
        for k in (1, 2, 3):
            check_cancelled(progress)
            progress.set_status(f"unihpe stage {k}")
            sets = [f"data.path={dataset if spec.quick else 'demo'}", f"train.output={work / f'stage{k}'}", *DEMO_OVERRIDES,
                    *(QUICK if spec.quick else ()), *spec.overrides]
            if k == 3:
                sets.append("model.options.modality_token=true")
            if init:
                sets.append(f"model.init={init}")
            config = load_config(resources_dir() / "presets" / f"unihpe_stage{k}_cpu.yaml", sets)
            done = _finished_run(work / f"stage{k}" / "best.pt", config)
            if done is not None:  # a finished run of this very config in --work: kept, not retrained
                init, seconds[f"stage{k}"] = done, "reused"
                continue
            t0 = time.monotonic()
            result = run_training(config, stage(progress, 0.05 + 0.25 * (k - 1), 0.05 + 0.25 * k))
            if result.reason != "finished":
                raise InputError(f"demo build: unihpe stage {k} was interrupted; nothing was written")
            seconds[f"stage{k}"] = round(time.monotonic() - t0, 1)
            init = result.best_checkpoint
        model, info = load_checkpoint(init)
        ds = open_dataset(dataset)
        rows = select_indices(ds, "test", 32 if spec.quick else spec.eval_samples, 0)
        report = evaluate_paths(model, ds, rows, progress=stage(progress, 0.8, 1.0))
        spec.out.mkdir(parents=True, exist_ok=True)
        (spec.out / "configs").mkdir(exist_ok=True)
        training = dict(info.training)
        config = training["config"]
        config["data"]["path"], config["model"]["init"] = "demo", "(stage-2 checkpoint)"
        config["train"]["output"] = "runs/demo/unihpe"
        path = save_checkpoint(spec.out / "unihpe.pt", model.half(), training=training)
        _write(spec.out / "configs" / "unihpe.json", config)
        doc = {"format": "hpe-studio-demo-unihpe", "format_version": 1, "hpe_version": __version__,
               "file": path.name, "sha256": file_hash(path), "bytes": path.stat().st_size,
               "evaluation": {"split": "test", **report}, "train_seconds": seconds,
               "seconds": round(time.monotonic() - started, 1), "quick": spec.quick}
        _write(spec.out / "unihpe_metrics.json", doc)
    finally:
        if not spec.work:
            shutil.rmtree(work, ignore_errors=True)
    return doc


def _finished_run(path: Path, config) -> Path | None:
    """``path`` when it is the best checkpoint of a finished run of ``config`` (the same settings
    but for where it was written and which file it started from), else None."""
    from hpe_core.training.checkpoints import read_raw

    if not path.is_file():
        return None
    training = read_raw(path).get("training") or {}
    stored, wanted = training.get("config") or {}, config.to_dict()
    for doc in (stored, wanted):
        doc.get("train", {}).pop("output", None)
        doc.get("model", {}).pop("init", None)
    return path if training.get("complete") and stored == wanted else None


def _write(path: Path, data: dict) -> None:
    from hpe_core.atomic import atomic_write
    from hpe_core.training.events import _clean

    atomic_write(path, json.dumps(_clean(data), indent=2, allow_nan=False) + "\n")
