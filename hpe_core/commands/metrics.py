"""``hpe metrics --pred P.npy --gt G.npy``: pose metrics of predictions against ground truth."""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit
from hpe_core.errors import InputError

DESCRIPTION = """\
Compare predicted joints with ground truth. Both are arrays of one shape, (N, J, 3) in mm
(MPJPE, PA-MPJPE, N-MPJPE, the rotation-aligned mean distance, 3D PCK and AUC) or (N, J, 2)
in pixels (2D PCK and EPE), stored as .npy, or as .npz holding one array (FILE.npz:KEY picks
one of several). NaN joints are left out of every metric."""


def register(subparsers) -> None:
    from hpe_core.skeleton import SKELETONS

    p = subparsers.add_parser("metrics", help="MPJPE, PA-MPJPE, PCK, ... of predictions vs ground truth",
                              description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pred", required=True, metavar="P.npy", help="predicted joints (N, J, 3|2)")
    p.add_argument("--gt", required=True, metavar="G.npy", help="ground-truth joints, same shape")
    p.add_argument("--valid", metavar="V.npy", help="(N, J) mask: joints to evaluate (default: all finite)")
    p.add_argument("--skeleton", choices=sorted(SKELETONS), help="joint set; checks J, names joints")
    p.add_argument("--root", default="auto",
                   help="joint (index or name) both poses are centred on for MPJPE, N-MPJPE, PCK: "
                        "auto = the skeleton's root (none without --skeleton), or none")
    p.add_argument("--pck-threshold", type=float, default=150.0, metavar="MM",
                   help="3D PCK threshold in mm (default: 150)")
    p.add_argument("--pck2d-fraction", type=float, default=0.05, metavar="F",
                   help="2D PCK threshold as a fraction of the ground-truth box size (default: 0.05)")
    p.add_argument("--per-sample", metavar="FILE.csv", help="also write every sample's values to a CSV")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpe_core.metric_report import evaluate

    pred = load_array(args.pred, "--pred")
    gt = load_array(args.gt, "--gt")
    valid = load_array(args.valid, "--valid") if args.valid else None
    report = evaluate(pred, gt, valid, skeleton=args.skeleton, root=args.root,
                      pck_threshold=args.pck_threshold, pck2d_fraction=args.pck2d_fraction)
    if args.per_sample:
        write_per_sample_csv(Path(args.per_sample), report)
    payload = {"pred": args.pred, "gt": args.gt, **report.to_dict()}
    return emit(args, payload, lambda _: format_report(report))


def load_array(spec: str, argument: str):
    """An array from ``FILE.npy``, ``FILE.npz`` (one array) or ``FILE.npz:KEY``; never unpickles."""
    import numpy as np

    from hpe_core.predictions import load_arrays

    path, key = Path(spec), None
    if not path.exists() and ":" in spec:
        head, key = spec.rsplit(":", 1)
        path = Path(head)
    if not path.is_file():
        raise InputError(f"{argument} {spec}: no such file")
    data = load_arrays(path, f"{argument} {path}", ".npy/.npz array")
    if isinstance(data, np.ndarray):
        if key is not None:
            raise InputError(f"{argument} {spec}: {path.name} is a single array, it has no key {key!r}")
        return data
    with data:
        keys = list(data.keys())
        if key is None and len(keys) != 1:
            raise InputError(f"{argument} {path}: holds {len(keys)} arrays ({', '.join(keys) or 'none'}); "
                             f"pick one with {path}:KEY")
        key = keys[0] if key is None else key
        if key not in keys:
            raise InputError(f"{argument} {path}: no array {key!r}; arrays: {', '.join(keys)}")
        try:
            return data[key]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"{argument} {path}:{key}: unreadable array ({exc})") from None


def format_report(report) -> str:
    from hpe_core.metric_report import FRACTIONS, METRIC_LABELS

    unit = report.units
    root = report.settings.get("root")
    names = report.joint_names or tuple(str(j) for j in range(report.joints))
    lines = [f"{report.samples} samples x {report.joints} joints ({report.dims}D, {unit}), "
             f"{report.evaluated_joints} joints evaluated"
             + (f", root-centred on {names[root]}" if root is not None else "")]
    for key, value in report.summary.items():
        label = METRIC_LABELS[key]
        if key == "pck3d":
            label += f" @ {report.settings['pck_threshold']:g} mm"
        elif key == "auc3d":
            low, high, _ = report.settings["auc_thresholds"]
            label += f" ({low:g}-{high:g} mm)"
        elif key == "pck2d":
            label += f" @ {report.settings['pck2d_fraction']:g} x box"
        shown = f"{100 * value:8.2f} %" if key in FRACTIONS else f"{value:8.2f} {unit}"
        lines.append(f"  {label:<48} {shown}")
    columns = list(report.per_joint)
    lines.append(f"per joint ({' / '.join(METRIC_LABELS[c] for c in columns)}, {unit}):")
    width = max(len(n) for n in names)
    for j, name in enumerate(names):
        values = "  ".join(f"{report.per_joint[c][j]:8.2f}" for c in columns)
        lines.append(f"  {name:<{width}}  {values}")
    return "\n".join(lines)


def write_per_sample_csv(path: Path, report) -> None:
    """Write ``index,<metric>...`` rows atomically (temporary file in the folder, then rename)."""
    import numpy as np

    columns = list(report.per_sample)
    table = np.column_stack([np.arange(report.samples)] + [report.per_sample[c] for c in columns])
    folder = path.resolve().parent
    if not folder.is_dir():
        raise InputError(f"--per-sample {path}: folder {folder} does not exist")
    from hpe_core.atomic import atomic_open

    with atomic_open(path, "w", encoding="utf-8") as fh:
        np.savetxt(fh, table, delimiter=",", header="index," + ",".join(columns), comments="",
                   fmt=["%d"] + ["%.6g"] * len(columns))
