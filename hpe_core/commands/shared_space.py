"""``hpe shared-space CKPT DATASET``: a UniHPE checkpoint's shared space and cross-modal retrieval
(what the embedding explorer shows for a unihpe checkpoint)."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_device_args, add_json_flag, emit

DESCRIPTION = """\
Embed the samples of DATASET as image, 2D pose and 3D pose with a unihpe checkpoint, project the
3N embeddings together (t-SNE by default; the paper's Fig. 6) and report cross-modal retrieval:
for each modality pair the share of samples whose own partner is the nearest (top-1) or among
the 5 nearest (top-5) by cosine over all the samples. --pick INDEX lists the 2D and 3D poses
nearest to that sample's image embedding. --out writes the coordinates and embeddings (.npz)."""


def register(subparsers) -> None:
    p = subparsers.add_parser("shared-space", help="UniHPE's shared embedding space and cross-modal retrieval",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="CKPT", help="a unihpe checkpoint")
    p.add_argument("dataset", metavar="DATASET", help="a dataset with images, 2D and 3D joints")
    p.add_argument("--method", default="tsne", choices=["pca", "lda", "umap", "tsne"],
                   help="projection (default: tsne; lda separates the modalities)")
    p.add_argument("--split", default="all", choices=["train", "val", "test", "all"], help="samples (default: all)")
    p.add_argument("--max-samples", type=int, default=200, metavar="N",
                   help="a seeded random subset of N samples (default: %(default)s; 0: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset and the projection")
    p.add_argument("--pick", type=int, action="append", default=[], metavar="INDEX",
                   help="list the poses nearest to this sample's image (repeatable)")
    p.add_argument("--top-k", type=int, default=5, metavar="K", help="poses listed per --pick (default: 5)")
    p.add_argument("--out", metavar="FILE.npz", help="write coordinates, modality codes, indices and embeddings")
    add_device_args(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpe_core.errors import existing_path
    from hpe_core.datasets import open_dataset
    from hpe_core.progress import TerminalProgress
    from hpe_core.studies.unihpe_space import SharedSpaceSpec, shared_space, write_shared_space

    from hpe_core.errors import InputError

    ckpt = existing_path(args.checkpoint, "checkpoint")
    dataset = open_dataset(existing_path(args.dataset, "dataset"))
    for index in args.pick:
        if not 0 <= index < len(dataset):
            raise InputError(f"--pick {index}: {dataset.path} has samples 0..{len(dataset) - 1}")
    spec = SharedSpaceSpec(ckpt, dataset, max_samples=args.max_samples or None, split=args.split,
                           method=args.method, seed=args.seed, device=args.device)
    bar = TerminalProgress("shared-space")
    try:
        space = shared_space(spec, bar)
    finally:
        bar.close()
    doc = {**space.info, "dataset": str(dataset.path), "picks": []}
    for index in args.pick:
        doc["picks"].append({"index": index, "name": dataset.sample_name(index), **{
            target: [{"index": i, "name": dataset.sample_name(i), "cosine": c}
                     for i, c in space.neighbours(index, target, "image", args.top_k)]
            for target in ("pose2d", "pose3d")}})
    if args.out:
        doc["out"] = str(write_shared_space(space, args.out))
    return emit(args, doc, _text)


def _text(doc: dict) -> str:
    lines = [f"{doc['samples']} samples of {doc['dataset']}, {doc['method']} of the shared space",
             "retrieval over all samples (own partner nearest / among the 5 nearest):"]
    for pair in ("image_pose2d", "image_pose3d", "pose2d_pose3d"):
        lines.append(f"  {pair.replace('_', ' -> ', 1):<18} top-1 {doc[f'top1_{pair}']:.3f}  "
                     f"top-5 {doc[f'top5_{pair}']:.3f}")
    for pick in doc["picks"]:
        lines.append(f"nearest to the image of {pick['name']} (#{pick['index']}):")
        for target in ("pose2d", "pose3d"):
            hits = ", ".join(f"{h['name']} {h['cosine']:.3f}" for h in pick[target])
            lines.append(f"  {target}: {hits}")
    if doc.get("out"):
        lines.append(f"written to {doc['out']}")
    return "\n".join(lines)
