"""The demo's seed 001 models: a small heatmap network and a small lifter.

``build_pipeline_demo(spec, progress, events)`` trains, on the demo set, ``heatmap2d_cpu`` (as the
preset says) and ``lift_cpu`` with a 256-wide lifter (the report's 1024 would be 17 MB), then
:func:`write_pipeline_demo` writes ``heatmap2d.pt``, ``lifter.pt``, their configs under
``configs/`` and ``pipeline_metrics.json`` (test figures: the heatmap net's EPE and PCK@0.05, the
lifter's MPJPE / PA-MPJPE on ground-truth 2D and on the heatmap net's 2D). ``hpe demo build``
runs it after the other demo models; ``hpe demo pipeline`` runs it alone.
"""

from __future__ import annotations

import time
from pathlib import Path

from hpe_core import __version__, resources_dir
from hpe_core.progress import NullProgress

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
    from hpe_core.datasets.demo import DEMO_DATASET, QUICK_DATASET
    from hpe_core.studies.sequence import demo_runs

    progress = progress or NullProgress()
    started = time.monotonic()
    params = QUICK_DATASET if spec.quick else DEMO_DATASET
    with demo_runs(spec, pipeline_configs, progress, events, params=params, sub="pipeline",
                   span=(0.02, 0.92)) as (runs, _, dataset):
        progress.set_status("lifting the heatmap net's 2D")
        return write_pipeline_demo(spec.out, {name: r.checkpoint for name, r in runs.items()}, dataset,
                                   {name: r.seconds for name, r in runs.items()}, params, time.monotonic() - started)


def write_pipeline_demo(out: Path, checkpoints: dict, dataset: Path, seconds: dict, params: dict,
                        total: float) -> dict:
    """Write the two finished runs' best checkpoints (``checkpoints``: name -> path) into ``out``."""
    from hpe_core.studies.pipeline_eval import evaluate_pipeline
    from hpe_core.studies.shipping import build_info, ship_checkpoint, write_json

    models, files, runs, sizes = {}, {}, {}, {}
    for name, ckpt in checkpoints.items():
        models[name], training, files[name] = ship_checkpoint(ckpt, out, name, FILES[name])
        sizes[name] = int(training["config"]["data"]["image_size"])
        runs[name] = {"best": training.get("best"), "final": training.get("final"), "history": training.get("history")}
    figures = evaluate_pipeline(dataset, heatmap=models["heatmap2d"], lifter=models["lifter"],
                                image_size=sizes["heatmap2d"])
    metrics = {"format": "hpe-studio-demo-pipeline-metrics", "format_version": 1, "hpe_version": __version__,
               "dataset": {"generator": "synthetic", **params}, "summary": figures, "runs": runs, "files": files,
               "train_seconds": {k: round(v, 1) for k, v in seconds.items()}, "build": build_info(total)}
    write_json(out / METRICS_FILE, metrics)
    return metrics
