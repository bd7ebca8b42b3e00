"""``hpe parts DATASET --out DIR``: seed 004's part maps of a dataset's ground-truth 2D joints."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_json_flag, emit


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "parts", help="draw seed 004's part maps from a dataset's 2D joints",
        description="Render the differentiable part maps (one canonical template per limb, warped by the "
        "per-limb rotation, x-scale and translation; the torso from its four joints) of every sample's "
        "ground-truth 2D joints: one PNG per sample (parts coloured) and parts.npz (maps as uint8).")
    p.add_argument("dataset", metavar="DATASET", help="a dataset path with 2D joints")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the PNGs and parts.npz")
    p.add_argument("--max-samples", type=int, metavar="N", help="only the first N samples")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpe_core.errors import existing_path
    from hpe_core.errors import InputError
    from hpe_core.studies.part_maps import PartsSpec, write_part_maps
    from hpe_core.progress import TerminalProgress

    existing_path(args.dataset, "dataset")
    if args.max_samples is not None and args.max_samples < 1:
        raise InputError(f"--max-samples: must be at least 1, got {args.max_samples}")
    bar = TerminalProgress("parts")
    try:
        summary = write_part_maps(PartsSpec(args.dataset, args.out, args.max_samples), bar)
    finally:
        bar.close()
    return emit(args, summary, lambda s: f"wrote part maps of {s['samples']} samples ({len(s['parts'])} parts, "
                f"{s['size'][0]}x{s['size'][1]} px) to {s['out']}")
