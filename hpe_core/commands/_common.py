"""Helpers shared by the subcommands: JSON output, device arguments, a checkpoint's predictor."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from hpe_core.errors import InputError, existing_path


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def add_device_args(parser: argparse.ArgumentParser, precision: bool = False) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="auto | cpu | cuda | cuda:N | mps (default: auto, CUDA when present)",
    )
    if precision:
        parser.add_argument(
            "--precision",
            default="fp32",
            choices=["fp32", "bf16", "fp16"],
            help="numeric precision of inference (default: fp32, the exact reference)",
        )


def add_crop_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--crop", default="auto", choices=["auto", "gt", "file", "none"],
                        help="what an image model sees of each sample: auto (default) the person box the dataset's "
                             "files give (COCO bbox, mmpose center/scale), else the whole frame; gt those boxes, "
                             "else boxes from the 2D joints; file the --boxes detections; none the whole frame")
    parser.add_argument("--boxes", metavar="FILE", help="person detections to crop: a COCO results JSON "
                        "([{image_id, bbox: [x, y, w, h], score}, ...]; image_id the frame number or sample name)")


def with_boxes(dataset, args: argparse.Namespace):
    """``dataset`` with the person boxes ``--crop`` / ``--boxes`` ask for (:func:`hpe_core.datasets.boxes.apply_boxes`)."""
    from hpe_core.datasets.boxes import apply_boxes

    return apply_boxes(dataset, args.crop, args.boxes)


def emit(args: argparse.Namespace, payload: dict, text: Callable[[dict], str]) -> int:
    """Print ``payload`` as JSON with ``--json``, else ``text(payload)``; return 0."""
    if getattr(args, "json", False):
        from hpe_core.training.events import _clean as jsonable  # the events writer's: one JSON cleaner

        json.dump(jsonable(payload), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text(payload).rstrip("\n") + "\n")
    sys.stdout.flush()
    return 0


def load_predictor(path: str, args: argparse.Namespace, what: str = "checkpoint file", stats: str | None = None):
    """A :class:`~hpe_core.inference.Predictor` of the checkpoint ``path`` on ``--device`` and
    ``--precision`` (``--batch-size``, ``--image-size`` where the command has them); ``stats``: a
    2D-to-3D lifter's normalisation statistics file (``--stats``)."""
    from hpe_core.inference import Predictor
    from hpe_core.models.checkpoint import load_checkpoint

    model, info = load_checkpoint(existing_path(path, what), device="cpu")
    if stats:
        _apply_stats(model, info, stats)
    return Predictor(model, args.device, getattr(args, "precision", "fp32"), getattr(args, "batch_size", 32),
                     getattr(args, "image_size", None), info=info)


def _apply_stats(model, info, stats: str) -> None:
    from hpe_core.models.families import family_of
    from hpe_core.models.families.lifter import NORMALISED_NOTE, apply_stats

    family = family_of(model)
    if "image" in family.inputs or not hasattr(model, "normalised_output"):
        raise InputError(f"--stats {stats}: only for a 2D-to-3D lifter checkpoint, not this {family.name} one")
    apply_stats(model, stats)
    info.notes = [n for n in info.notes if n != NORMALISED_NOTE] + [f"normalisation statistics from {stats}"]
