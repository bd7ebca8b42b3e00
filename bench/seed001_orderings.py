"""Seed 001's orderings on the demo set's test split, from trained checkpoints.

    python bench/seed001_orderings.py --heatmap H.pt --lifter L.pt --multitask M.pt [--dataset demo]

Prints one table: the heatmap network's EPE and PCK@0.05; the lifter on ground-truth 2D; the
lifter on the heatmap network's 2D (separately trained pipeline); the multi-task network; and
the demo's image-direct 3D regressors (resources/demo/metrics.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpe_core import resources_dir  # noqa: E402
from hpe_core.models import load_checkpoint  # noqa: E402
from hpe_core.studies.pipeline_eval import evaluate_pipeline  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("heatmap", "lifter", "multitask"):
        ap.add_argument(f"--{name}")
    ap.add_argument("--dataset", default="demo")
    ap.add_argument("--image-size", type=int, default=96)
    ap.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = ap.parse_args()
    if args.dataset == "demo":
        from hpe_core.datasets.demo import demo_dataset_path

        args.dataset = demo_dataset_path()
    models = {name: load_checkpoint(getattr(args, name))[0] if getattr(args, name) else None
              for name in ("heatmap", "lifter", "multitask")}
    figures = evaluate_pipeline(args.dataset, image_size=args.image_size, **models)
    demo = json.loads((resources_dir() / "demo" / "metrics.json").read_text())["summary"]
    rows = [(f"image-direct regressor ({enc} encoder, demo)", demo[enc]) for enc in demo]
    names = {"lifter_gt_2d": "lifter on ground-truth 2D", "lifter_heatmap_2d": "heatmap net -> lifter (separate)",
             "multitask": "multi-task (end to end)", "heatmap2d": "heatmap net (2D only)"}
    rows += [(names[k], v) for k, v in figures.items()]
    print(f"{'model (demo test split)':44s} {'MPJPE':>8s} {'PA-MPJPE':>9s} {'EPE px':>7s} {'PCK@.05':>8s}")
    for label, v in rows:
        cells = [f"{v[k]:8.1f}" if v.get(k) is not None else f"{'':8s}" for k in ("mpjpe", "pa_mpjpe")]
        cells += [f"{v['epe']:7.2f}" if "epe" in v else " " * 7, f"{v['pck']:8.3f}" if "pck" in v else " " * 8]
        print(f"{label:44s} {cells[0]} {cells[1]:>9s} {cells[2]} {cells[3]}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
