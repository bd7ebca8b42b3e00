"""The demo's VAE lifter (seed 003): ``vae_lifter.pt``, its config and ``vae_metrics.json``.

``build_vae_demo(spec, progress, events)`` trains with the ``vae_lift_cpu`` preset on the demo
set twice: from 2D alone (the shipped checkpoint) and, as the thesis' check, with 3D labels
(``vae.supervised``; figures only). ``vae_metrics.json`` records the test-split figures of both
(mean hypothesis and best of K), the mean-pose baseline, and the histories. ``hpe demo build``
runs it after the other demo models; ``hpe demo build --only vae`` runs it alone.
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

VAE_FILE = "vae_lifter.pt"
METRICS_FILE = "vae_metrics.json"
RUNS = ("vae_lifter", "vae_lifter_supervised")
FIGURES = ("mpjpe", "n_mpjpe", "pa_mpjpe", "bh_mpjpe", "bh_n_mpjpe", "bh_pa_mpjpe")


def vae_configs(spec, work: Path, dataset: Path) -> dict:
    """name -> Config of the two runs, from the ``vae_lift_cpu`` preset."""
    from hpe_core.training.config import load_config

    preset = resources_dir() / "presets" / "vae_lift_cpu.yaml"
    quick = ["vae.neurons=16", "vae.latent_dim=4", "train.epochs=2", "train.batch_size=16",
             "train.max_steps_per_epoch=3", "vae.hypotheses=3"] if spec.quick else []
    common = [f"data.path={dataset}", *quick, *spec.overrides]
    return {name: load_config(preset, [*common, f"vae.supervised={'true' if 'supervised' in name else 'false'}",
                                       f"train.output={work / name}"]) for name in RUNS}


def build_vae_demo(spec, progress=None, events=None) -> dict:
    """Train the two runs and write ``vae_lifter.pt``, ``configs/vae_lifter.json`` and
    ``vae_metrics.json`` into ``spec.out``; returns the metrics."""
    from hpe_core.datasets.demo import DEMO_DATASET, QUICK_DATASET, demo_dataset_path
    from hpe_core.training.loop import run_training

    progress = progress or NullProgress()
    started = time.monotonic()
    spec.out.mkdir(parents=True, exist_ok=True)
    params = QUICK_DATASET if spec.quick else DEMO_DATASET
    dataset = demo_dataset_path(params, stage(progress, 0.0, 0.02))
    work = Path(spec.work) / "vae" if spec.work else Path(tempfile.mkdtemp(prefix="hpe-demo-vae-"))
    try:
        configs = vae_configs(spec, work, dataset)
        results, seconds = {}, {}
        for i, (name, config) in enumerate(configs.items()):
            check_cancelled(progress)
            progress.set_status(f"training {name}")
            t0 = time.monotonic()
            result = run_training(config, stage(progress, 0.02 + 0.98 * i / 2, 0.02 + 0.98 * (i + 1) / 2), events)
            if result.reason != "finished":
                raise InputError(f"demo build: {name} was interrupted; nothing was written to {spec.out}")
            results[name], seconds[name] = result, time.monotonic() - t0
        return _write(spec.out, results, seconds, params, time.monotonic() - started)
    finally:
        if not spec.work:
            shutil.rmtree(work, ignore_errors=True)


def _write(out: Path, results: dict, seconds: dict, params: dict, total: float) -> dict:
    from hpe_core.studies.demo import _write_json
    from hpe_core.models.checkpoint import file_hash, load_checkpoint, save_checkpoint
    from hpe_core.training.events import _clean

    (out / "configs").mkdir(exist_ok=True)
    result = results["vae_lifter"]
    model, info = load_checkpoint(result.best_checkpoint or result.last_checkpoint)
    training = dict(info.training)
    config = training["config"]
    config["train"]["output"], config["data"]["path"] = "runs/demo/vae_lifter", "demo"
    path = save_checkpoint(out / VAE_FILE, model, training=training)
    _write_json(out / "configs" / "vae_lifter.json", config)
    summary = {name: _figures(results[name].final) for name in RUNS}
    base = results["vae_lifter"].final.get("baseline_test", {})
    metrics = {"format": "hpe-studio-demo-vae-metrics", "format_version": 1, "hpe_version": __version__,
               "dataset": {"generator": "synthetic", **params},
               "hypotheses": config["vae"]["hypotheses"],
               "summary": {"unsupervised": summary["vae_lifter"], "supervised": summary["vae_lifter_supervised"],
                           "baseline": {k: base.get(k) for k in ("mpjpe", "n_mpjpe", "pa_mpjpe")}},
               "runs": {name: {"best": r.best, "final": r.final, "history": r.history} for name, r in results.items()},
               "file": {"file": path.name, "sha256": file_hash(path), "bytes": path.stat().st_size,
                        "config": "configs/vae_lifter.json"},
               "train_seconds": {name: round(t, 1) for name, t in seconds.items()},
               "build": {"seconds": round(total, 1), "machine": platform.machine(), "cpus": os.cpu_count()}}
    _write_json(out / METRICS_FILE, _clean(metrics))
    return metrics


def _figures(final: dict) -> dict:
    test = final.get("test", {})
    return {k: test.get(k) for k in FIGURES}
