"""``hpe predict CKPT INPUT --out FILE``: 3D poses for images, a folder, a dataset or a video;
``hpe predict LIFTER KEYPOINTS`` lifts 2D keypoints; ``HEATMAP+LIFTER IMAGES`` chains both."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_device_args, add_json_flag, emit

DESCRIPTION = """\
Predict 3D poses (millimetres, root-relative) with a checkpoint that has a pose head. INPUT is an
image, a folder of images, a dataset or a video; video frames are decoded in a background thread
while the model runs, and unreadable frames are skipped and counted. --out writes every frame's
joints and timing as .json, .csv or .npz (the Prediction file of hpe_core.predictions: arrays
joints_3d and index plus a JSON meta; 'hpe evaluate --pred FILE DATASET' scores it).

Lifting (seed 001): with a lifter checkpoint, INPUT is a keypoints file -- a COCO keypoints JSON,
an .npy/.npz array (N, J, 2) px, or a predictions .npz of ours -- and each pose is lifted to 3D
(COCO's 17 keypoints are mapped onto the lifter's joints, derived joints named in the notes).
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
    p.add_argument("--lifter", metavar="CKPT", help="lift the 2D of a heatmap2d CKPT with this lifter")
    p.add_argument("--stats", metavar="FILE", help="normalisation statistics (.npz/.json: mean_2d, std_2d, "
                   "mean_3d, std_3d) for a 3d_pose_baseline_pytorch lifter file, which holds none")
    p.add_argument("--joints", choices=("coco17", "h36m17", "panoptic19"),
                   help="the joint set of a keypoints array (default: COCO JSON coco17, else the lifter's)")
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
    from hpe_core.progress import terminal_progress

    out = Path(args.out).expanduser()
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {out}: unknown output format; valid: {', '.join(OUTPUT_SUFFIXES)}")
    lifted = _lift(args, out)
    if lifted is not None:
        return lifted
    source = existing_path(args.input, "input")
    from hpe_core.commands.evaluate import _lifter

    if _lifter(existing_path(args.checkpoint, "checkpoint file")):
        return _run_lifter(args, source, out)
    predictor = Predictor(existing_path(args.checkpoint, "checkpoint file"), args.device, args.precision,
                          args.batch_size, args.image_size)
    with terminal_progress("predict") as progress:
        if source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
            result = predictor.predict_video(source, progress, stride=args.stride, max_frames=args.max_frames)
        else:
            result = predictor.predict(source, progress)
    if len(result) == 0:
        raise InputError(f"{source}: no image or frame could be read ({result.skipped} skipped)")
    payload = {**result.summary(), "out": str(result.save(out))}
    return emit(args, payload, _text)


def _run_lifter(args: argparse.Namespace, source, out) -> int:
    """A 2D-to-3D lifter: the samples' 2D joints of a dataset in, a Prediction .npz out (the mean
    hypothesis, 10 sampled hypotheses, the latent)."""
    from hpe_core.analysis.lifting import predict_lifter
    from hpe_core.datasets import open_dataset
    from hpe_core.errors import InputError
    from hpe_core.models.checkpoint import load_checkpoint
    from hpe_core.progress import terminal_progress

    if out.suffix.lower() != ".npz":
        raise InputError(f"--out {out}: a lifter's predictions (with hypotheses and latent) are saved as .npz")
    model, info = load_checkpoint(args.checkpoint, device=args.device)
    dataset = open_dataset(source)
    with terminal_progress("predict") as progress:
        pred = predict_lifter(model, dataset, range(len(dataset)), progress=progress)
    from dataclasses import replace

    path = replace(pred, checkpoint=info.sha256).save(out)
    payload = {"samples": len(dataset), "skipped": 0, "out": str(path)}
    return emit(args, payload, lambda d: f"{d['samples']} samples lifted -> {d['out']}")


def _lift(args: argparse.Namespace, out) -> int | None:
    """The lifting forms of ``hpe predict``; None when CKPT is neither a lifter nor a chain."""
    from pathlib import Path

    from hpe_core.commands._common import existing_path
    from hpe_core.errors import InputError
    from hpe_core.models.checkpoint import file_hash, inspect_checkpoint, load_checkpoint

    parts = args.checkpoint.split("+") if "+" in args.checkpoint and not Path(args.checkpoint).exists() else [args.checkpoint]
    if len(parts) > 2 or (len(parts) == 2 and args.lifter):
        raise InputError(f"{args.checkpoint}: give HEATMAP_CKPT+LIFTER_CKPT or --lifter, once")
    if len(parts) == 2:
        heatmap_path, lifter_path = parts
    elif args.lifter:
        heatmap_path, lifter_path = args.checkpoint, args.lifter
    else:
        from hpe_core.lifting import is_keypoints_file

        path = existing_path(args.checkpoint, "checkpoint file")
        if inspect_checkpoint(path).family != "lifter" or not is_keypoints_file(args.input):  # a dataset: the Predictor
            if args.stats:
                raise InputError("--stats: only for a lifter checkpoint")
            return None
        heatmap_path, lifter_path = None, str(path)
    lifter, info = load_checkpoint(existing_path(lifter_path, "lifter checkpoint"), expect_family="lifter")
    notes = list(info.notes)
    if args.stats:
        from hpe_core.models.families.lifter import NORMALISED_NOTE, apply_stats

        apply_stats(lifter, args.stats)
        notes = [n for n in notes if n != NORMALISED_NOTE] + [f"normalisation statistics from {args.stats}"]
    if heatmap_path is None:
        run = _lift_file(args, lifter, notes, file_hash(lifter_path))
    else:
        from hpe_core.inference import checkpoint_image_size
        from hpe_core.lifting import chain_images

        heatmap, hm_info = load_checkpoint(existing_path(heatmap_path, "heatmap checkpoint"), expect_family="heatmap2d")
        run = chain_images(heatmap, lifter, existing_path(args.input, "input"), args.image_size or
                           checkpoint_image_size(hm_info), args.batch_size, checkpoint=file_hash(lifter_path))
        run.notes[:0] = notes
    if len(run) == 0:
        raise InputError(f"{args.input}: nothing to lift ({run.skipped} unreadable)")
    payload = {**run.summary(), "out": str(run.save(out))}
    return emit(args, payload, _text)


def _lift_file(args, lifter, notes, sha):
    from hpe_core.commands._common import existing_path
    from hpe_core.lifting import check_complete, lift_keypoints, map_joints, read_keypoints

    path = existing_path(args.input, "keypoints file")
    joints, names, joint_set, read_notes = read_keypoints(path, args.joints)
    joints, map_notes = map_joints(joints, joint_set, lifter.skeleton, str(path))
    check_complete(joints, lifter.input_joints, str(path), names)
    return lift_keypoints(lifter, joints, names, str(path), checkpoint=sha, notes=notes + read_notes + map_notes)
