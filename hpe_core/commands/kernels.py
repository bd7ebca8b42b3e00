"""``hpe kernels CKPT``: conv1 filters as a grid, their sums, frequency responses and classes."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_json_flag, emit

DESCRIPTION = """\
Analyse a checkpoint's first convolution. Each filter gets its per-channel sums and a class by a
scale-invariant rule on its frequency response (|sum| / max |FFT|): low-pass (smoothing),
high-pass (edges, detail), inverting (photographic negative), mixed, or dead (under 5% of the
largest filter's energy). --out writes the filters as an image grid (each filter normalised on
its own); --image also writes conv1's raw filter responses and the chosen layer's feature maps.
Also reported: the mean absolute difference of the filters from their random initialisation (rebuilt
from the checkpoint's family and training seed), per class, and the classes the untrained filters get."""


def register(subparsers) -> None:
    p = subparsers.add_parser("kernels", help="conv1 filters: grid image, sums, FFT, classes; feature maps",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint file")
    p.add_argument("--out", metavar="PNG", help="write the filter grid here")
    p.add_argument("--mode", default="rgb", choices=["rgb", "channels"],
                   help="grid of RGB filters, or one grey tile per filter and channel (default: rgb)")
    p.add_argument("--image", metavar="IMG", help="an image to show the filters' effect on")
    p.add_argument("--layer", default="conv1", choices=["conv1", "layer1", "layer2", "layer3", "layer4"],
                   help="layer whose feature maps --image shows (default: conv1)")
    p.add_argument("--maps-out", metavar="PNG", help="feature maps grid (default: next to --out, or here)")
    p.add_argument("--image-size", type=int, help="default: the checkpoint's training size, else 128")
    add_json_flag(p)
    p.set_defaults(func=run)


def _text(payload: dict) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in payload["counts"].items() if v)
    lines = [f"conv1       {' x '.join(str(v) for v in payload['shape'])}: {counts}"]
    for f in payload["filters"]:
        s = f["sums"]
        sums = " ".join(f"{k}={v:+.4f}" for k, v in s.items() if k != "total")
        lines.append(f"  {f['index']:3d}  {f['class']:<9}  sum {s['total']:+.4f}  ({sums})  r={f['dc_ratio']:.3f}")
    init = payload.get("init")
    if init:
        per = ", ".join(f"{k} {v:.4f}" for k, v in init["per_class"].items())
        lines.append(f"vs init     mean |w - w0| {init['mean_abs_diff']:.4f} ({init['relative']:.2f} x mean |w0| "
                     f"{init['mean_abs_init']:.4f}; seed {init['seed']}); per class: {per}")
        lines.append("init        " + ", ".join(f"{v} {k}" for k, v in init["init_counts"].items() if v)
                     + " (the same rule on the untrained filters)")
    for key in ("grid", "responses", "maps"):
        if payload.get(key):
            lines.append(f"{key:<11} {payload[key]}")
    return "\n".join(lines)


def write_png(path, image) -> str:
    from pathlib import Path

    import cv2

    from hpe_core.errors import InputError
    from hpe_core.inference.run import atomic_write

    path = Path(path).expanduser()
    if path.suffix.lower() != ".png":
        raise InputError(f"{path}: images are written as .png")
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise InputError(f"{path}: could not encode the image")
    atomic_write(path, data.tobytes())
    return str(path)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hpe_core.analysis.feature_maps import feature_map_grid, feature_maps, filter_responses, read_image
    from hpe_core.analysis.kernels import conv1_kernels, init_difference, initial_conv1, kernel_grid
    from hpe_core.errors import InputError
    from hpe_core.errors import existing_path
    from hpe_core.inference import checkpoint_image_size
    from hpe_core.models import load_checkpoint

    model, info = load_checkpoint(existing_path(args.checkpoint, "checkpoint file"), device="cpu")
    report = conv1_kernels(model)
    payload = {"checkpoint": str(args.checkpoint), **report.to_dict()}
    seed = int(((info.training or {}).get("config") or {}).get("train", {}).get("seed", 0) or 0)
    try:
        payload["init"] = {"seed": seed, **init_difference(report, initial_conv1(model, seed))}
    except InputError:  # a model that cannot be rebuilt here: no comparison
        payload["init"] = None
    if args.out:
        payload["grid"] = write_png(args.out, kernel_grid(report.weights, mode=args.mode))
    if args.image:
        image = read_image(existing_path(args.image, "image file"))
        size = args.image_size or checkpoint_image_size(info)
        base = Path(args.out).with_suffix("") if args.out else Path(Path(args.image).stem)
        responses = filter_responses(image, report.weights, image_size=size)
        payload["responses"] = write_png(f"{base}_conv1_responses.png", feature_map_grid(responses))
        maps = feature_maps(model, image, args.layer, image_size=size)
        payload["maps"] = write_png(args.maps_out or f"{base}_{args.layer}_maps.png", feature_map_grid(maps))
        payload["maps_shape"] = list(maps.shape)
    return emit(args, payload, _text)
