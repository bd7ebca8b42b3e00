"""``hpe ablate unihpe DATASET``: the rows of UniHPE's Table 6 this machine can afford."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit

DESCRIPTION = """\
Train and score the UniHPE ablation rows with the unihpe_stage1|2|3_cpu presets: no alignment
(stage 3 only), pair (stages 1-3 with the pairwise InfoNCE), pair + triplet (with the
singular-value triplet InfoNCE), and + modality token. Prints the table (MPJPE and PA-MPJPE of
the GT-2D and image paths, 2D PCK of the image path, the final and the after-stage-2 mean
cross-modal cosine) and saves it as OUT/ablation.json and OUT/ablation.md. DATASET may be 'demo'."""


def register(subparsers) -> None:
    p = subparsers.add_parser("ablate", help="ablation tables (unihpe: Table 6)", description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=["unihpe"], help="the model whose ablation to run")
    p.add_argument("dataset", help="a dataset with images, 2D and 3D joints ('demo': the demo set)")
    p.add_argument("--out", type=Path, default=Path("runs/unihpe_ablation"), help="(default: %(default)s)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of every run's config, e.g. --set train.epochs=2")
    p.add_argument("--max-eval-samples", type=int, default=1000, metavar="N",
                   help="test samples scored per row (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="(default: cpu)")
    p.add_argument("--quick", action="store_true", help="a tiny run in seconds (for tests)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpe_core.errors import existing_path
    from hpe_core.progress import TerminalProgress
    from hpe_core.studies.unihpe_ablation import AblationSpec, run_ablation

    dataset = args.dataset if args.dataset == "demo" else str(existing_path(args.dataset, "dataset"))
    spec = AblationSpec(dataset=dataset, out=args.out, overrides=tuple(args.overrides), quick=args.quick,
                        max_eval_samples=args.max_eval_samples, device=args.device)
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
