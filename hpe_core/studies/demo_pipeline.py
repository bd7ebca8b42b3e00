"""The demo's seed 001 models: a small heatmap network and a small lifter.

``build_pipeline_demo(spec, progress, events)`` trains, on the demo set, ``heatmap2d_cpu`` (as the
preset says) and ``lift_cpu`` with a 256-wide lifter (the report's 1024 would be 17 MB), then
:func:`write_pipeline_demo` writes ``heatmap2d.pt``, ``lifter.pt``, their configs under
``configs/`` and ``pipeline_metrics.json`` (test figures: the heatmap net's EPE and PCK@0.05, the
lifter's MPJPE / PA-MPJPE on ground-truth 2D and on the heatmap net's 2D). ``hpe demo build``
runs it after the other demo models; ``hpe demo pipeline`` runs it alone.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from hpe_core import __version__, resources_dir
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, check_cancelled, stage

FILES = {"heatmap2d": "heatmap2d.pt", "lifter": "lifter.pt"}
METRICS_FILE = "pipeline_metrics.json"
DEMO_LIFTER = ["model.options.linear_size=256"]


def pipeline_configs(spec, work: Path, dataset: Path) -> dict:
    """name -> Config of the two runs."""
    from hpe_core.training.config import load_config

    presets = resources_dir() / "presets"
    quick = ["train.epochs=1", "train.batch_size=16", "train.max_steps_per_epoch=2", "data.image_size=64",
             "model.width=8"] if spec.quick else []
    common = [f"data.path={dataset}", *quick, *spec.overrides]
    return {"heatmap2d": load_config(presets / "heatmap2d_cpu.yaml", [*common, f"train.output={work / 'heatmap2d'}"]),
            "lifter": load_config(presets / "lift_cpu.yaml", [*common, *DEMO_LIFTER, f"train.output={work / 'lifter'}"])}


def build_pipeline_demo(spec, progress=None, events=None) -> dict:
    """Train both runs and write them into ``spec.out``; returns the metrics."""
    from hpe_core.datasets.demo import DEMO_DATASET, QUICK_DATASET, demo_dataset_path
    from hpe_core.training.loop import run_training

    progress = progress or NullProgress()
    started = time.monotonic()
    spec.out.mkdir(parents=True, exist_ok=True)
    params = QUICK_DATASET if spec.quick else DEMO_DATASET
    dataset = demo_dataset_path(params, stage(progress, 0.0, 0.02))
    work = Path(spec.work) / "pipeline" if spec.work else Path(tempfile.mkdtemp(prefix="hpe-demo-pipeline-"))
    try:
        checkpoints, seconds = {}, {}
        for i, (name, config) in enumerate(pipeline_configs(spec, work, dataset).items()):
            check_cancelled(progress)
            progress.set_status(f"training {name}")
            t0 = time.monotonic()
            result = run_training(config, stage(progress, 0.02 + 0.9 * i / 2, 0.02 + 0.9 * (i + 1) / 2), events)
            if result.reason != "finished":
                raise InputError(f"demo build: {name} was interrupted; nothing was written to {spec.out}")
            checkpoints[name], seconds[name] = result.best_checkpoint, time.monotonic() - t0
        progress.set_status("lifting the heatmap net's 2D")
        return write_pipeline_demo(spec.out, checkpoints, dataset, seconds, params, time.monotonic() - started)
    finally:
        if not spec.work:
            shutil.rmtree(work, ignore_errors=True)


def write_pipeline_demo(out: Path, checkpoints: dict, dataset: Path, seconds: dict, params: dict,
                        total: float) -> dict:
    """Write the two finished runs' best checkpoints (``checkpoints``: name -> path) into ``out``."""
    from hpe_core.studies.demo import _write_json
    from hpe_core.models.checkpoint import file_hash, load_checkpoint, save_checkpoint
    from hpe_core.training.events import _clean

    (out / "configs").mkdir(parents=True, exist_ok=True)
    models, files, runs, sizes = {}, {}, {}, {}
    for name, ckpt in checkpoints.items():
        model, info = load_checkpoint(ckpt)
        sizes[name] = int(info.training["config"]["data"]["image_size"])
        training = dict(info.training)
        config = training["config"]
        config["train"]["output"], config["data"]["path"] = f"runs/demo/{name}", "demo"
        path = save_checkpoint(out / FILES[name], model, training=training)
        _write_json(out / "configs" / f"{name}.json", config)
        files[name] = {"file": path.name, "sha256": file_hash(path), "bytes": path.stat().st_size,
                       "config": f"configs/{name}.json"}
        runs[name] = {"best": training.get("best"), "final": training.get("final"), "history": training.get("history")}
        models[name] = model
    from hpe_core.studies.pipeline_eval import evaluate_pipeline

    figures = evaluate_pipeline(dataset, heatmap=models["heatmap2d"], lifter=models["lifter"],
                                image_size=sizes["heatmap2d"])
    metrics = {"format": "hpe-studio-demo-pipeline-metrics", "format_version": 1, "hpe_version": __version__,
               "dataset": {"generator": "synthetic", **params}, "summary": figures, "runs": runs, "files": files,
               "train_seconds": {k: round(v, 1) for k, v in seconds.items()},
               "build": {"seconds": round(total, 1), "machine": platform.machine(), "cpus": os.cpu_count()}}
    _write_json(out / METRICS_FILE, _clean(metrics))
    return metrics

