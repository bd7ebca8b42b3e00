"""Models and checkpoints against plain baselines, in the same run.

    python bench/models_bench.py [--backbone resnet50] [--width 64] [--size 128] [--batch 8] [--repeat 3]

1. load_checkpoint of a foreign (torchvision-layout) file vs the bare baseline
   ``torch.load(weights_only=True)`` + ``load_state_dict`` into a ResNet: the cost of sniffing,
   recognising and checking the layout (ratio near 1 is the goal).
2. inspect_checkpoint (model built on the meta device) vs load_checkpoint of the same native file.
3. HPEModel.features for every named feature in one pass vs one forward pass per feature.
4. channels_last vs contiguous NCHW inference on this machine's CPU.
Each comparison checks that both sides agree and exits 1 if they do not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpe_core.models import build_model, inspect_checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from hpe_core.models.resnet import build_resnet  # noqa: E402
from timing import best_of  # noqa: E402


def report(label: str, ours: float, base: float, ours_name: str, base_name: str) -> None:
    print(f"{label:<34} {ours_name} {ours * 1e3:8.1f} ms   {base_name} {base * 1e3:8.1f} ms   "
          f"ratio (baseline / ours) {base / ours:5.2f}")


def bench_loading(args, folder: Path) -> bool:
    net = build_resnet(args.backbone, width=args.width)
    foreign = folder / "tv.pth"
    torch.save(net.state_dict(), foreign)

    def baseline():
        fresh = build_resnet(args.backbone, width=args.width)
        fresh.load_state_dict(torch.load(foreign, map_location="cpu", weights_only=True))
        return fresh

    t_ours, (model, _) = best_of(lambda: load_checkpoint(foreign), args.repeat)
    t_base, plain = best_of(baseline, args.repeat)
    report("1. load foreign torchvision file", t_ours, t_base, "load_checkpoint", "torch.load+load_state_dict")
    ok = all(torch.equal(a, b) for a, b in zip(model.encoder.state_dict().values(), plain.state_dict().values()))

    native = save_checkpoint(folder / "simsiam.pt", build_model("simsiam", args.backbone, width=args.width))
    t_inspect, info = best_of(lambda: inspect_checkpoint(native), args.repeat)
    t_load, (loaded, _) = best_of(lambda: load_checkpoint(native), args.repeat)
    report("2. inspect vs load (native file)", t_inspect, t_load, "inspect", "load")
    return ok and info.parameters == sum(p.numel() for p in loaded.parameters())


def bench_features(args) -> bool:
    model = build_model("simsiam", args.backbone, width=args.width).eval()
    x = torch.randn(args.batch, 3, args.size, args.size)
    names = model.feature_names
    with torch.inference_mode():
        t_one, together = best_of(lambda: model.features(x, names), args.repeat)
        t_each, apart = best_of(lambda: {n: model.features(x, [n])[n] for n in names}, args.repeat)
        report(f"3. {len(names)} features, one pass", t_one, t_each, "one pass", "a pass each")
        ok = all(torch.allclose(together[n], apart[n], atol=1e-5) for n in names)

        cl = build_model("simsiam", args.backbone, width=args.width).eval()
        cl.load_state_dict(model.state_dict())
        cl = cl.to(memory_format=torch.channels_last)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        t_cl, out_cl = best_of(lambda: cl.features(x_cl, ["encoder"]), args.repeat)
        t_nchw, out = best_of(lambda: model.features(x, ["encoder"]), args.repeat)
        report("4. encoder forward, channels_last", t_cl, t_nchw, "channels_last", "NCHW")
    return ok and torch.allclose(out_cl["encoder"], out["encoder"], rtol=1e-3, atol=1e-4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet50")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.backbone} width {args.width}, {args.batch} images of {args.size}px, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        ok = bench_loading(args, Path(tmp))
    ok = bench_features(args) and ok
    print("results agree" if ok else "RESULTS DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    from record import recording

    with recording("models_bench"):
        sys.exit(main())
