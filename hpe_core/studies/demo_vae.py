"""The demo's VAE lifter (seed 003): ``vae_lifter.pt``, its config and ``vae_metrics.json``.

``build_vae_demo(spec, progress, events)`` trains with the ``vae_lift_cpu`` preset on the demo
set twice: from 2D alone (the shipped checkpoint) and, as the thesis' check, with 3D labels
(``vae.supervised``; figures only). ``vae_metrics.json`` records the test-split figures of both
(mean hypothesis and best of K), the mean-pose baseline, and the histories. ``hpe demo build``
runs it after the other demo models; ``hpe demo build --only vae`` runs it alone.
"""

from __future__ import annotations

import time
from pathlib import Path

from hpe_core import __version__, resources_dir
from hpe_core.progress import NullProgress

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
    from hpe_core.datasets.demo import DEMO_DATASET, QUICK_DATASET
    from hpe_core.studies.sequence import demo_runs

    started = time.monotonic()
    params = QUICK_DATASET if spec.quick else DEMO_DATASET
    with demo_runs(spec, vae_configs, progress or NullProgress(), events, params=params, sub="vae") as (runs, _, _):
        return _write(spec.out, runs, params, time.monotonic() - started)


def _write(out: Path, runs: dict, params: dict, total: float) -> dict:
    from hpe_core.studies.shipping import build_info, ship_checkpoint, write_json

    results = {name: r.result for name, r in runs.items()}
    shipped = results["vae_lifter"]
    _, training, entry = ship_checkpoint(shipped.best_checkpoint or shipped.last_checkpoint, out, "vae_lifter",
                                         VAE_FILE)
    summary = {name: _figures(results[name].final) for name in RUNS}
    base = shipped.final.get("baseline_test", {})
    metrics = {"format": "hpe-studio-demo-vae-metrics", "format_version": 1, "hpe_version": __version__,
               "dataset": {"generator": "synthetic", **params},
               "hypotheses": training["config"]["vae"]["hypotheses"],
               "summary": {"unsupervised": summary["vae_lifter"], "supervised": summary["vae_lifter_supervised"],
                           "baseline": {k: base.get(k) for k in ("mpjpe", "n_mpjpe", "pa_mpjpe")}},
               "runs": {name: {"best": r.best, "final": r.final, "history": r.history} for name, r in results.items()},
               "file": entry, "train_seconds": {name: round(r.seconds, 1) for name, r in runs.items()},
               "build": build_info(total)}
    write_json(out / METRICS_FILE, metrics)
    return metrics


def _figures(final: dict) -> dict:
    test = final.get("test", {})
    return {k: test.get(k) for k in FIGURES}
