"""``hpe evaluate CKPT DATASET``: every pose metric of a checkpoint's predictions on a dataset."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_device_args, add_json_flag, emit

DESCRIPTION = """\
Predict the 3D poses of a dataset's samples with a checkpoint that has a pose head and compare
them with the dataset's 3D joints: MPJPE, PA-MPJPE, N-MPJPE, the rotation-aligned mean distance,
3D PCK and AUC (root-centred on the skeleton's root), overall and per joint."""


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="pose metrics of a checkpoint on a dataset",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint with a pose head")
    p.add_argument("dataset", metavar="DATASET", help="a dataset with 3D joints")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"], help="(default: test)")
    p.add_argument("--max-samples", type=int, metavar="N", help="a seeded random subset of N samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--image-size", type=int, help="default: the checkpoint's training size, else 128")
    p.add_argument("--skip-list", metavar="FILE", help="samples to leave out (e.g. green frames)")
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def _text(payload: dict) -> str:
    m = payload["metrics"]
    lines = [f"samples     {payload['samples']} ({payload['split']}, {payload['precision']} on {payload['device']})"]
    names = {"mpjpe": "MPJPE", "pa_mpjpe": "PA-MPJPE", "n_mpjpe": "N-MPJPE", "mean_distance": "mean dist."}
    for key, label in names.items():
        lines.append(f"{label:<11} {m[key]:.2f} mm")
    lines.append(f"PCK3D       {m['pck3d']:.3f} (at {payload['settings']['pck_threshold']:g} mm)")
    lines.append(f"AUC         {m['auc3d']:.3f}")
    if payload["skipped"]:
        lines.append(f"skipped     {payload['skipped']} unreadable image(s)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from hpe_core.analysis.compare import evaluate_predictions
    from hpe_core.analysis.features import select_indices
    from hpe_core.commands._common import existing_path
    from hpe_core.datasets import open_dataset
    from hpe_core.inference import Predictor
    from hpe_core.progress import terminal_progress

    predictor = Predictor(existing_path(args.checkpoint, "checkpoint file"), args.device, args.precision,
                          args.batch_size, args.image_size)
    dataset = open_dataset(existing_path(args.dataset, "dataset"), skip_list=args.skip_list)
    rows = select_indices(dataset, args.split, args.max_samples, args.seed)
    with terminal_progress("evaluate") as progress:
        report = evaluate_predictions(predictor, dataset, rows, progress)
    payload = {"checkpoint": str(args.checkpoint), "dataset": str(args.dataset), "split": args.split, **report}
    return emit(args, payload, _text)
