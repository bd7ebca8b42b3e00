"""``hpe report DATASET CKPT_OR_PREDICTIONS... --out DIR``: the tables and figures of a pose paper
for several models side by side; ``hpe report --rerun DIR/provenance.json`` makes them again."""

from __future__ import annotations

import argparse
import sys

from hpe_core.commands._common import add_device_args, add_json_flag, emit
from hpe_core.commands.evaluate import add_protocol_args, protocol_args

DESCRIPTION = """\
Score every model (a checkpoint, or a prediction file: our .npz, a VideoPose3D-style (N, J, 3)
.npy/.npz array, an MMPose 3D result .json) on the same samples of DATASET and write into --out:
  tables/    overall and per-action tables as Markdown, LaTeX (booktabs, best in bold) and CSV
             (MPJPE, PA-MPJPE, N-MPJPE, PCK@150mm, AUC, mean distance, bone length error; 2D PCK
             and EPE for models with 2D joints; mean / best-of-K for models with hypotheses); with
             --protocol NAME the protocol's tables instead (every joint variant in the overall
             table, per action / test sequence / activity, the 3DHP kit's joint groups), each
             with the protocol's manifest beside it (Markdown footnote, LaTeX caption note, CSV
             '#' comment lines; also in provenance.json)
  figures/   1col/ and 2col/ PDF, SVG and PNG: per-joint error, PCK curve, error histogram, error
             by camera, the 24 worst samples, best / median / worst samples; for checkpoints
             (unless --no-analysis) the t-SNE of the encoder by action with the silhouette
             per layer, the conv1 filters with their classes, the CKA of the first two
  report.html, report.pdf, metrics.json, provenance.json
The numbers are those of 'hpe evaluate'. 'hpe report --rerun DIR/provenance.json [--out DIR2]'
checks that the inputs are unchanged and makes the report again on the same samples."""


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="paper tables and figures of models side by side",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                              usage="hpe report [options] DATASET CKPT_OR_PREDICTIONS... --out DIR\n       "
                                    "hpe report --rerun DIR/provenance.json [--out DIR2]")
    p.add_argument("inputs", nargs="*", metavar="DATASET CKPT_OR_PREDICTIONS")
    p.add_argument("--out", metavar="DIR", help="output folder (with --rerun: default the provenance's folder)")
    p.add_argument("--rerun", metavar="PROVENANCE", help="make the report of this provenance.json again")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"], help="(default: test)")
    p.add_argument("--max-samples", type=int, metavar="N", help="a seeded random subset of N samples")
    p.add_argument("--seed", type=int, default=0)
    add_protocol_args(p)
    p.add_argument("--units", choices=["m", "mm"], help="units of array / MMPose prediction files")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--no-figures", action="store_true", help="tables, HTML and provenance only")
    p.add_argument("--no-analysis", action="store_true", help="leave out the embedding, conv1 and CKA figures")
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def _text(payload: dict) -> str:
    lines = [f"{payload['samples']} samples, models: {', '.join(payload['models'])}", ""]
    lines += [line for line in (payload["tables"]["overall"], payload.get("verdict")) if line]
    lines.append(f"written to {payload['out']} ({len(payload['files'])} files; report.html, report.pdf, "
                 f"provenance.json)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from hpe_core.errors import InputError
    from hpe_core.report.run import ReportSpec, build_report, rerun_spec

    protocol, joints = protocol_args(args)
    if args.rerun:
        if args.inputs:
            raise InputError("--rerun takes no DATASET or model arguments; the provenance names them")
        spec = rerun_spec(args.rerun, args.out)
    else:
        if len(args.inputs) < 2:
            raise InputError("expected DATASET and at least one checkpoint or prediction file")
        if not args.out:
            raise InputError("--out DIR is required")
        command = ["hpe", "report", *sys.argv[2:]] if sys.argv[1:2] == ["report"] else \
            ["hpe", "report", *args.inputs, "--out", args.out]
        spec = ReportSpec(dataset=args.inputs[0], inputs=tuple(args.inputs[1:]), out=args.out, split=args.split,
                          max_samples=args.max_samples, seed=args.seed, protocol=protocol or "standard",
                          joints=joints, units=args.units,
                          device=args.device, precision=args.precision, batch_size=args.batch_size,
                          figures=not args.no_figures, analysis=not args.no_analysis, command=tuple(command))
    from hpe_core.progress import terminal_progress

    with terminal_progress("report") as progress:
        payload = build_report(spec, progress)
    return emit(args, payload, _text)
