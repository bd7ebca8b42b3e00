"""``hpe ablate unihpe DATASET``: the rows of UniHPE's Table 6 this machine can afford.
``hpe ablate heads DATASET``: seed 000's head-depth table, a grid sweep (:mod:`hpe_core.training.runs.sweep`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit

DESCRIPTION = """\
Train and score the UniHPE ablation rows with the unihpe_stage1|2|3_cpu presets: no alignment
(stage 3 only), pair (stages 1-3 with the pairwise InfoNCE), pair + triplet (with the
singular-value triplet InfoNCE), and + modality token. Prints the table (MPJPE and PA-MPJPE of
the GT-2D and image paths, 2D PCK of the image path, the final and the after-stage-2 mean
cross-modal cosine) and saves it as OUT/ablation.json and OUT/ablation.md. DATASET may be 'demo'.

'heads': seed 000's 1-, 2- and 3-layer regression heads on one frozen encoder (give it with --set
regression.encoder=CKPT), as a grid sweep of the regress_2layer_cpu preset over regression.head_layers
scored by the test PA-MPJPE: OUT holds the study and one run per depth; 'hpe sweep status OUT' shows it,
the training panel's Sweep tab draws it, and running it again resumes it."""


def register(subparsers) -> None:
    p = subparsers.add_parser("ablate", help="ablation tables (unihpe: Table 6)", description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=["unihpe", "heads"], help="the ablation to run")
    p.add_argument("dataset", help="a dataset with images, 2D and 3D joints ('demo': the demo set)")
    p.add_argument("--out", type=Path, help="(default: runs/unihpe_ablation or runs/head_depth)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of every run's config, e.g. --set train.epochs=2")
    p.add_argument("--max-eval-samples", type=int, default=1000, metavar="N",
                   help="test samples scored per row (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="(default: cpu)")
    p.add_argument("--quick", action="store_true", help="a tiny run in seconds (for tests)")
    p.add_argument("--queue", action="store_true", help="unihpe: add the stages to the run queue (hpe queue, the "
                   "training panel) instead of training them here; the same command without --queue then "
                   "scores them without training again")
    p.add_argument("--data-dir", type=Path, help="with --queue: the queue's folder (default: as hpe queue)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.model == "heads":
        return heads(args)
    from hpe_core.errors import existing_path
    from hpe_core.progress import TerminalProgress
    from hpe_core.studies.unihpe_ablation import AblationSpec, run_ablation

    dataset = args.dataset if args.dataset == "demo" else str(existing_path(args.dataset, "dataset"))
    spec = AblationSpec(dataset=dataset, out=args.out or Path("runs/unihpe_ablation"),
                        overrides=tuple(args.overrides), quick=args.quick,
                        max_eval_samples=args.max_eval_samples, device=args.device)
    if args.queue:
        return queue_stages(args, spec)
    bar = TerminalProgress("ablate")
    try:
        doc = run_ablation(spec, bar)
    finally:
        bar.close()
    return emit(args, doc, _text)


def _text(doc: dict) -> str:
    from hpe_core.studies.unihpe_ablation import markdown

    return (f"UniHPE ablation on {doc['dataset']} ({doc['seconds']:.0f} s); errors in mm\n\n"
            + markdown(doc).rstrip())


def queue_stages(args: argparse.Namespace, spec) -> int:
    """The UniHPE ablation's stages as queued runs, each after the stage it starts from; a stage
    already trained in OUT (a finished run of the same config) is not queued again."""
    from dataclasses import replace

    from hpe_core.errors import InputError
    from hpe_core.studies.sequence import finished_run
    from hpe_core.studies.unihpe_ablation import queue_plan
    from hpe_core.training.runs.queue import QueueFile, data_dir, new_record

    base = (args.data_dir or data_dir()).expanduser()
    queue = QueueFile(base / "jobs" / "history.json")
    dataset = spec.dataset if spec.dataset == "demo" else str(Path(spec.dataset).resolve())
    ids, added = {}, []
    with queue.transaction() as records:
        for name, config, after in queue_plan(replace(spec, dataset=dataset)):
            out = Path(config.train.output)
            if finished_run(out / "best.pt", config) is not None:
                continue
            if any(out.glob("*.pt")):
                raise InputError(f"{out}: holds checkpoints of another run; choose another --out")
            record = new_record(config.to_dict(), queue.folder, base / "runs", {r.output for r in records},
                                f"unihpe ablation {name}")
            record.after = [ids[after]] if after in ids else []
            ids[name] = record.id
            records.append(record)
            added.append({"id": record.id, "name": record.name, "output": record.output, "after": record.after})
    return emit(args, {"queued": added, "out": str(spec.out)}, lambda d: "\n".join(
        [f"queued {r['id']}  {r['name']}" + (" (after " + ", ".join(r["after"]) + ")" if r["after"] else "")
         for r in d["queued"]] + [f"run them: hpe queue start (or the training panel); then the same command "
                                  f"without --queue scores them from {d['out']}"]))


def heads(args: argparse.Namespace) -> int:
    """Seed 000's head-depth table as a grid sweep over ``regression.head_layers``."""
    from hpe_core.commands.sweep import status_text
    from hpe_core.commands.train import resolve_config_path
    from hpe_core.errors import existing_path
    from hpe_core.training.config_data import apply_overrides, read_mapping
    from hpe_core.training.runs.sweep import SweepSpec, run_sweep
    from hpe_core.training.runs.sweep_space import parse_param

    dataset = args.dataset if args.dataset.startswith("demo") else str(existing_path(args.dataset, "dataset"))
    quick = ["data.image_size=32", "model.width=4", "train.epochs=1", "data.max_train_samples=64",
             "data.max_eval_samples=32", "train.batch_size=16", "regression.encoder=random"] if args.quick else []
    raw = apply_overrides(read_mapping(resolve_config_path("regress_2layer_cpu")),
                          [f"data.path={dataset}", f"train.device={args.device}", *quick, *args.overrides])
    out = args.out or Path("runs/head_depth")
    spec = SweepSpec(config=raw, params=(parse_param("regression.head_layers=1,2,3"),), metric="test/pa_mpjpe",
                     sampler="grid", study_name=out.name)
    return emit(args, run_sweep(spec, out), status_text)
