"""The embedding view's pipeline: features -> k-means -> projection -> silhouette -> a file.

``embed(EmbedRunSpec(...), progress) -> EmbedResult`` is what ``hpe embed`` and the GUI run.
Features come from a checkpoint over a dataset (:func:`compute_embeddings`, cached) or from a
``.npy`` file a user already has (with an optional ``.npy`` of labels). The silhouette is
reported for the k-means clusters (the seed's measure) and, when a label is given, for the label.
LDA separates the label's classes when one is given, else the k-means clusters.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpe_core.analysis.features import EmbedSpec, compute_embeddings
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled, stage

COORD_SUFFIXES = (".npz", ".csv")


@dataclass(frozen=True)
class EmbedRunSpec:
    embed: EmbedSpec | None = None       # features of embed.layers[0] from a checkpoint + dataset
    features_path: str | Path | None = None  # or an (N, D) .npy
    labels_path: str | Path | None = None    # (N,) .npy of labels for features_path
    method: str = "pca"
    dims: int = 2
    clusters: int = 8                    # k-means clusters; 0 for none
    color_by: str | None = None          # a dataset label: action, subject, camera, pose_id, sequence
    seed: int = 0
    device: str = "cpu"                  # for k-means and the silhouette
    out: str | Path | None = None        # .npz or .csv for the coordinates
    options: dict = field(default_factory=dict)  # passed to the projection (perplexity, ...)
    exact_silhouette: bool = False       # exact even above silhouette_estimate.EXACT_LIMIT (N^2 work)


@dataclass
class EmbedResult:
    coords: np.ndarray                   # (M, dims) float32
    indices: np.ndarray                  # (M,) dataset positions (or row numbers of features_path)
    clusters: np.ndarray | None          # (M,) k-means labels
    labels: np.ndarray | None            # (M,) label codes
    label_names: list[str]
    silhouette: dict[str, float]         # {"clusters": s, "<label>": s}
    silhouette_samples: np.ndarray | None  # (M,) of the clusters (else of the label)
    info: dict[str, Any]
    out: Path | None = None

    def to_dict(self) -> dict:
        return {**self.info, "silhouette": self.silhouette, "coordinates": str(self.out) if self.out else None,
                "samples": int(len(self.coords))}


def embed(spec: EmbedRunSpec, progress: ProgressSink | None = None) -> EmbedResult:
    progress = progress or NullProgress()
    features, indices, labels, label_names, info = _features(spec, stage(progress, 0.0, 0.6))
    if features.shape[0] < 3:
        raise InputError(f"features: {features.shape[0]} samples are too few to embed")
    clusters = None
    if spec.clusters:
        from hpe_core.analysis.clustering import kmeans

        progress.set_status(f"k-means with {spec.clusters} clusters")
        fit = kmeans(features, spec.clusters, seed=spec.seed, device=spec.device, progress=stage(progress, 0.6, 0.7))
        clusters = fit.labels
        if fit.fitted_on < len(clusters):
            info["kmeans"] = f"centres fitted on {fit.fitted_on:,} seeded samples, every sample assigned"
    groupings = {"clusters": clusters} if clusters is not None and len(np.unique(clusters)) >= 2 else {}
    if labels is not None and 2 <= len(np.unique(labels)) <= len(labels) - 1:
        groupings[spec.color_by or "labels"] = labels
    sil, per_sample, estimates = silhouettes(features, groupings, spec, stage(progress, 0.7, 0.85))
    if estimates:
        info["silhouette_estimate"] = estimates
    check_cancelled(progress)
    from hpe_core.analysis.projections import project

    classes = labels if labels is not None else clusters
    proj = project(features, spec.method, spec.dims, labels=classes, seed=spec.seed,
                   progress=stage(progress, 0.85, 1.0), **spec.options)
    info.update({"method": spec.method, "dims": spec.dims, "clusters": spec.clusters,
                 "color_by": spec.color_by, "projection": proj.info})
    result = EmbedResult(proj.coords, indices, clusters, labels, label_names, sil, per_sample, info)
    if spec.out is not None:
        result.out = write_coordinates(result, spec.out)
    progress.set_progress(1.0)
    return result


def silhouettes(features, groupings: dict, spec: EmbedRunSpec, progress: ProgressSink):
    """``(scores {name: s}, per-sample values of the first grouping or None, estimates {name: dict})``:
    exact up to :data:`~hpe_core.analysis.silhouette_estimate.EXACT_LIMIT` samples (or when
    ``spec.exact_silhouette``), else the sampled estimate with its interval (no per-sample values)."""
    from hpe_core.analysis.silhouette import silhouette
    from hpe_core.analysis.silhouette_estimate import EXACT_LIMIT, silhouette_estimate

    scores, per_sample, estimates = {}, None, {}
    exact = spec.exact_silhouette or features.shape[0] <= EXACT_LIMIT
    for i, (name, groups) in enumerate(groupings.items()):
        progress.set_status(f"silhouette of the {name}" + ("" if exact else " (sampled estimate)"))
        part = stage(progress, i / len(groupings), (i + 1) / len(groupings))
        if exact:
            scores[name], values = silhouette(features, groups, device=spec.device, progress=part)
            per_sample = values if per_sample is None else per_sample
        else:
            est = silhouette_estimate(features, groups, seed=spec.seed, device=spec.device, progress=part)
            scores[name], estimates[name] = est.value, est.to_dict()
    return scores, per_sample, estimates


def _features(spec: EmbedRunSpec, progress: ProgressSink):
    if (spec.embed is None) == (spec.features_path is None):
        raise InputError("embed: give either a checkpoint and a dataset, or --features")
    if spec.features_path is not None:
        return _given_features(spec)
    emb = compute_embeddings(spec.embed, progress)
    layer = spec.embed.layers[0]
    labels, names = (None, [])
    if spec.color_by:
        labels, names = emb.labels(spec.color_by)
    info = {"checkpoint": str(spec.embed.checkpoint), "dataset": str(spec.embed.dataset), "layer": layer,
            "features_shape": list(emb.features[layer].shape), "cache": str(emb.cache_paths[layer]),
            "from_cache": emb.cached[layer], "skipped": len(emb.skipped)}
    return emb.features[layer], emb.indices, labels, names, info


def _given_features(spec: EmbedRunSpec):
    features = load_npy(spec.features_path, "--features")
    if features.ndim != 2 or not np.issubdtype(features.dtype, np.number):
        raise InputError(f"--features {spec.features_path}: expected an (N, D) array of numbers, "
                         f"got {features.dtype} {features.shape}")
    labels, names = None, []
    if spec.labels_path is not None:
        raw = load_npy(spec.labels_path, "--labels").reshape(-1)
        if raw.shape[0] != features.shape[0]:
            raise InputError(f"--labels {spec.labels_path}: {raw.shape[0]} labels for {features.shape[0]} samples")
        uniques, labels = np.unique(raw, return_inverse=True)
        names = [str(u) for u in uniques]
    info = {"features": str(spec.features_path), "labels": str(spec.labels_path) if spec.labels_path else None,
            "features_shape": list(features.shape)}
    return features, np.arange(features.shape[0]), labels, names, info


def load_npy(path, flag: str) -> np.ndarray:
    """An .npy file as a read-only memory map, never unpickling anything."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{flag} {path}: no such file")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise InputError(f"{flag} {path}: not a plain .npy array ({exc})") from None
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot be read ({exc})") from None


def write_coordinates(result: EmbedResult, path: str | Path) -> Path:
    """Write coordinates (+ indices, clusters, labels, silhouette) as .npz or .csv, atomically."""
    from hpe_core.inference.run import atomic_write

    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in COORD_SUFFIXES:
        raise InputError(f"--out {path}: unknown format {suffix or '(none)'}; valid: {', '.join(COORD_SUFFIXES)}")
    if not path.parent.is_dir():
        raise InputError(f"--out {path}: folder {path.parent} does not exist")
    n = len(result.coords)
    columns = {"index": result.indices.astype(np.int64),
               "cluster": result.clusters if result.clusters is not None else np.full(n, -1),
               "label": result.labels if result.labels is not None else np.full(n, -1),
               "silhouette": (result.silhouette_samples if result.silhouette_samples is not None
                              else np.full(n, np.nan))}
    buf = io.BytesIO()
    if suffix == ".npz":
        np.savez(buf, coords=result.coords, label_names=np.asarray(result.label_names, dtype=str), **columns)
        data = buf.getvalue()
    else:
        axes = "xyz"[: result.coords.shape[1]]
        lines = [",".join(["index", *axes, "cluster", "label", "silhouette"])]
        for i in range(n):
            lines.append(",".join([str(columns["index"][i]), *(f"{v:.6g}" for v in result.coords[i]),
                                   str(columns["cluster"][i]), str(columns["label"][i]),
                                   f"{columns['silhouette'][i]:.6g}"]))
        data = ("\n".join(lines) + "\n").encode()
    atomic_write(path, data)
    return path
