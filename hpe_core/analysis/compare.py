"""Comparing two checkpoints on the same samples: CKA, silhouette per layer, retrieval, metrics.

``compare_checkpoints(CompareSpec(a, b, dataset), progress) -> CompareResult`` embeds both
models' layers on the same samples (cached, see :mod:`.features`), then computes

- the linear CKA of every layer of A against every layer of B (a matrix for a heatmap);
- per layer and model, the silhouette of k-means clusters of the layer's features;
- per layer and model, cross-view retrieval (top-1 / top-5 with exact chance) on multi-view data;
- per layer and model, the silhouette of the dataset's labels (action, camera, subject, pose) and
  the collapse check (feature spread, effective rank: :mod:`.structure`);
- per layer and model, the health measures (:mod:`.health`: RankMe, spread, alignment, uniformity,
  kNN, cross-view retrieval, the 3D probe), and A - B for the layers both have;
- the regression metrics of :func:`hpe_core.metric_report.evaluate` when both have pose heads, and each
  model's one error measure (:mod:`hpe_core.error_measure`), and the verdict by it
  (:func:`pose_verdict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpe_core.analysis.features import EmbedSpec, compute_embeddings
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled, stage

MAP_LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")


@dataclass(frozen=True)
class CompareSpec:
    checkpoint_a: str | Path
    checkpoint_b: str | Path
    dataset: str | Path
    split: str = "test"
    max_samples: int | None = 1000
    seed: int = 0
    layers: tuple[str, ...] | None = None  # default: every layer each model offers (but "pose")
    clusters: int = 8
    device: str = "auto"
    precision: str = "fp32"
    batch_size: int = 64
    image_size: int | None = None
    cache_dir: str | Path | None = None
    skip_list: str | Path | None = None


@dataclass
class CompareResult:
    layers_a: list[str]
    layers_b: list[str]
    cka: np.ndarray                           # (len(layers_a), len(layers_b))
    silhouette: dict[str, dict[str, float]]   # {"a": {layer: s}, "b": {...}}
    retrieval: dict[str, dict[str, dict]] | None  # {"a": {layer: {"top1", ...}}, "b": ...}
    metrics: dict[str, dict] | None           # {"a": summary, "b": summary} when both have heads
    samples: int
    info: dict[str, Any] = field(default_factory=dict)
    label_silhouette: dict[str, dict[str, dict]] = field(default_factory=dict)  # {"a": {layer: {label: s}}}
    collapse: dict[str, dict[str, dict]] = field(default_factory=dict)  # {"a": {layer: CollapseStats dict}}
    error_measure: dict[str, str] = field(default_factory=dict)  # {"a": "PA-MPJPE", "b": "MPJPE"}
    health: dict[str, dict[str, dict]] = field(default_factory=dict)  # {"a"|"b"|"a_minus_b": {layer: measures}}

    def to_dict(self) -> dict:
        verdict = pose_verdict(self)
        return {**self.info, "samples": self.samples, "layers_a": self.layers_a, "layers_b": self.layers_b,
                "cka": self.cka.round(6).tolist(), "silhouette": self.silhouette,
                "label_silhouette": self.label_silhouette, "collapse": self.collapse,
                "retrieval": self.retrieval, "metrics": self.metrics, "error_measure": self.error_measure,
                "health": self.health, "verdict": None if verdict is None else verdict.__dict__}


@dataclass(frozen=True)
class PoseVerdict:
    """Which of A and B predicts poses better, by one error measure both are read by."""

    measure: str          # "MPJPE" or "PA-MPJPE"
    a: float              # mm
    b: float              # mm
    difference: float     # A - B, mm (negative: A is better)
    better: str | None    # "a", "b", or None when they are equal at the 0.1 mm the numbers are shown to

    def sentence(self, names: dict[str, str] | None = None) -> str:
        """``A (simclr.pt) is better by 7.5 mm PA-MPJPE`` (``names``: {"a", "b"} -> file names)."""
        names = names or {}
        if self.better is None:
            return f"A and B are equal by {self.measure} (at 0.1 mm)"
        who = self.better.upper() + (f" ({names[self.better]})" if names.get(self.better) else "")
        return f"{who} is better by {abs(self.difference):.1f} mm {self.measure}"


def pose_verdict(result) -> PoseVerdict | None:
    """The verdict of a :class:`CompareResult` with pose metrics (None without). Both checkpoints
    are read by the same measure: their own when they share it, else PA-MPJPE (a head trained up to
    a rotation is read only by it, and it is defined for every head)."""
    metrics, measures = result.metrics, result.error_measure or {}
    if not metrics:
        return None
    names = {measures.get("a", "MPJPE"), measures.get("b", "MPJPE")}
    measure = names.pop() if len(names) == 1 else "PA-MPJPE"
    key = {"MPJPE": "mpjpe", "PA-MPJPE": "pa_mpjpe"}[measure]
    a, b = float(metrics["a"][key]), float(metrics["b"][key])
    diff = a - b
    better = None if round(abs(diff), 1) == 0.0 else ("a" if diff < 0 else "b")
    return PoseVerdict(measure, a, b, diff, better)


def _layers_of(path, wanted) -> tuple[str, ...]:
    from hpe_core.models import inspect_checkpoint

    info = inspect_checkpoint(path)
    offered = [n for n in (*MAP_LAYERS, "encoder", "projection", "prediction") if n in info.feature_dims]
    if wanted is None:
        return tuple(offered)
    unknown = [n for n in wanted if n not in offered]
    if unknown:
        raise InputError(f"--layers {unknown[0]}: {Path(path).name} has the layers {', '.join(offered)}")
    return tuple(wanted)


def compare_checkpoints(spec: CompareSpec, progress: ProgressSink | None = None) -> CompareResult:
    from hpe_core.analysis.similarity import cka_matrix

    progress = progress or NullProgress()
    feats, embs = {}, {}
    for k, (key, path) in enumerate((("a", spec.checkpoint_a), ("b", spec.checkpoint_b))):
        progress.set_status(f"embedding with {Path(path).name}")
        es = EmbedSpec(path, spec.dataset, _layers_of(path, spec.layers), spec.split, spec.max_samples,
                       spec.seed, None, spec.device, spec.precision, spec.batch_size, spec.image_size,
                       spec.cache_dir, True, spec.skip_list)
        embs[key] = compute_embeddings(es, stage(progress, 0.3 * k, 0.3 * (k + 1)))
    common = np.intersect1d(embs["a"].indices, embs["b"].indices)
    for key, emb in embs.items():
        rows = np.searchsorted(emb.indices, common)
        feats[key] = {n: np.asarray(f[rows], np.float32) for n, f in emb.features.items()}
    progress.set_status("CKA of every pair of layers")
    names_a, names_b, cka = cka_matrix(feats["a"], feats["b"], stage(progress, 0.6, 0.7))
    dataset = embs["a"].dataset
    sil = {key: _silhouettes(f, spec, stage(progress, 0.7 + 0.1 * i, 0.8 + 0.1 * i))
           for i, (key, f) in enumerate(feats.items())}
    labels, collapse = _structure(feats, dataset, common, progress)
    retrieval = _retrieval(feats, dataset, common, spec.device, progress)
    metrics = _metrics(spec, dataset, common, progress)
    health = _health(feats, dataset, common, spec, progress)
    info = {"checkpoint_a": str(spec.checkpoint_a), "checkpoint_b": str(spec.checkpoint_b),
            "dataset": str(spec.dataset), "split": spec.split, "clusters": spec.clusters}
    progress.set_progress(1.0)
    return CompareResult(names_a, names_b, cka, sil, retrieval, metrics, len(common), info, labels, collapse,
                         _error_measures(spec), health)


def _health(feats: dict, dataset, rows: np.ndarray, spec: CompareSpec, progress: ProgressSink) -> dict:
    """The health measures of every layer of A and B on the same samples, and A - B where both have it."""
    from hpe_core.analysis.health import dataset_rows, health_measures, measure_difference

    known = dataset_rows(dataset, rows, "auto", spec.seed)
    out: dict = {}
    for key, f in feats.items():
        out[key] = {}
        for name, x in f.items():
            check_cancelled(progress)
            progress.set_status(f"health of {name} ({key.upper()})")
            out[key][name] = health_measures(x, known)
    out["a_minus_b"] = {name: measure_difference(out["a"][name], out["b"][name])
                        for name in out["a"] if name in out["b"]}
    return out


def _structure(feats: dict, dataset, rows: np.ndarray, progress: ProgressSink):
    """Label silhouettes and collapse statistics of every layer of both models."""
    from hpe_core.analysis.structure import collapse_stats, dataset_label_silhouettes

    labels, collapse = {}, {}
    for key, f in feats.items():
        labels[key], collapse[key] = {}, {}
        for name, x in f.items():
            check_cancelled(progress)
            progress.set_status(f"label silhouettes of {name} ({key.upper()})")
            labels[key][name] = dataset_label_silhouettes(x, dataset, rows)
            collapse[key][name] = collapse_stats(x).to_dict()
    return labels, collapse


def _error_measures(spec: CompareSpec) -> dict[str, str]:
    from hpe_core.error_measure import checkpoint_error_measure
    from hpe_core.models import inspect_checkpoint

    return {k: checkpoint_error_measure(inspect_checkpoint(p)).name
            for k, p in (("a", spec.checkpoint_a), ("b", spec.checkpoint_b))}


def _silhouettes(features: dict, spec: CompareSpec, progress: ProgressSink) -> dict[str, float | None]:
    from hpe_core.analysis.clustering import kmeans
    from hpe_core.analysis.silhouette import silhouette_score

    out = {}
    for i, (name, x) in enumerate(features.items()):
        check_cancelled(progress)
        k = min(spec.clusters, len(x) - 1)
        labels = kmeans(x, k, seed=spec.seed).labels if k >= 2 else None
        ok = labels is not None and 2 <= len(np.unique(labels)) <= len(x) - 1
        out[name] = silhouette_score(x, labels) if ok else None
        progress.set_progress((i + 1) / len(features))
    return out


def _retrieval(feats: dict, dataset, rows: np.ndarray, device: str, progress: ProgressSink):
    from hpe_core.analysis.similarity import cross_view_retrieval
    from hpe_core.devices import resolve_device

    pid, cam = np.asarray(dataset.pose_id)[rows], np.asarray(dataset.camera_id)[rows]
    if len(np.unique(cam)) < 2:
        return None
    dev = resolve_device(device)
    try:
        return {key: {name: cross_view_retrieval(x, pid, cam, device=dev) for name, x in f.items()}
                for key, f in feats.items()}
    except InputError:  # no pose seen by two cameras among these samples
        return None


def _metrics(spec: CompareSpec, dataset, rows: np.ndarray, progress: ProgressSink):
    from hpe_core.inference import Predictor, evaluate
    from hpe_core.models import inspect_checkpoint

    if dataset.joints_3d is None:
        return None
    infos = {k: inspect_checkpoint(p) for k, p in (("a", spec.checkpoint_a), ("b", spec.checkpoint_b))}
    if not all(i.joints for i in infos.values()):
        return None
    out = {}
    for key, path in (("a", spec.checkpoint_a), ("b", spec.checkpoint_b)):
        progress.set_status(f"predicting poses with {Path(path).name}")
        pred = Predictor(path, spec.device, spec.precision, spec.batch_size, spec.image_size)
        out[key] = evaluate(pred, dataset, rows, progress=progress)["metrics"]
    return out
