"""``hpe demo build`` (train the demo models) and ``hpe demo path`` (the demo dataset)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="the demo dataset and models",
                              description="The demo: a synthetic multi-view dataset (made in seconds "
                              "into the cache) and small SimCLR / SimSiam models trained on it.")
    sub = p.add_subparsers(dest="demo_command", metavar="ACTION")
    _add_build(sub)
    u = sub.add_parser("build-unihpe", help="train the demo's UniHPE checkpoint (a separate step)",
                       description="Train UniHPE's three stages on the demo set with the unihpe_stage*_cpu "
                       "presets and write unihpe.pt, configs/unihpe.json and unihpe_metrics.json.")
    _add_folders(u)
    _add_overrides(u, "override a value of every stage's config")
    add_json_flag(u)
    u.set_defaults(func=run_build_unihpe)
    t = sub.add_parser("table", help="print the README's demo tables from metrics.json",
                       description="Every head of seed 000's step (test split, mm) and the seed's orderings, "
                       "each marked as holding or not, as Markdown, from resources/demo/metrics.json.")
    t.add_argument("metrics", nargs="?", type=Path, help="a metrics.json (default: resources/demo/metrics.json)")
    add_json_flag(t)
    t.set_defaults(func=run_table)
    d = sub.add_parser("path", help="print the demo dataset folder (making it if missing)")
    add_json_flag(d)
    d.set_defaults(func=run_path)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _add_build(sub) -> None:
    b = sub.add_parser("build", help="train the demo models and write them to resources/demo",
                       description="Make the demo dataset, train SimCLR and SimSiam encoders (ResNet18, "
                       "width 16), the section-6 retrained SimCLR, 1/2/3-layer 3D regression heads on SimCLR "
                       "and on an untrained encoder (the control) and 2-layer heads on the others with the "
                       "*_cpu presets, and write checkpoints, configs and metrics.json (with seed 000's "
                       "orderings); then the VAE lifter and seed 001's heatmap net and lifter.")
    _add_folders(b)
    b.add_argument("--events", metavar="FILE|-", help="JSON-lines events of the four runs")
    _add_overrides(b, "override a value of every config, e.g. --set train.device=cuda")
    b.add_argument("--only", choices=["vae", "contrastive"], help="build one part alone: vae = the VAE lifter "
                   "(vae_lifter.pt and vae_metrics.json; about 15 minutes on 2 CPU cores); contrastive = seed "
                   "000's step (the encoders, every head and control, metrics.json)")
    add_json_flag(b)
    b.set_defaults(func=run_build)


def _add_folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help="output folder (default: resources/demo)")
    parser.add_argument("--work", type=Path, help="keep the training runs here (default: a temporary folder)")


def _add_overrides(parser: argparse.ArgumentParser, set_help: str) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    parser.add_argument("--quick", action="store_true", help="a tiny build in seconds (for tests)")


def run_path(args: argparse.Namespace) -> int:
    from hpe_core.datasets.demo import demo_dataset_path

    return emit(args, {"path": str(demo_dataset_path())}, lambda d: d["path"])


def run_table(args: argparse.Namespace) -> int:
    import json

    from hpe_core import resources_dir
    from hpe_core.errors import existing_path
    from hpe_core.studies.demo_findings import markdown
    from hpe_core.errors import InputError

    path = existing_path(args.metrics or resources_dir() / "demo" / "metrics.json", "metrics file")
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable metrics.json ({exc})") from None
    if not isinstance(metrics, dict) or metrics.get("format") != "hpe-studio-demo-metrics":
        raise InputError(f"{path}: not a demo metrics.json (format 'hpe-studio-demo-metrics')")
    return emit(args, {"markdown": markdown(metrics), "orderings": metrics.get("orderings", [])},
                lambda d: d["markdown"].rstrip("\n"))


def run_build(args: argparse.Namespace) -> int:
    from hpe_core.studies.demo import DemoSpec, build_demo
    from hpe_core.progress import terminal_progress
    from hpe_core.training.events import EventWriter

    spec = DemoSpec(quick=args.quick, work=args.work, overrides=tuple(args.overrides), only=args.only,
                    **({"out": args.out} if args.out else {}))
    with EventWriter(args.events) as writer, terminal_progress("demo", stream=sys.stderr) as bar:
        metrics = build_demo(spec, bar, writer)
    if args.only == "contrastive":
        return emit(args, {"out": str(spec.out), "summary": metrics["summary"], "build": metrics["build"],
                           "orderings": metrics["orderings"]}, _text)
    if args.only == "vae":
        vae = metrics["vae"]
        return emit(args, {"out": str(spec.out), "vae": vae["summary"], "build": vae["build"]}, _text_vae)
    return emit(args, {"out": str(spec.out), "summary": metrics["summary"], "build": metrics["build"],
                       "vae": metrics["vae"]["summary"]}, _text)


def run_build_unihpe(args: argparse.Namespace) -> int:
    from hpe_core.studies.demo_unihpe import UniHPEDemoSpec, build_unihpe_demo
    from hpe_core.progress import TerminalProgress

    spec = UniHPEDemoSpec(quick=args.quick, work=args.work, overrides=tuple(args.overrides),
                          **({"out": args.out} if args.out else {}))
    bar = TerminalProgress("demo unihpe", stream=sys.stderr)
    try:
        doc = build_unihpe_demo(spec, bar)
    finally:
        bar.close()
    return emit(args, {"out": str(spec.out), **doc}, _unihpe_text)


def _unihpe_text(d: dict) -> str:
    p = d["evaluation"]["paths"]
    return (f"{d['file']} ({d['bytes'] / 1e6:.1f} MB) written to {d['out']} in {d['seconds']:.0f} s; test "
            f"MPJPE image->3D {p['image_to_3d']['mpjpe']:.1f} mm, 2D->3D {p['pose2d_to_3d']['mpjpe']:.1f} mm; "
            f"image->2D PCK@0.05 {p['image_to_2d']['pck2d']:.3f}; mean cross-modal cosine "
            f"{d['evaluation']['crossmodal'].get('cos_mean', float('nan')):.3f}")


def _text(d: dict) -> str:
    lines = [f"demo written to {d['out']} in {d['build']['seconds']:.0f} s"]
    for name, s in d["summary"].items():
        lines.append(f"{name}: 2-layer head test MPJPE {_mm(s['mpjpe'])}, PA-MPJPE {_mm(s['pa_mpjpe'])}, "
                     f"mean distance {_mm(s['mean_distance'])}; mean-pose baseline PA-MPJPE "
                     f"{_mm(s['baseline_pa_mpjpe'])}")
    for o in d.get("orderings", []):
        lines.append(f"  {'holds' if o['holds'] else 'does not hold' if o['holds'] is False else 'n/a'}: "
                     f"{o['name']} ({o['numbers']})")
    if d.get("vae"):
        lines.extend(_vae_lines(d["vae"]))
    return "\n".join(lines)


def _text_vae(d: dict) -> str:
    return "\n".join([f"VAE lifter written to {d['out']} in {d['build']['seconds']:.0f} s", *_vae_lines(d["vae"])])


def _vae_lines(s: dict) -> list[str]:
    u, v, b = s["unsupervised"], s["supervised"], s["baseline"]
    return [f"VAE lifter from 2D alone: test PA-MPJPE {_mm(u['pa_mpjpe'])} (best of K {_mm(u['bh_pa_mpjpe'])}); "
            f"with 3D labels {_mm(v['pa_mpjpe'])}; mean-pose baseline {_mm(b['pa_mpjpe'])}"]


def _mm(value) -> str:
    return "n/a" if value is None else f"{value:.1f} mm"
