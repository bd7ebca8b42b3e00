"""``hpe data synth | info | check``: make the synthetic dataset, describe a dataset, check its health."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "data", help="synthesize, describe and check pose datasets",
        description="Pose datasets: make the built-in synthetic one, describe any supported dataset "
        "(native, CMU Panoptic, Human3.6M npz, COCO keypoints, mmpose body3d npz (Human3.6M, MPI-INF-3DHP), "
        "MPI-INF-3DHP test set, 3DPW, image folder, video), check its health.")
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(parser))
    parser.set_defaults(func=lambda args: _usage(parser))
    _add_synth(sub)
    info = sub.add_parser("info", help="describe a dataset", description="Format, samples, skeleton, cameras, "
                          "subjects and actions of the dataset at PATH (format detected from the path).")
    _add_dataset_args(info, "leave out the samples named in this file")
    add_json_flag(info)
    info.set_defaults(func=_info)
    check = sub.add_parser("check", help="find broken samples", description="Check every sample: unreadable, "
                           "truncated or empty images; near-uniform or single-channel-saturated frames; missing "
                           "or NaN joints; joints behind the camera or far outside the image; duplicate frames.")
    _add_dataset_args(check, "leave out the samples named in this file before checking")
    check.add_argument("--write-skip-list", metavar="FILE", help="write the names of the flagged samples to FILE")
    add_json_flag(check)
    check.set_defaults(func=_check)


def _add_dataset_args(parser: argparse.ArgumentParser, skip_help: str) -> None:
    parser.add_argument("path", help="dataset folder or file")
    parser.add_argument("--skip-list", help=skip_help)
    parser.add_argument("--images", metavar="DIR", help="an mmpose body3d file: the folder its image names are "
                        "relative to (default: found beside the file)")


def _add_synth(sub) -> None:
    synth = sub.add_parser("synth", help="render the synthetic multi-view people dataset",
                           description="Render procedural people in 17 actions seen by a ring of cameras "
                           "and write the native format (dataset.json, annotations.npz, images/).")
    synth.add_argument("--out", required=True, help="folder to create (must be new or empty)")
    synth.add_argument("--poses", type=int, default=2000, help="number of distinct poses (default 2000)")
    synth.add_argument("--cameras", type=int, default=4, help="cameras in the ring; each sees every pose (default 4)")
    synth.add_argument("--size", type=int, default=128, help="image width and height in px (default 128)")
    synth.add_argument("--seed", type=int, default=0, help="random seed; the output is a function of it (default 0)")
    synth.add_argument("--corrupt", type=float, default=0.0,
                       help="fraction of samples replaced by planted faults: all-green, black and truncated frames")
    synth.add_argument("--subjects", type=int, default=12, help="distinct bodies and outfits (default 12)")
    synth.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    synth.add_argument("--overwrite", action="store_true", help="replace --out if it already holds files")
    synth.add_argument("--part-masks", action="store_true",
                       help="also write the renderer's per-part masks (parts/CC/PPPPPP.png, one bit per part)")
    synth.add_argument("--views", default="plain", choices=["plain", "varied"],
                       help="varied: each camera's view gets its own light, wall texture, occluders, colour "
                       "cast and noise (default: plain, as the shipped demo set was rendered)")
    synth.add_argument("--held-out-subjects", type=int, default=0, metavar="K",
                       help="split by subject: the last K subjects are the test split, the K before them "
                       "validate (default 0: a seeded 60/20/20 split of the poses)")
    add_json_flag(synth)
    synth.set_defaults(func=_synth)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _synth(args: argparse.Namespace) -> int:
    from hpe_core.datasets.synthetic import SynthSpec, planted_faults, synthesize
    from hpe_core.progress import terminal_progress

    spec = SynthSpec(out=Path(args.out), poses=args.poses, cameras=args.cameras, size=args.size, seed=args.seed,
                     corrupt=args.corrupt, subjects=args.subjects, quality=args.quality, overwrite=args.overwrite,
                     part_masks=args.part_masks, views=args.views, held_out_subjects=args.held_out_subjects)
    spec.validate()
    start = time.perf_counter()
    with terminal_progress("synth") as bar:
        path = synthesize(spec, bar)
    seconds = time.perf_counter() - start
    samples = spec.poses * spec.cameras
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    payload = {"path": str(path), "samples": samples, "poses": spec.poses, "cameras": spec.cameras,
               "size": spec.size, "seed": spec.seed, "planted_faults": len(planted_faults(spec)),
               "bytes": size, "seconds": round(seconds, 3), "images_per_second": round(samples / max(seconds, 1e-9), 1)}
    return emit(args, payload, lambda p: (
        f"wrote {p['samples']} samples ({p['poses']} poses x {p['cameras']} cameras, {p['size']} px) to {p['path']}\n"
        f"{p['bytes'] / 1e6:.1f} MB, {p['seconds']:.1f} s ({p['images_per_second']:.0f} images/s), "
        f"{p['planted_faults']} planted faults"))


def _info_text(p: dict) -> str:
    lines = [f"{p['path']}", f"  format    {p['format']}", f"  samples   {p['samples']}",
             f"  skeleton  {p['skeleton']} ({p['joints']} joints)", f"  poses     {p['poses']}",
             f"  cameras   {p['cameras']}", f"  3D joints {'yes' if p['has_3d'] else 'no'}",
             f"  images    {'yes' if p['has_images'] else 'no'}"]
    for key in ("subjects", "actions"):
        values = p.get(key) or []
        lines.append(f"  {key:<9} {len(values)}" + (f": {', '.join(map(str, values[:20]))}" if values else "")
                     + (", ..." if len(values) > 20 else ""))
    if p.get("image_root"):
        lines.append(f"  image root {p['image_root']}")
    if p.get("skipped"):
        lines.append(f"  skipped   {p['skipped']} (skip list)")
    from hpe_core.datasets.check import left_out_lines

    lines += left_out_lines(p.get("left_out") or [])
    return "\n".join(lines)


def _info(args: argparse.Namespace) -> int:
    from hpe_core.datasets import open_dataset

    from hpe_core.datasets.check import left_out

    dataset = open_dataset(args.path, skip_list=args.skip_list, images=args.images)
    return emit(args, {**dataset.info(), "left_out": left_out(dataset)}, _info_text)


def _check(args: argparse.Namespace) -> int:
    from hpe_core.datasets.check import CheckSpec, check_text, run_check
    from hpe_core.progress import terminal_progress

    with terminal_progress("check") as bar:
        report = run_check(CheckSpec(path=args.path, skip_list=args.skip_list, images=args.images,
                                     write_skip_list=args.write_skip_list), bar)
    return emit(args, report, check_text)
