"""``hpe compare A B DATASET``: two checkpoints on the same samples."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_device_args, add_json_flag, emit

DESCRIPTION = """\
Compare two checkpoints on the same samples of a dataset: the linear CKA between every layer of A
and every layer of B (a matrix, e.g. for a heatmap), the silhouette of k-means clusters of each
layer and of the dataset's labels (action, camera, subject, pose), the collapse check of each
layer (feature spread, effective rank), cross-view retrieval on multi-view data (the share of
samples whose nearest neighbour, by cosine, among the other cameras' samples shows the same pose;
top-1 and top-5, with chance), the health measures of each layer (RankMe, spread, kNN, cross-view
top-1, the 3D probe's PA-MPJPE; A, B and A - B; see `hpe health`), and the pose metrics when both
checkpoints have pose heads, each read by its error measure (PA-MPJPE for a rotation-aligned head,
else MPJPE)."""


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="CKA, silhouette, cross-view retrieval and metrics of two checkpoints",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint_a", metavar="CKPT_A")
    p.add_argument("checkpoint_b", metavar="CKPT_B")
    p.add_argument("dataset", metavar="DATASET")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"], help="(default: test)")
    p.add_argument("--max-samples", type=int, default=1000, metavar="N", help="seeded subset (default: 1000)")
    p.add_argument("--layers", nargs="+", metavar="L", help="layers to compare (default: all each model has)")
    p.add_argument("--clusters", type=int, default=8, metavar="K", help="k-means clusters (default: 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, help="default: the checkpoint's training size, else 128")
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def _text(payload: dict) -> str:
    a, b = payload["layers_a"], payload["layers_b"]
    width = max(len(n) for n in a + ["A \\ B"]) + 2
    lines = [f"samples     {payload['samples']} ({payload['split']})", "linear CKA",
             "  " + "A \\ B".ljust(width) + "".join(n.rjust(11) for n in b)]
    for name, row in zip(a, payload["cka"]):
        lines.append("  " + name.ljust(width) + "".join(f"{v:11.3f}" for v in row))
    for key in ("a", "b"):
        sil = ", ".join(f"{k} {v:.3f}" for k, v in payload["silhouette"][key].items() if v is not None)
        lines.append(f"silhouette {key.upper()}  {sil}")
    titles = {"action": "action", "camera": "camera", "subject": "subject", "pose_id": "pose"}
    for key in ("a", "b"):
        for layer, scores in (payload.get("label_silhouette") or {}).get(key, {}).items():
            parts = [f"{titles.get(k, k)} {v:.3f}" for k, v in scores.items() if v is not None]
            if parts:
                lines.append(f"labels {key.upper()}     {layer}: {', '.join(parts)}")
    for key in ("a", "b"):
        collapse = (payload.get("collapse") or {}).get(key, {})
        flagged = [n for n, c in collapse.items() if c.get("collapsed")]
        ranks = ", ".join(f"{n} {c['effective_rank']:.1f}" for n, c in collapse.items())
        if collapse:
            lines.append(f"collapse {key.upper()}   collapsed: {', '.join(flagged) or 'none'}; effective rank: {ranks}")
    if payload["retrieval"]:
        for key in ("a", "b"):
            r = payload["retrieval"][key]
            parts = [f"{k} {v['top1']:.3f}/{v['top5']:.3f}" for k, v in r.items()]
            lines.append(f"retrieval {key.upper()}   top-1/top-5: {', '.join(parts)}")
        first = next(iter(payload["retrieval"]["a"].values()))
        lines.append(f"  chance     top-1 {first['chance_top1']:.3f}, top-5 {first['chance_top5']:.3f}")
    else:
        lines.append("retrieval   n/a (no pose seen by two cameras)")
    lines += _health_lines(payload.get("health") or {})
    return "\n".join(lines + _pose_lines(payload))


def _pose_lines(payload: dict) -> list[str]:
    """Each checkpoint's pose errors (and the measure it is read by), then the verdict."""
    lines = []
    for key in ("a", "b") if payload["metrics"] else ():
        m = payload["metrics"][key]
        measure = (payload.get("error_measure") or {}).get(key, "MPJPE")
        lines.append(f"metrics {key.upper()}   MPJPE {m['mpjpe']:.1f} mm, PA-MPJPE {m['pa_mpjpe']:.1f} mm "
                     f"(read by {measure})")
    if payload.get("verdict"):
        from hpe_core.analysis.compare import PoseVerdict

        lines.append(f"verdict     {PoseVerdict(**payload['verdict']).sentence()}")
    return lines


def _health_lines(health: dict) -> list[str]:
    """RankMe, spread, kNN, cross-view top-1 and the probe of each layer both have: A, B, A - B."""
    shown = {"rankme": "RankMe", "spread": "spread", "knn": "kNN", "xview_top1": "x-view top-1",
             "probe_pa_mpjpe": "probe PA-MPJPE"}
    lines = []
    for layer, diff in (health.get("a_minus_b") or {}).items():
        parts = [f"{title} {_num(health['a'][layer].get(m))} / {_num(health['b'][layer].get(m))} "
                 f"({_num(diff.get(m), signed=True)})" for m, title in shown.items()]
        lines.append(f"health {layer}: A / B (A - B): " + ", ".join(parts))
    return lines


def _num(value, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.3g}" if signed else f"{value:.3g}"


def run(args: argparse.Namespace) -> int:
    from hpe_core.analysis.compare import CompareSpec, compare_checkpoints
    from hpe_core.errors import existing_path
    from hpe_core.progress import terminal_progress

    spec = CompareSpec(existing_path(args.checkpoint_a, "checkpoint file"),
                       existing_path(args.checkpoint_b, "checkpoint file"), args.dataset, args.split,
                       args.max_samples, args.seed, tuple(args.layers) if args.layers else None, args.clusters,
                       args.device, args.precision, args.batch_size, args.image_size)
    with terminal_progress("compare") as progress:
        result = compare_checkpoints(spec, progress)
    return emit(args, result.to_dict(), _text)
