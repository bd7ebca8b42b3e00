"""``hpe embed``: features of a layer -> k-means -> PCA / LDA / UMAP / t-SNE -> silhouette."""

from __future__ import annotations

import argparse

from hpe_core.commands._common import add_device_args, add_json_flag, emit

DESCRIPTION = """\
Embed a dataset with a checkpoint's layer (or take features you already have with --features),
cluster the features with k-means, project them to 2D or 3D and score the clusters with the
silhouette (scikit-learn's definition, Euclidean). Features are streamed to a cache on disk
(float16, or --feature-dtype float32), keyed by the checkpoint's hash, the dataset, the layer and
the samples, so a second run is fast and a cancelled one goes on where it stopped. Under torchrun
each process extracts a shard of the samples and rank 0 joins them and goes on alone.
The coordinates go to --out (.npz or .csv); the printed report holds the silhouette score(s)
and where the coordinates were written."""


def register(subparsers) -> None:
    p = subparsers.add_parser("embed", help="embed, cluster and project features; silhouette scores",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", metavar="CKPT", nargs="?", help="a checkpoint file")
    p.add_argument("dataset", metavar="DATASET", nargs="?", help="a dataset path")
    p.add_argument("--features", metavar="F.npy", help="(N, D) features instead of CKPT DATASET")
    p.add_argument("--labels", metavar="L.npy", help="(N,) labels of --features (colours, LDA classes)")
    p.add_argument("--layer", default="encoder",
                   help="encoder, projection, prediction, conv1, layer1..layer4 (default: encoder)")
    p.add_argument("--method", default="pca", choices=["pca", "lda", "umap", "tsne"],
                   help="projection (default: pca); LDA separates --color-by classes, else the clusters")
    p.add_argument("--dims", type=int, default=2, choices=[2, 3], help="2 or 3 (default: 2)")
    p.add_argument("--clusters", type=int, default=8, metavar="K", help="k-means clusters (default: 8; 0: none)")
    p.add_argument("--color-by", metavar="LABEL", help="a dataset label: action, subject, camera, pose_id, sequence")
    p.add_argument("--split", default="all", choices=["train", "val", "test", "all"], help="samples (default: all)")
    p.add_argument("--max-samples", type=int, metavar="N", help="a seeded random subset of N samples")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset, k-means and the projection")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, help="default: the checkpoint's training size, else 128")
    p.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity (default: 30)")
    p.add_argument("--neighbors", type=int, default=15, metavar="N", help="UMAP n_neighbors (default: 15)")
    p.add_argument("--min-dist", type=float, default=0.1, metavar="D", help="UMAP min_dist (default: 0.1)")
    p.add_argument("--exact-silhouette", action="store_true",
                   help="the exact silhouette above 20,000 samples too (N^2 work; default: a sampled estimate "
                        "with its 95%% interval there)")
    p.add_argument("--landmarks", type=int, metavar="M",
                   help="UMAP / t-SNE: fit on M seeded samples and place the rest by the library's transform "
                        "(default: 20,000 above 50,000 samples; 0: always fit on every sample)")
    p.add_argument("--no-cache", action="store_true", help="recompute the features even if cached")
    p.add_argument("--feature-dtype", default="float16", choices=["float16", "float32"],
                   help="of the cached features (default: float16, half the disk and memory)")
    p.add_argument("--out", metavar="FILE", help="coordinates file, .npz or .csv "
                   "(default: embed_<layer>_<method><dims>d.npz here)")
    add_device_args(p, precision=True)
    add_json_flag(p)
    p.set_defaults(func=run)


def build_spec(args: argparse.Namespace):
    from pathlib import Path

    from hpe_core.analysis.embed import EmbedRunSpec
    from hpe_core.analysis.features import EmbedSpec
    from hpe_core.errors import existing_path
    from hpe_core.errors import InputError

    if args.features and (args.checkpoint or args.dataset):
        raise InputError("give either CKPT DATASET or --features, not both")
    if not args.features and not (args.checkpoint and args.dataset):
        raise InputError("give CKPT DATASET, or --features F.npy")
    if args.labels and not args.features:
        raise InputError("--labels goes with --features (with a dataset use --color-by)")
    if args.color_by and args.features:
        raise InputError("--color-by names a dataset label; with --features give --labels L.npy")
    if args.clusters < 0:
        raise InputError(f"--clusters: must be 0 or more, got {args.clusters}")
    if args.perplexity <= 0 or args.neighbors < 2 or not 0 <= args.min_dist <= 1:
        raise InputError("--perplexity must be > 0, --neighbors at least 2, --min-dist in [0, 1]")
    options = ({"perplexity": args.perplexity} if args.method == "tsne" else
               {"n_neighbors": args.neighbors, "min_dist": args.min_dist} if args.method == "umap" else {})
    if args.landmarks is not None:
        if args.landmarks < 0 or args.method not in ("umap", "tsne"):
            raise InputError("--landmarks: 0 or more, with --method umap or tsne")
        options["landmarks"] = args.landmarks
    out = args.out or f"embed_{'features' if args.features else args.layer}_{args.method}{args.dims}d.npz"
    embed_spec = None
    if not args.features:
        embed_spec = EmbedSpec(existing_path(args.checkpoint, "checkpoint file"), Path(args.dataset).expanduser(),
                               (args.layer,), args.split, args.max_samples, args.seed, None, args.device,
                               args.precision, args.batch_size, args.image_size, use_cache=not args.no_cache,
                               dtype=args.feature_dtype)
    from hpe_core.devices import resolve_device

    return EmbedRunSpec(embed_spec, args.features, args.labels, args.method, args.dims, args.clusters,
                        args.color_by, args.seed, str(resolve_device(args.device)), out, options,
                        exact_silhouette=args.exact_silhouette)


def _text(payload: dict) -> str:
    lines = [f"features    {' x '.join(str(v) for v in payload['features_shape'])}"
             + (f" ({payload['layer']}, {'cached' if payload.get('from_cache') else 'computed'})"
                if payload.get("layer") else ""),
             f"projection  {payload['method'].upper()} {payload['dims']}D"
             + (f" ({payload['projection']['how']})" if payload.get("projection", {}).get("how") else "")]
    estimates = payload.get("silhouette_estimate") or {}
    for name, score in payload["silhouette"].items():
        est = estimates.get(name)
        lines.append(f"silhouette  {score:.4f}  ({name})" if est is None else
                     f"silhouette  {score:.4f}  ({name}; estimate from {est['sample']:,} of {est['total']:,} samples, "
                     f"{est['confidence']:.0%} interval {est['low']:.4f} to {est['high']:.4f})")
    if payload.get("skipped"):
        lines.append(f"skipped     {payload['skipped']} unreadable image(s)")
    lines.append(f"coordinates {payload['coordinates']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from hpe_core.analysis.embed import embed
    from hpe_core.analysis.feature_cache import shard
    from hpe_core.progress import terminal_progress

    spec = build_spec(args)
    rank, world = shard(spec.embed.device) if spec.embed is not None else (0, 1)  # under torchrun: a shard of the samples each
    try:
        if rank > 0:  # its shard of the features; rank 0 joins them and goes on alone
            from hpe_core.analysis.features import compute_embeddings
            from hpe_core.progress import NullProgress

            compute_embeddings(spec.embed, NullProgress())
            return 0
        with terminal_progress("embed") as progress:
            result = embed(spec, progress)
        return emit(args, {**result.to_dict(), "shards": world}, _text)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
