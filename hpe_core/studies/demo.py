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

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hpe_core import __version__, resources_dir
from hpe_core.datasets.demo import DEMO_NAMES, QUICK_DATASET, SEED000_DATASET
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, check_cancelled

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
    from hpe_core.studies.sequence import demo_runs

    progress = progress or NullProgress()
    if spec.only == "vae":
        return {"vae": build_vae_demo(spec, progress, events)}
    if spec.only not in (None, "contrastive"):
        raise InputError(f"--only {spec.only!r}: the parts that build alone are 'vae' and 'contrastive'")
    started = time.monotonic()
    progress.set_status("demo dataset")
    params = QUICK_DATASET if spec.quick else SEED000_DATASET
    with demo_runs(spec, demo_configs, progress, events, params=params, span=(0.05, 1.0)) as (runs, work, dataset):
        progress.set_status("silhouettes and conv1 filters")
        findings = _findings(spec, work, dataset)
        metrics = _write_results(spec.out, runs, params, time.monotonic() - started, findings)
        if spec.only is None:  # the other seeds' demo models after seed 000's step
            _build_other_seeds(spec, progress, events, metrics)
    return metrics


def _build_other_seeds(spec: DemoSpec, progress, events, metrics: dict) -> None:
    """Seed 003's VAE lifter (``metrics["vae"]``), then seed 001's heatmap network and lifter."""
    from hpe_core.studies.demo_pipeline import build_pipeline_demo
    from hpe_core.studies.demo_vae import build_vae_demo

    check_cancelled(progress)
    progress.set_status("training the VAE lifter")
    metrics["vae"] = build_vae_demo(spec, progress, events)
    check_cancelled(progress)
    progress.set_status("training the heatmap network and the lifter")
    metrics["pipeline"] = build_pipeline_demo(spec, NullProgress(), events)["summary"]


def _findings(spec: DemoSpec, work: Path, dataset: Path) -> dict:
    """Silhouettes of the encoders' test features and the SimCLR conv1 report (seed 000, sections 2, 5, 6)."""
    from hpe_core.studies.demo_findings import kernels_summary, silhouettes

    checkpoints = {name: work / name / "best.pt" for name in PRETRAIN}
    return {"silhouette": silhouettes(checkpoints, dataset, work / "features", 40 if spec.quick else 1000),
            "kernels": kernels_summary(checkpoints["simclr"])}


def _write_results(out: Path, runs: dict, params: dict, total: float, findings: dict | None = None) -> dict:
    """Ship ``CHECKPOINTS`` of the finished ``runs`` (name -> StepResult) and write ``metrics.json``."""
    from hpe_core.studies.demo_findings import heads_table, orderings
    from hpe_core.studies.shipping import build_info, ship_checkpoint, write_json

    figures = {name: {"best": r.result.best, "final": r.result.final, "history": r.result.history}
               for name, r in runs.items()}
    data_path = next((n for n, p in DEMO_NAMES.items() if p == params), "demo")
    files = {}
    for name in (n for n in runs if n in CHECKPOINTS):  # the rest (the controls): figures only
        encoder = {"regression.encoder": f"resources/demo/{name.split('_')[0]}.pt"} if "regress" in name else {}
        _, _, entry = ship_checkpoint(runs[name].checkpoint, out, name, data_path=data_path, sets=encoder)
        files[name] = {**entry, "train_seconds": round(runs[name].seconds, 1)}
    metrics = {"format": "hpe-studio-demo-metrics", "format_version": 1, "hpe_version": __version__,
               "dataset": {"generator": "synthetic", **params},
               "summary": {enc: _summary(figures, enc) for enc in ("simclr", "simsiam")},
               "control": {"random_encoder": _errors(figures["random_regress2"]["final"])},
               "heads": heads_table(figures, HEADS), **(findings or {}),
               "train_seconds": {name: round(r.seconds, 1) for name, r in runs.items()},
               "runs": figures, "files": files, "build": build_info(total, torch_threads=True)}
    baseline = metrics["summary"]["simclr"].get("baseline_pa_mpjpe")
    metrics["orderings"] = orderings(metrics["heads"], baseline, metrics.get("silhouette", {}))
    write_json(out / "metrics.json", metrics)
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


def spec_dict(spec: DemoSpec) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(spec).items()}
