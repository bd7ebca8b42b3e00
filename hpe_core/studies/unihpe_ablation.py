"""UniHPE's Table 6 on this machine: ``hpe ablate unihpe DATASET``.

Rows (all with the ``unihpe_stage*_cpu`` presets):

- ``no alignment``: stage 3 only, from scratch (no pre-training), no modality token;
- ``pair``: stage 1 -> stage 2 (L_pair) -> stage 3 (L_pair), no modality token;
- ``pair + triplet``: stage 1 -> stage 2 (L_pair + L_triplet) -> stage 3 (L_cl), no token;
- ``+ modality token``: as the row above, the decoders conditioned on the modality token.

Stage 1 is shared by the three aligned rows and the triplet stage 2 by the last two (the token
only acts in the decoders, which stage 3 trains). Each stage-3 model is scored on the test split
with :func:`hpe_core.studies.unihpe_eval.evaluate_paths`: MPJPE and PA-MPJPE of the GT-2D (lifting)
and image paths and the final cross-modal cosine; the stage-2 cosine (the end of pre-training,
the paper's Fig. 5) is reported too. The table is printed and saved as JSON and Markdown.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from hpe_core import resources_dir
from hpe_core.progress import NullProgress, stage

ROWS = (("no alignment", None, "none", False), ("pair", "pair", "pair", False),
        ("pair + triplet", "triplet", "triplet", False), ("+ modality token", "triplet", "triplet_token", True))
QUICK = ("data.image_size=32", "model.width=4", "train.epochs=1", "data.max_train_samples=64",
         "data.max_eval_samples=32", "train.batch_size=16")


@dataclass(frozen=True)
class AblationSpec:
    dataset: str
    out: Path
    overrides: tuple[str, ...] = ()  # applied to every run
    quick: bool = False  # a tiny run, for tests
    max_eval_samples: int | None = 1000
    device: str = "cpu"
    runs: dict = field(default_factory=dict)  # stage overrides per stage: {1: [...], 2: [...], 3: [...]}


def _config(spec: AblationSpec, stage_no: int, out: Path, extra: list[str]):
    from hpe_core.training.config import load_config

    preset = resources_dir() / "presets" / f"unihpe_stage{stage_no}_cpu.yaml"
    sets = [f"data.path={spec.dataset}", f"train.output={out}", f"train.device={spec.device}",
            *(QUICK if spec.quick else ()), *spec.runs.get(stage_no, ()), *spec.overrides, *extra]
    return load_config(preset, sets)


def run_ablation(spec: AblationSpec, progress=None) -> dict:
    """Train the rows' stages, score them, and write ``ablation.json`` and ``ablation.md``."""
    from hpe_core.studies.sequence import run_sequence

    progress = progress or NullProgress()
    work = Path(spec.out)
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    runs = run_sequence(_plan(spec, work), stage(progress, 0.0, 0.9), what="ablation",
                        reuse=True)  # a finished run of a stage's config in OUT (hpe ablate --queue's): kept
    table = _score(spec, runs, stage(progress, 0.9, 1.0))
    doc = {"format": "hpe-studio-unihpe-ablation", "format_version": 1, "dataset": str(spec.dataset),
           "rows": table, "train_seconds": {name: "reused" if r.result is None else round(r.seconds, 1)
                                                for name, r in runs.items()},
           "seconds": round(time.monotonic() - started, 1), "overrides": list(spec.overrides), "quick": spec.quick}
    _write(work, doc)
    return doc


def _plan(spec: AblationSpec, work: Path) -> list:
    """The stages as steps of :func:`~hpe_core.studies.sequence.run_sequence`."""
    from hpe_core.studies.sequence import Step

    return [Step(name, partial(_stage_config, spec, stage_no, work / name, extra, after), status=f"ablation: {name}")
            for name, stage_no, extra, after in _stages()]


def queue_plan(spec: AblationSpec) -> list[tuple]:
    """``(name, config, the name of the stage it starts from or None)`` of each stage, in order, for
    the run queue: each writes into OUT/<name>, from the best checkpoint the stage before writes there."""
    work = Path(spec.out).resolve()
    return [(name, _stage_config(spec, n, work / name, extra, after, {after: work / str(after) / "best.pt"}), after)
            for name, n, extra, after in _stages()]


def _stages() -> list[tuple]:
    """The stages in order: stage 1, the pair and the triplet stage 2 (from stage 1), and each row's
    stage 3 (from its stage 2; the row without alignment from scratch)."""
    plan = [("stage1", 1, [], None)]
    for name in ("pair", "triplet"):
        plan.append((f"stage2_{name}", 2, [f"unihpe.triplet={name == 'triplet'}"], "stage1"))
    for _, _, key, token in ROWS:
        after = None if key == "none" else f"stage2_{key.replace('_token', '')}"
        triplet = key.startswith("triplet")
        plan.append((f"stage3_{key}", 3, [f"unihpe.triplet={triplet}", f"model.options.modality_token={token}"], after))
    return plan


def _stage_config(spec: AblationSpec, stage_no: int, out: Path, extra: list[str], after: str | None, done: dict):
    """The config of one stage, from the best checkpoint of ``after`` (a step before it) when given."""
    return _config(spec, stage_no, out, [*extra, *([f"model.init={done[after]}"] if after else [])])


def _score(spec: AblationSpec, runs: dict, progress) -> list[dict]:
    """The table's rows: each row's stage-3 model (``runs``: name -> StepResult) scored on the test split."""
    from hpe_core.analysis.features import select_indices
    from hpe_core.datasets import open_dataset
    from hpe_core.models.checkpoint import load_checkpoint
    from hpe_core.inference import Predictor
    from hpe_core.studies.unihpe_eval import evaluate_paths

    dataset = open_dataset(_dataset_path(spec.dataset))
    rows = select_indices(dataset, "test", spec.max_eval_samples if not spec.quick else 32, 0)
    table = []
    for k, (label, pre, key, token) in enumerate(ROWS):
        model, info = load_checkpoint(runs[f"stage3_{key}"].checkpoint)
        report = evaluate_paths(Predictor(model, spec.device, info=info), dataset, rows,
                                progress=stage(progress, k / len(ROWS), (k + 1) / len(ROWS)))
        p, c = report["paths"], report["crossmodal"]
        pre_cos = None
        if pre is not None:
            pre_cos = _final(runs[f"stage2_{pre}"]).get("test", {}).get("cos_mean")
        table.append({"row": label, "pair": pre is not None, "triplet": pre == "triplet", "token": token,
                      "gt2d_mpjpe": p["pose2d_to_3d"]["mpjpe"], "gt2d_pa_mpjpe": p["pose2d_to_3d"]["pa_mpjpe"],
                      "image_mpjpe": p["image_to_3d"]["mpjpe"], "image_pa_mpjpe": p["image_to_3d"]["pa_mpjpe"],
                      "image_pck2d": p["image_to_2d"]["pck2d"], "image_epe": p["image_to_2d"]["epe"],
                      "cos_mean": c.get("cos_mean"), "cos_image_pose2d": c.get("cos_image_pose2d"),
                      "cos_image_pose3d": c.get("cos_image_pose3d"), "cos_pose2d_pose3d": c.get("cos_pose2d_pose3d"),
                      "pretrain_cos_mean": pre_cos, "samples": report["samples"]})
    return table


def _final(run) -> dict:
    """A stage's final figures: from its run, or from its best checkpoint where the run was reused."""
    if run.result is not None:
        return run.result.final
    from hpe_core.training.checkpoints import read_raw

    return (read_raw(run.checkpoint).get("training") or {}).get("final") or {}


def _dataset_path(path: str) -> str:
    if path == "demo":
        from hpe_core.datasets.demo import demo_dataset_path

        return str(demo_dataset_path())
    return path


def markdown(doc: dict) -> str:
    head = ("| row | GT 2D MPJPE | GT 2D PA-MPJPE | image MPJPE | image PA-MPJPE | image 2D PCK@0.05 | "
            "cos (final) | cos (after stage 2) |")
    lines = [head, "|" + "---|" * 8]
    for r in doc["rows"]:
        pre = "-" if r["pretrain_cos_mean"] is None else f"{r['pretrain_cos_mean']:.3f}"
        lines.append(f"| {r['row']} | {r['gt2d_mpjpe']:.1f} | {r['gt2d_pa_mpjpe']:.1f} | {r['image_mpjpe']:.1f} | "
                     f"{r['image_pa_mpjpe']:.1f} | {r['image_pck2d']:.3f} | {r['cos_mean']:.3f} | {pre} |")
    return "\n".join(lines) + "\n"


def _write(out: Path, doc: dict) -> None:
    from hpe_core.atomic import atomic_write

    atomic_write(out / "ablation.json", json.dumps(doc, indent=2) + "\n")
    atomic_write(out / "ablation.md", f"UniHPE ablation (Table 6 rows) on {doc['dataset']}; errors in mm\n\n"
                 + markdown(doc))
