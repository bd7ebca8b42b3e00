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

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from hpe_core import __version__, resources_dir
from hpe_core.progress import NullProgress, stage

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
    """Train the three stages, score the last, and write ``FILES`` into ``spec.out``; returns the metrics."""
    from hpe_core.datasets.demo import QUICK_DATASET, demo_dataset_path
    from hpe_core.studies.sequence import run_sequence, work_folder
    from hpe_core.studies.shipping import ship_checkpoint, write_json

    progress = progress or NullProgress()
    started = time.monotonic()
    dataset = demo_dataset_path(QUICK_DATASET if spec.quick else None, stage(progress, 0.0, 0.05))
    with work_folder(spec.work, "hpe-unihpe-demo-") as work:
        runs = run_sequence(_stages(spec, dataset, work), stage(progress, 0.05, 0.8), what="UniHPE demo build",
                            out=spec.out, reuse=True)  # a finished run of a stage's config in --work: kept
        final = runs["stage3"].checkpoint
        report = _evaluate(final, dataset, spec, stage(progress, 0.8, 1.0))
        _, _, entry = ship_checkpoint(final, spec.out, "unihpe", sets={"model.init": "(stage-2 checkpoint)"},
                                      half=True)
        doc = {"format": "hpe-studio-demo-unihpe", "format_version": 1, "hpe_version": __version__,
               **{k: entry[k] for k in ("file", "sha256", "bytes")}, "evaluation": {"split": "test", **report},
               "train_seconds": {name: "reused" if r.result is None else round(r.seconds, 1)
                                 for name, r in runs.items()},
               "seconds": round(time.monotonic() - started, 1), "quick": spec.quick}
        write_json(spec.out / "unihpe_metrics.json", doc)
    return doc


def _stages(spec: UniHPEDemoSpec, dataset: Path, work: Path) -> list:
    """The three stages, each from the best checkpoint of the one before (stage 3 with the modality token)."""
    from hpe_core.studies.sequence import Step

    return [Step(f"stage{k}", partial(_stage_config, spec, dataset, work, k), status=f"unihpe stage {k}")
            for k in (1, 2, 3)]


def _stage_config(spec: UniHPEDemoSpec, dataset: Path, work: Path, k: int, done: dict):
    from hpe_core.studies.unihpe_ablation import QUICK
    from hpe_core.training.config import load_config

    sets = [f"data.path={dataset if spec.quick else 'demo'}", f"train.output={work / f'stage{k}'}", *DEMO_OVERRIDES,
            *(QUICK if spec.quick else ()), *spec.overrides]
    if k == 3:
        sets.append("model.options.modality_token=true")
    if k > 1:
        sets.append(f"model.init={done[f'stage{k - 1}']}")
    return load_config(resources_dir() / "presets" / f"unihpe_stage{k}_cpu.yaml", sets)


def _evaluate(checkpoint: Path, dataset: Path, spec: UniHPEDemoSpec, progress) -> dict:
    """The three inference paths of ``checkpoint`` on the test split (``spec.eval_samples`` samples)."""
    from hpe_core.analysis.features import select_indices
    from hpe_core.datasets import open_dataset
    from hpe_core.models.checkpoint import load_checkpoint
    from hpe_core.inference import Predictor
    from hpe_core.studies.unihpe_eval import evaluate_paths

    model, info = load_checkpoint(checkpoint)
    ds = open_dataset(dataset)
    rows = select_indices(ds, "test", 32 if spec.quick else spec.eval_samples, 0)
    return evaluate_paths(Predictor(model, "cpu", info=info), ds, rows, progress=progress)
