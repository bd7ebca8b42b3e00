"""``hpe health CKPT [CKPT ...] DATASET``: judge checkpoints' representations without labels."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_device_args, add_json_flag, emit

DESCRIPTION = """\
The health of each checkpoint's embedding layers on the same seeded samples of DATASET, one table:
RankMe (the effective rank of the features; about d when spread, 1 when collapsed), spread (sqrt(d) x
the std of the L2-normalised features; 1 isotropic, 0 collapsed), alignment of two cameras' views of
one pose and uniformity (Wang & Isola), kNN accuracy on the action label (k = 20, cosine, T = 0.07),
cross-view retrieval top-1 / top-5, and the PA-MPJPE (mm) of a closed-form ridge probe to 3D pose.
kNN and the probe learn from the samples' training split and are scored on their test split. The
README's "SSL health" section says what each number means and when to worry."""


def register(subparsers) -> None:
    p = subparsers.add_parser("health", help="RankMe, collapse, alignment/uniformity, kNN, retrieval and a 3D "
                              "probe of checkpoints' layers", description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="CKPT [CKPT ...] DATASET",
                   help="one or more checkpoints, then the dataset")
    p.add_argument("--layer", dest="layers", action="append", metavar="L",
                   help="a layer to judge (repeatable; default: each checkpoint's embedding layers)")
    p.add_argument("--max-samples", type=int, default=2000, metavar="N", help="seeded subset (default: 2000)")
    p.add_argument("--split", default="all", choices=["train", "val", "test", "all"], help="(default: all)")
    p.add_argument("--label", default="auto", help="the kNN label (default: action when the dataset has it)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, help="default: the checkpoint's training size, else 128")
    p.add_argument("--seed", type=int, default=0, help="of the subset and of the halves of the poses (default: 0)")
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpe_core.analysis.health_checkpoints import HealthSpec, checkpoint_health, format_table
    from hpe_core.errors import InputError, existing_path
    from hpe_core.progress import terminal_progress

    if len(args.paths) < 2:
        raise InputError("give at least one checkpoint and then the dataset")
    *checkpoints, dataset = args.paths
    spec = HealthSpec(tuple(str(existing_path(c, "checkpoint file")) for c in checkpoints),
                      existing_path(dataset, "dataset"), tuple(args.layers) if args.layers else None,
                      args.max_samples, args.split, args.label, args.seed, args.device, args.precision,
                      args.batch_size, args.image_size)
    with terminal_progress("health") as progress:
        result = checkpoint_health(spec, progress)
    return emit(args, result.to_dict(), format_table)
