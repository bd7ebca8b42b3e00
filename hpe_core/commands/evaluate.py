"""``hpe evaluate CKPT DATASET`` / ``hpe evaluate --pred FILE DATASET``: every pose metric of a
checkpoint's predictions, or of a prediction file, on a dataset."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_crop_args, add_device_args, add_json_flag, emit, with_boxes

DESCRIPTION = """\
Compare 3D poses with a dataset's 3D joints: MPJPE, PA-MPJPE, N-MPJPE, the rotation-aligned mean
distance, 3D PCK and AUC (root-centred on the skeleton's root) and the bone length error (mean
absolute difference of predicted and true bone lengths), overall and per joint.

The poses come from a checkpoint (CKPT DATASET: its predictions on the samples of --split), or
from a file (--pred FILE DATASET): our own .npz (from 'hpe predict ... --out x.npz'), a
VideoPose3D-style (N, J, 3) .npy/.npz array, or an MMPose 3D result .json. Array and MMPose files
hold one row per dataset sample, in dataset order, and do not say their units: give --units m or
mm. A file whose joint or sample count does not fit the dataset is refused.

--protocol NAME scores by a published protocol instead (h36m-p1 / h36m-p2 with --joints 17|16|14,
3dhp with --joints 14|17, 3dpw, coco with --sigmas, standard; README "Protocols"): its numbers per
group and the manifest of what they mean (joints, root, units, alignment, frames, thresholds, code
version, dataset fingerprint).

A UniHPE checkpoint is also scored along each of its inference paths separately: image -> 3D and
2D -> 3D (lifting from the ground-truth 2D joints): MPJPE and PA-MPJPE; image -> 2D: PCK at
0.05 x the box size and EPE in px; plus the cross-modal cosine and retrieval top-1 / top-5."""


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="pose metrics of a checkpoint or a prediction file on a dataset",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
                              usage="hpe evaluate [options] CKPT DATASET\n       "
                                    "hpe evaluate [options] --pred FILE DATASET")
    p.add_argument("inputs", nargs="+", metavar="CKPT DATASET", help="a checkpoint with a pose head and a dataset "
                   "with 3D joints (with --pred: the dataset only)")
    p.add_argument("--pred", metavar="FILE", help="score this prediction file instead of a checkpoint")
    p.add_argument("--units", choices=["m", "mm"], help="--pred: units of an array or MMPose file")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"], help="(default: test)")
    p.add_argument("--max-samples", type=int, metavar="N", help="a seeded random subset of N samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--image-size", type=int, help="default: the checkpoint's training size, else 128")
    p.add_argument("--skip-list", metavar="FILE", help="samples to leave out (e.g. green frames)")
    p.add_argument("--lift-from", metavar="CKPT", help="a 2D-to-3D model: lift this image model's predicted 2D "
                   "instead of the dataset's ground-truth 2D")
    p.add_argument("--hypotheses", type=int, default=10, metavar="K",
                   help="a lifter (vae_lifter) checkpoint: also score the best of K sampled hypotheses "
                        "(an oracle pick per sample; default 10, 0: the mean hypothesis only)")
    add_protocol_args(p, sigmas=True)
    add_crop_args(p)
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def add_protocol_args(p, sigmas: bool = False) -> None:
    from hpe_core.protocols import PROTOCOLS

    p.add_argument("--protocol", metavar="NAME", help=f"score by a published protocol: {', '.join(PROTOCOLS)} "
                   "(see README 'Protocols'); the output carries its manifest")
    p.add_argument("--joints", metavar="N", help="the protocol's joint variant: h36m-p1/p2 17|16|14 (default 17), "
                   "3dhp 14|17 (default 14)")
    if sigmas:
        p.add_argument("--sigmas", metavar="S1,S2,...", help="--protocol coco: the per-keypoint OKS sigmas, one a "
                       "keypoint (default: COCO's 17)")


def sigmas_arg(args: argparse.Namespace) -> list[float] | None:
    """``--sigmas`` as numbers; InputError naming it when one is not a number."""
    from hpe_core.errors import InputError

    if args.sigmas is None:
        return None
    try:
        return [float(v) for v in args.sigmas.split(",")]
    except ValueError:
        raise InputError(f"--sigmas {args.sigmas}: expected numbers separated by commas") from None


def protocol_args(args: argparse.Namespace) -> tuple[str | None, int | None]:
    """``(--protocol, --joints)`` checked: InputError naming the argument when they do not fit."""
    from hpe_core.errors import InputError
    from hpe_core.inference.protocol_scoring import check_protocol

    joints = args.joints
    if joints is not None:
        if not str(joints).isdigit():
            raise InputError(f"--joints {joints}: expected a joint count")
        if args.protocol is None:
            raise InputError("--joints applies with --protocol")
        joints = int(joints)
    if args.protocol is not None:
        check_protocol(args.protocol, joints)
    if getattr(args, "sigmas", None) is not None and args.protocol != "coco":
        raise InputError("--sigmas applies with --protocol coco")
    return args.protocol, joints


def _text(payload: dict) -> str:
    if "manifest" in payload and payload["manifest"]["protocol"] != "standard":
        from hpe_core.commands.protocol_text import protocol_text

        return protocol_text(payload)
    m = payload["metrics"]
    where = f"{payload['precision']} on {payload['device']}" if "device" in payload else payload["pred"]
    lines = [f"samples     {payload['samples']} ({payload['split']}, {where})"]
    if payload.get("dims") == 2:
        lines.append(f"PCK2D       {m['pck2d']:.3f} (at {payload['settings']['pck2d_fraction']:g} x box)")
        lines.append(f"EPE         {m['epe']:.2f} px")
        lines += [f"crop        {payload['crop']}"] if payload.get("crop") else []
        return "\n".join(lines)
    names = {"mpjpe": "MPJPE", "pa_mpjpe": "PA-MPJPE", "n_mpjpe": "N-MPJPE", "mean_distance": "mean dist.",
             "bone_length_error": "bone len."}
    for key, label in names.items():
        if key in m:
            lines.append(f"{label:<11} {m[key]:.2f} mm")
    lines.append(f"PCK3D       {m['pck3d']:.3f} (at {payload['settings']['pck_threshold']:g} mm)")
    lines.append(f"AUC         {m['auc3d']:.3f}")
    best = payload.get("best_of_k")
    if best:
        lines.append(f"best of {best['hypotheses']} hypotheses (oracle pick per sample):")
        for key in ("mpjpe", "pa_mpjpe", "n_mpjpe"):
            lines.append(f"  {names[key]:<9} {best[key]:.2f} mm")
    if payload.get("crop"):
        lines.append(f"crop        {payload['crop']}")
    if payload.get("skipped"):
        lines.append(f"skipped     {payload['skipped']} unreadable image(s)")
    if payload.get("unpredicted"):
        lines.append(f"left out    {payload['unpredicted']} sample(s) without any predicted joint")
    if "unihpe" in payload:
        lines += _unihpe_text(payload["unihpe"])
    if "manifest" in payload:  # --protocol standard
        from hpe_core.protocols import manifest_text

        lines.append(f"manifest    {manifest_text(payload['manifest'])}")
    return "\n".join(lines)


def _unihpe_text(report: dict) -> list[str]:
    p, c = report["paths"], report["crossmodal"]
    lines = ["UniHPE paths (the report above is image -> 3D):"]
    for path, label in (("image_to_3d", "image -> 3D"), ("pose2d_to_3d", "2D -> 3D   ")):
        lines.append(f"  {label}  MPJPE {p[path]['mpjpe']:.2f} mm, PA-MPJPE {p[path]['pa_mpjpe']:.2f} mm")
    lines.append(f"  image -> 2D  PCK@0.05 {p['image_to_2d']['pck2d']:.3f}, EPE {p['image_to_2d']['epe']:.2f} px")
    pairs = ", ".join(f"{k[4:].replace('_', '-', 1)} {v:.3f}" for k, v in c.items() if k.startswith("cos_") and k != "cos_mean")
    lines.append(f"  cosine      {pairs}; mean {c.get('cos_mean', float('nan')):.3f}")
    tops = ", ".join(f"{k[5:].replace('_', '->', 1)} {c[k]:.3f}/{c['top5' + k[4:]]:.3f}"
                     for k in c if k.startswith("top1_"))
    lines.append(f"  top-1/top-5 {tops}")
    return lines


def _inputs(args: argparse.Namespace) -> tuple[str | None, str]:
    from hpe_core.errors import InputError

    want = 1 if args.pred else 2
    if len(args.inputs) != want:
        form = "--pred FILE DATASET" if args.pred else "CKPT DATASET"
        raise InputError(f"expected {form}, got {len(args.inputs)} positional argument(s): {' '.join(args.inputs)}")
    if args.units and not args.pred:
        raise InputError("--units applies to --pred files only")
    if args.pred and (args.boxes or args.crop != "auto"):
        raise InputError("--crop and --boxes apply to a checkpoint's predictions, not to a --pred file")
    return (None, args.inputs[0]) if args.pred else (args.inputs[0], args.inputs[1])


def _score_file(args: argparse.Namespace, dataset_path: str, protocol: str | None, joints: int | None) -> dict:
    """The payload of ``--pred FILE DATASET``: today's metrics, or a protocol's with its manifest."""
    from hpe_core.analysis.features import select_indices
    from hpe_core.datasets import open_dataset
    from hpe_core.errors import existing_path
    from hpe_core.inference.evaluate import score_prediction
    from hpe_core.inference.files import read_prediction_file
    from hpe_core.inference.protocol_scoring import check_protocol, score_protocol

    prediction = read_prediction_file(existing_path(args.pred, "prediction file"), args.units)
    dataset = open_dataset(existing_path(dataset_path, "dataset"), skip_list=args.skip_list)
    rows = select_indices(dataset, args.split, args.max_samples, args.seed)
    if protocol is None:
        report = score_prediction(prediction, dataset, rows, args.pred)
    else:
        check_protocol(protocol, joints, dataset.skeleton.name)
        report = score_protocol(prediction, dataset, rows, protocol, joints, args.pred, sigmas=sigmas_arg(args))
    return {"pred": str(args.pred), "dataset": str(dataset_path), "split": args.split, **report}


def run(args: argparse.Namespace) -> int:
    from hpe_core.analysis.features import select_indices
    from hpe_core.errors import existing_path
    from hpe_core.datasets import open_dataset
    from hpe_core.errors import InputError

    checkpoint, dataset_path = _inputs(args)
    protocol, joints = protocol_args(args)
    if args.pred:
        return emit(args, _score_file(args, dataset_path, protocol, joints), _text)
    from hpe_core.commands._common import load_predictor
    from hpe_core.inference import evaluate
    from hpe_core.models.families.capabilities import shares_a_space
    from hpe_core.progress import terminal_progress

    if args.hypotheses < 0:
        raise InputError(f"--hypotheses: must be 0 or more, got {args.hypotheses}")
    predictor = load_predictor(checkpoint, args)
    lift_from = load_predictor(args.lift_from, args, "heatmap checkpoint") if args.lift_from else None
    dataset = with_boxes(open_dataset(existing_path(dataset_path, "dataset"), skip_list=args.skip_list), args)
    rows = select_indices(dataset, args.split, args.max_samples, args.seed)
    hypotheses = args.hypotheses if "hypotheses" in predictor.family.outputs else 0
    with terminal_progress("evaluate") as progress:
        report = evaluate(predictor, dataset, rows, lift_from=lift_from, hypotheses=hypotheses, seed=args.seed,
                          progress=progress, protocol=protocol, joints=joints, sigmas=sigmas_arg(args))
    payload = {"checkpoint": str(checkpoint), "dataset": str(dataset_path), "split": args.split, **report}
    if shares_a_space(predictor.model):  # a model of several modalities: each inference path on its own
        from hpe_core.studies.unihpe_eval import evaluate_paths

        payload["unihpe"] = evaluate_paths(predictor, dataset, rows)
    return emit(args, payload, _text)

