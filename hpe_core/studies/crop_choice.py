"""Whole frames or person crops on the demo set (issue 27): the README's table, made again.

``crop_choice(work, progress)`` trains two recipes twice each, once on whole frames and once on
crops of the ground-truth boxes (``data.crop=none`` / ``gt``): seed 001's heatmap network
(``heatmap2d_cpu`` on the demo set) and seed 000's 2-layer head (``regress_2layer_cpu`` on the
shipped ``simclr.pt`` encoder, frozen, on the held-out subjects' set). Each run is scored the way it
was trained; then every shipped image model is scored both ways (they were trained on whole frames).
Scores: :func:`hpe_core.inference.evaluate` on ``SAMPLES`` test rows drawn with ``SEED`` (EPE and
PCK@0.05 for 2D, PA-MPJPE and MPJPE for 3D). Missing runs are trained in ``work`` (kept there and
reused). ``python3 -m hpe_core.studies.crop_choice WORK [OUT.json]`` runs it and prints the table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hpe_core import resources_dir
from hpe_core.progress import NullProgress, stage

SAMPLES, SEED = 400, 0
MODES = ("none", "gt")  # whole frames, crops of the ground-truth boxes
#: recipe -> (preset, demo set, extra settings)
RECIPES = {"heatmap2d": ("heatmap2d_cpu", "demo", ()),
           "simclr_regress2": ("regress_2layer_cpu", "demo-heldout",
                               ("regression.encoder={demo}/simclr.pt", "regression.encoder_family=simclr"))}
#: shipped checkpoint -> (demo set, the 2D model it lifts from, or None)
SHIPPED = {"heatmap2d": ("demo", None), "simclr_regress2": ("demo-heldout", None),
           "simsiam_regress2": ("demo-heldout", None), "unihpe": ("demo", None), "lifter": ("demo", "heatmap2d")}


def study_steps(work: Path) -> list:
    """One run per recipe and crop mode."""
    from hpe_core.studies.sequence import Step
    from hpe_core.training.config import load_config

    presets, demo = resources_dir() / "presets", resources_dir() / "demo"
    steps = []
    for name, (preset, data, extra) in RECIPES.items():
        for mode in MODES:
            sets = [s.format(demo=demo) for s in extra]
            steps.append(Step(f"{name}_{mode}", load_config(presets / f"{preset}.yaml", [
                f"data.path={data}", f"data.crop={mode}", *sets, f"train.output={work / f'{name}_{mode}'}"])))
    return steps


def score(checkpoint: Path, data: str, mode: str, lift_from: Path | None = None) -> dict:
    """The checkpoint's metrics on the ``SAMPLES`` test rows of the demo set ``data``, crop ``mode``."""
    from hpe_core.analysis.features import select_indices
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.boxes import apply_boxes
    from hpe_core.datasets.demo import DEMO_NAMES, demo_dataset_path
    from hpe_core.inference import Predictor, evaluate

    dataset = apply_boxes(open_dataset(demo_dataset_path(DEMO_NAMES[data])), mode)
    rows = select_indices(dataset, "test", SAMPLES, SEED)
    lifter = Predictor(lift_from, "cpu") if lift_from else None
    report = evaluate(Predictor(checkpoint, "cpu"), dataset, rows, lift_from=lifter, seed=SEED)
    return {**report["metrics"], "samples": report["samples"], "crop": report.get("crop", "whole frame")}


def crop_choice(work: Path, progress=None) -> dict:
    """Train what is missing, score every row of the table; returns ``{row: {mode: metrics}}``."""
    from hpe_core.studies.sequence import run_sequence

    progress = progress or NullProgress()
    runs = run_sequence(study_steps(Path(work)), stage(progress, 0.0, 0.8), what="crop study", reuse=True)
    rows = {}
    for name, (_, data, _) in RECIPES.items():
        rows[f"{name} (recipe)"] = {m: score(runs[f"{name}_{m}"].checkpoint, data, m) for m in MODES}
    demo = resources_dir() / "demo"
    for name, (data, lift) in SHIPPED.items():
        source = demo / f"{lift}.pt" if lift else None
        rows[f"{name}.pt"] = {m: score(demo / f"{name}.pt", data, m, source) for m in MODES}
    return {"samples": SAMPLES, "seed": SEED, "rows": rows}


def _cell(metrics: dict) -> str:
    if "pa_mpjpe" in metrics:
        return f"PA-MPJPE {metrics['pa_mpjpe']:.1f} mm, MPJPE {metrics['mpjpe']:.1f} mm"
    return f"EPE {metrics['epe']:.2f} px, PCK@0.05 {metrics['pck2d']:.3f}"


def markdown(study: dict) -> str:
    """The README's table: one row per model, whole frames against ground-truth crops."""
    lines = ["| model | whole frame | gt crops |", "|---|---|---|"]
    for name, by_mode in study["rows"].items():
        lines.append(f"| {name} | {_cell(by_mode['none'])} | {_cell(by_mode['gt'])} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print("usage: python3 -m hpe_core.studies.crop_choice WORK [OUT.json]", file=sys.stderr)
        return 2
    study = crop_choice(Path(argv[0]))
    if len(argv) == 2:
        from hpe_core.atomic import atomic_write

        atomic_write(Path(argv[1]), json.dumps(study, indent=1) + "\n")
    print(markdown(study))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
