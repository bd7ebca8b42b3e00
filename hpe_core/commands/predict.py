"""``hpe predict CKPT INPUT --out FILE``: 3D poses for images, a folder, a dataset or a video;
``hpe predict LIFTER KEYPOINTS`` lifts 2D keypoints; ``HEATMAP+LIFTER IMAGES`` chains both."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpe_core.commands._common import add_crop_args, add_device_args, add_json_flag, emit, with_boxes

DESCRIPTION = """\
Predict poses with a checkpoint that has a pose head: 3D in millimetres, root-relative, and 2D in
the pixels of each image as stored. INPUT is an image, a folder of images, a dataset or a video;
video frames are decoded in a background thread while the model runs, and unreadable frames are
skipped and counted. An image model sees each sample's person crop when the dataset has boxes
(--crop, --boxes; else the whole frame, and the output says which). --out writes every frame's joints and timing as .json, .csv or .npz (the
Prediction file of hpe_core.predictions: arrays joints_3d, joints_2d, index, ... plus a JSON meta;
'hpe evaluate --pred FILE DATASET' scores it). A model that samples hypotheses (vae_lifter) gives
10, seeded.

Lifting (seed 001): with a lifter checkpoint, INPUT is a keypoints file -- a COCO keypoints JSON,
an .npy/.npz array (N, J, 2) px, or a predictions .npz of ours -- and each pose is lifted to 3D
(COCO's 17 keypoints are mapped onto the lifter's joints, derived joints named in the notes; a pose
missing a joint the lifter needs is skipped and named). With a dataset, its 2D joints are lifted.
CKPT may be HEATMAP_CKPT+LIFTER_CKPT (or give --lifter): images -> heatmap 2D -> lifted 3D."""


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
    p.add_argument("--lifter", metavar="CKPT", help="lift the 2D that CKPT (an image model) predicts with this lifter")
    p.add_argument("--stats", metavar="FILE", help="normalisation statistics (.npz/.json: mean_2d, std_2d, "
                   "mean_3d, std_3d) for a 3d_pose_baseline_pytorch lifter file, which holds none")
    p.add_argument("--joints", choices=("coco17", "h36m17", "panoptic19"),
                   help="the joint set of a keypoints array (default: COCO JSON coco17, else the lifter's)")
    add_crop_args(p)
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def _text(payload: dict) -> str:
    from hpe_core.datasets.boxes import WHOLE_FRAME

    lines = [f"predicted   {payload['frames']} frame(s) -> {payload['out']}",
             f"model       {payload['model_ms_per_frame'] or 0:.2f} ms/frame on {payload['device']} "
             f"({payload['precision']}), {payload['frames_per_s'] or 0:.1f} frames/s overall"]
    if payload["skipped"]:
        first = payload["skipped_frames"][0]
        lines.append(f"skipped     {payload['skipped']} unreadable (first: {first['name']}: {first['reason']})"
                     if first['name'] not in first['reason'] else
                     f"skipped     {payload['skipped']} unreadable (first: {first['reason']})")
    lines += [f"crop        {payload['crop']}"] if payload.get("crop") else []
    if payload.get("crop") == WHOLE_FRAME:  # a single-person model on whole frames: say what that means
        lines.append("warning     the model predicts one person from each whole frame; with several people in "
                     "view its pose is of no one in particular: give --boxes FILE (a person detector's boxes)")
    lines += [f"note        {note}" for note in payload.get("notes", [])]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from hpe_core.atomic import check_writable
    from hpe_core.commands._common import load_predictor
    from hpe_core.errors import InputError
    from hpe_core.inference import collect, predict
    from hpe_core.inference.run import OUTPUT_SUFFIXES
    from hpe_core.inference.sources import open_source
    from hpe_core.progress import terminal_progress

    out = Path(args.out).expanduser()
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {out}: unknown output format; valid: {', '.join(OUTPUT_SUFFIXES)}")
    check_writable(out.parent, out)  # a read-only or missing folder fails now, not after predicting
    image_ckpt, model_ckpt = _checkpoints(args)
    predictor = load_predictor(model_ckpt, args, stats=args.stats)
    lift_from = None if image_ckpt is None else load_predictor(image_ckpt, args, "heatmap checkpoint")
    hypotheses = 10 if "hypotheses" in predictor.family.outputs else 0
    if hypotheses and out.suffix.lower() != ".npz":
        raise InputError(f"--out {out}: a lifter's predictions (with hypotheses and latent) are saved as .npz")
    source = with_boxes(open_source(args.input, predictor, args.joints), args)
    rows = _rows(source, args)
    with terminal_progress("predict") as progress:
        batches = predict(predictor, source, rows, lift_from=lift_from, hypotheses=hypotheses, progress=progress)
        run = collect(batches, predictor, source=str(args.input))
    if lift_from is not None:
        run.notes.insert(0, "2D from the heatmap checkpoint (argmax), lifted to 3D")
    if len(run) == 0:
        raise InputError(f"{args.input}: nothing could be predicted ({run.skipped} skipped"
                         + (f"; first: {run.skipped_reasons[0]})" if run.skipped else ")"))
    payload = {**run.summary(), "out": str(run.save(out))}
    return emit(args, payload, _text)


def _checkpoints(args: argparse.Namespace) -> tuple[str | None, str]:
    """(the checkpoint whose 2D is lifted or None, the checkpoint that predicts)."""
    from hpe_core.errors import InputError

    parts = args.checkpoint.split("+") if "+" in args.checkpoint and not Path(args.checkpoint).exists() else [args.checkpoint]
    if len(parts) > 2 or (len(parts) == 2 and args.lifter):
        raise InputError(f"{args.checkpoint}: give HEATMAP_CKPT+LIFTER_CKPT or --lifter, once")
    if len(parts) == 2:
        return parts[0], parts[1]
    return (args.checkpoint, args.lifter) if args.lifter else (None, args.checkpoint)


def _rows(source, args: argparse.Namespace):
    """None (every row), or a video's every ``--stride``-th frame up to ``--max-frames``."""
    import numpy as np

    from hpe_core.errors import InputError

    if int(args.stride) < 1:
        raise InputError(f"--stride: must be at least 1, got {args.stride}")
    if source.format != "video" or (int(args.stride) == 1 and args.max_frames is None):
        return None
    return np.arange(0, len(source), int(args.stride), dtype=np.int64)[:args.max_frames]
