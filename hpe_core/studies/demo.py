"""The demo: a synthetic multi-view dataset and small SimCLR / SimSiam models trained on it.

The demo dataset itself is :func:`hpe_core.datasets.demo.demo_dataset_path`.

``build_demo(DemoSpec(...), progress)`` (``hpe demo build``) trains, with the ``*_cpu`` presets,
a SimCLR and a SimSiam encoder (a narrow ResNet18), the section-6 retrained SimCLR (from the
first, cosine schedule), 3D regression heads (``HEADS``: 1-, 2- and 3-layer on SimCLR and, as the
control, on an untrained encoder; 2-layer on SimSiam and the retrained SimCLR), then writes
``simclr.pt``, ``simsiam.pt``, ``simclr_regress2.pt``, ``simsiam_regress2.pt``, their configs
under ``configs/`` and ``metrics.json`` (every head, silhouettes, the conv1 report and seed 000's
orderings: :mod:`hpe_core.studies.demo_findings`) into ``resources/demo/``; then the VAE
lifter of seed 003 (:mod:`hpe_core.studies.demo_vae`: ``vae_lifter.pt``, ``vae_metrics.json``) and seed
001's heatmap network and lifter (:mod:`hpe_core.studies.demo_pipeline`: ``heatmap2d.pt``, ``lifter.pt``,
``pipeline_metrics.json``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hpe_core import __version__, resources_dir
from hpe_core.datasets.demo import DEMO_NAMES, QUICK_DATASET, SEED000_DATASET, demo_dataset_path
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, check_cancelled, stage

DEMO_FILES = ("simclr.pt", "simsiam.pt", "simclr_regress2.pt", "simsiam_regress2.pt")
CHECKPOINTS = tuple(f[:-3] for f in DEMO_FILES)


@dataclass(frozen=True)
class DemoSpec:
    out: Path = field(default_factory=lambda: resources_dir() / "demo")
    work: Path | None = None  # where the runs go (default: a temporary folder, removed after)
    quick: bool = False  # a tiny build, for tests
    overrides: tuple[str, ...] = ()  # applied to every config (e.g. "train.device=cuda")
    only: str | None = None  # "vae": only the VAE lifter (hpe_core.studies.demo_vae); "contrastive": only seed 000's step


#: the pre-training runs of seed 000's step, in order (the retrained SimCLR starts from the first)
PRETRAIN = ("simclr", "simsiam", "simclr_retrained")
#: the demo's SimCLR on top of the simclr_cpu preset (docs/demo_recipe.md: what each change bought):
#: the two cameras' views are the only augmentation, a sharper temperature, 12 epochs
SIMCLR_RECIPE = ("train.epochs=12", "data.augment=none", "contrastive.temperature=0.1")
#: the retraining continues the first SimCLR for 2 epochs, cosine with T_max a little past them (section 6)
RETRAIN = ("train.epochs=2", "schedule.t_max=3")
#: the heads: run name -> (encoder run, or "random" for the untrained control; head layers)
HEADS = {"simclr_regress1": ("simclr", 1), "simclr_regress2": ("simclr", 2), "simclr_regress3": ("simclr", 3),
         "simsiam_regress2": ("simsiam", 2), "simclr_retrained_regress2": ("simclr_retrained", 2),
         "random_regress1": ("random", 1), "random_regress2": ("random", 2), "random_regress3": ("random", 3)}


def demo_configs(spec: DemoSpec, work: Path, dataset: Path) -> dict:
    """name -> Config of the runs of seed 000's step (``PRETRAIN`` then ``HEADS``), from the
    ``*_cpu`` presets; the retrained SimCLR (section 6's cosine schedule) starts from the first."""
    from hpe_core.training.config import load_config

    presets = resources_dir() / "presets"
    quick = ["model.width=8", "data.image_size=64", "train.epochs=1", "train.batch_size=16",
             "train.max_steps_per_epoch=2"] if spec.quick else []
    common = [f"data.path={dataset}", *quick, *spec.overrides]
    recipe = {"simclr": SIMCLR_RECIPE, "simsiam": ()}
    runs = {name: load_config(presets / f"{name}_cpu.yaml", [*recipe[name], *common, f"train.output={work / name}"])
            for name in PRETRAIN[:2]}
    runs["simclr_retrained"] = load_config(presets / "simclr_retrained_cpu.yaml", [
        *SIMCLR_RECIPE, *RETRAIN, *common, f"model.init={work / 'simclr' / 'best.pt'}",
        f"train.output={work / 'simclr_retrained'}"])
    width = runs["simclr"].model.width
    for name, (encoder, layers) in HEADS.items():
        if encoder == "random":  # the control: the same head on an untrained encoder of the same shape
            source = ["regression.encoder=random", f"model.width={width}"]
        else:
            source = [f"regression.encoder={work / encoder / 'best.pt'}",
                      f"regression.encoder_family={runs[encoder].task}"]
        runs[name] = load_config(presets / f"regress_{layers}layer_cpu.yaml",
                                 [*common, *source, f"train.output={work / name}"])
    return runs


def build_demo(spec: DemoSpec, progress=None, events=None) -> dict:
    """Train the demo models and write them with their configs and metrics into ``spec.out``."""
    from hpe_core.studies.demo_vae import build_vae_demo
    from hpe_core.training.loop import run_training

    progress = progress or NullProgress()
    if spec.only == "vae":
        return {"vae": build_vae_demo(spec, progress, events)}
    if spec.only not in (None, "contrastive"):
        raise InputError(f"--only {spec.only!r}: the parts that build alone are 'vae' and 'contrastive'")
    started = time.monotonic()
    spec.out.mkdir(parents=True, exist_ok=True)
    progress.set_status("demo dataset")
    params = QUICK_DATASET if spec.quick else SEED000_DATASET
    dataset = demo_dataset_path(params, stage(progress, 0.0, 0.05))
    work = Path(spec.work) if spec.work else Path(tempfile.mkdtemp(prefix="hpe-demo-"))
    try:
        configs = demo_configs(spec, work, dataset)
        results, seconds = {}, {}
        for i, (name, config) in enumerate(configs.items()):
            check_cancelled(progress)
            progress.set_status(f"training {name}")
            t0 = time.monotonic()
            share = stage(progress, 0.05 + 0.95 * i / len(configs), 0.05 + 0.95 * (i + 1) / len(configs))
            result = run_training(config, share, events)
            if result.reason != "finished":
                raise InputError(f"demo build: {name} was interrupted; nothing was written to {spec.out}")
            results[name], seconds[name] = result, time.monotonic() - t0
        progress.set_status("silhouettes and conv1 filters")
        findings = _findings(spec, work, dataset)
        metrics = _write_results(spec.out, configs, results, seconds, params, time.monotonic() - started, findings)
        if spec.only == "contrastive":  # seed 000's step alone
            return metrics
        check_cancelled(progress)
        progress.set_status("training the VAE lifter")
        metrics["vae"] = build_vae_demo(spec, progress, events)
        check_cancelled(progress)
        from hpe_core.studies.demo_pipeline import build_pipeline_demo  # seed 001: heatmap2d.pt, lifter.pt

        progress.set_status("training the heatmap network and the lifter")
        metrics["pipeline"] = build_pipeline_demo(spec, NullProgress(), events)["summary"]
    finally:
        if not spec.work:
            shutil.rmtree(work, ignore_errors=True)
    return metrics


def _findings(spec: DemoSpec, work: Path, dataset: Path) -> dict:
    """Silhouettes of the encoders' test features and the SimCLR conv1 report (seed 000, sections 2, 5, 6)."""
    from hpe_core.studies.demo_findings import kernels_summary, silhouettes

    checkpoints = {name: work / name / "best.pt" for name in PRETRAIN}
    return {"silhouette": silhouettes(checkpoints, dataset, work / "features", 40 if spec.quick else 1000),
            "kernels": kernels_summary(checkpoints["simclr"])}


def _write_results(out: Path, configs: dict, results: dict, seconds: dict, params: dict, total: float,
                   findings: dict | None = None) -> dict:
    from hpe_core.studies.demo_findings import heads_table, orderings
    from hpe_core.models.checkpoint import file_hash, load_checkpoint, save_checkpoint
    from hpe_core.training.events import _clean

    (out / "configs").mkdir(exist_ok=True)
    files, figures = {}, {}
    for name, result in results.items():
        figures[name] = {"best": result.best, "final": result.final, "history": result.history}
        if name not in CHECKPOINTS:  # the control: figures only
            continue
        model, info = load_checkpoint(result.best_checkpoint)
        training = dict(info.training)
        config = training["config"]
        config["train"]["output"] = f"runs/demo/{name}"
        if "regress" in name:
            config["regression"]["encoder"] = f"resources/demo/{name.split('_')[0]}.pt"
        config["data"]["path"] = next((n for n, p in DEMO_NAMES.items() if p == params), "demo")
        path = save_checkpoint(out / f"{name}.pt", model, training=training)
        _write_json(out / "configs" / f"{name}.json", config)
        files[name] = {"file": path.name, "sha256": file_hash(path), "bytes": path.stat().st_size,
                       "config": f"configs/{name}.json", "train_seconds": round(seconds[name], 1)}
    metrics = {"format": "hpe-studio-demo-metrics", "format_version": 1, "hpe_version": __version__,
               "dataset": {"generator": "synthetic", **params},
               "summary": {enc: _summary(figures, enc) for enc in ("simclr", "simsiam")},
               "control": {"random_encoder": _errors(figures["random_regress2"]["final"])},
               "heads": heads_table(figures, HEADS), **(findings or {}),
               "train_seconds": {name: round(t, 1) for name, t in seconds.items()},
               "runs": figures, "files": files,
               "build": {"seconds": round(total, 1), "machine": platform.machine(),
                         "cpus": os.cpu_count(), "torch_threads": _threads()}}
    baseline = metrics["summary"]["simclr"].get("baseline_pa_mpjpe")
    metrics["orderings"] = orderings(metrics["heads"], baseline, metrics.get("silhouette", {}))
    _write_json(out / "metrics.json", _clean(metrics))
    return metrics


def _errors(final: dict) -> dict:
    test = final.get("test", {})
    return {"mpjpe": test.get("mpjpe"), "pa_mpjpe": test.get("pa_mpjpe"), "mean_distance": test.get("mean_distance"),
            "pa_mpjpe_gain_over_baseline": final.get("pa_mpjpe_gain_over_baseline")}


def _summary(figures: dict, encoder: str) -> dict:
    """The headline figures of a 2-layer head on ``encoder``: test errors and the baseline (mm)."""
    final = figures[f"{encoder}_regress2"]["final"]
    base = final.get("baseline_test", {})
    return {**_errors(final), "baseline_mpjpe": base.get("mpjpe"), "baseline_pa_mpjpe": base.get("pa_mpjpe"),
            "baseline_mean_distance": base.get("mean_distance"),
            "encoder_val_pair_top1": _last(figures[encoder]["history"], "pair_top1")}


def _last(history: list, key: str):
    values = [h[key] for h in history if h.get(key) is not None]
    return values[-1] if values else None


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _write_json(path: Path, data: dict) -> None:
    from hpe_core.atomic import atomic_write

    atomic_write(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def spec_dict(spec: DemoSpec) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(spec).items()}
