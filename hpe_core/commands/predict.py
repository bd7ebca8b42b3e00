"""``hpe predict CKPT INPUT --out FILE``: 3D poses for images, a folder, a dataset or a video."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_device_args, add_json_flag, emit

DESCRIPTION = """\
Predict 3D poses (millimetres, root-relative) with a checkpoint that has a pose head. INPUT is an
image, a folder of images, a dataset or a video; video frames are decoded in a background thread
while the model runs, and unreadable frames are skipped and counted. --out writes every frame's
joints and timing as .json, .csv or .npz (the Prediction file of hpe_core.predictions: arrays
joints_3d and index plus a JSON meta; 'hpe evaluate --pred FILE DATASET' scores it)."""


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="3D poses for images, folders, datasets and videos",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint with a pose head")
    p.add_argument("input", metavar="INPUT", help="an image, a folder, a dataset or a video")
    p.add_argument("--out", required=True, metavar="FILE", help="predictions file: .json, .csv or .npz")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--image-size", type=int, help="default: the checkpoint's training size, else 128")
    p.add_argument("--stride", type=int, default=1, help="video: every N-th frame (default: 1)")
    p.add_argument("--max-frames", type=int, metavar="N", help="video: stop after N frames")
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def _text(payload: dict) -> str:
    lines = [f"predicted   {payload['frames']} frame(s) -> {payload['out']}",
             f"model       {payload['model_ms_per_frame'] or 0:.2f} ms/frame on {payload['device']} "
             f"({payload['precision']}), {payload['frames_per_s'] or 0:.1f} frames/s overall"]
    if payload["skipped"]:
        first = payload["skipped_frames"][0]
        lines.append(f"skipped     {payload['skipped']} unreadable (first: {first['name']}: {first['reason']})"
                     if first['name'] not in first['reason'] else
                     f"skipped     {payload['skipped']} unreadable (first: {first['reason']})")
    lines += [f"note        {note}" for note in payload.get("notes", [])]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hpe_core.commands._common import existing_path
    from hpe_core.datasets import VIDEO_SUFFIXES
    from hpe_core.errors import InputError
    from hpe_core.inference import Predictor
    from hpe_core.inference_io import OUTPUT_SUFFIXES
    from hpe_core.progress import TerminalProgress

    out = Path(args.out).expanduser()
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {out}: unknown output format; valid: {', '.join(OUTPUT_SUFFIXES)}")
    source = existing_path(args.input, "input")
    predictor = Predictor(existing_path(args.checkpoint, "checkpoint file"), args.device, args.precision,
                          args.batch_size, args.image_size)
    progress = TerminalProgress("predict")
    try:
        if source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
            result = predictor.predict_video(source, progress, stride=args.stride, max_frames=args.max_frames)
        else:
            result = predictor.predict(source, progress)
    finally:
        progress.close()
    if len(result) == 0:
        raise InputError(f"{source}: no image or frame could be read ({result.skipped} skipped)")
    payload = {**result.summary(), "out": str(result.save(out))}
    return emit(args, payload, _text)
