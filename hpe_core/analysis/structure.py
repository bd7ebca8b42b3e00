"""What structure an embedding has: the silhouette of the dataset's own labels, a silhouette scan
over the number of k-means clusters, and whether the embedding has collapsed.

- ``label_silhouettes(features, labels)``: the silhouette of each labelling of the samples
  (action, camera, subject, pose: the same physical pose seen by several cameras), beside the
  k-means clusters' score. A high action / pose score and a low camera score is what a pose
  representation should show; a high camera score means the features encode the viewpoint.
- ``silhouette_scan(features, ks=range(2, 21))``: k-means for each k and the silhouette of its
  clusters, to see which number of clusters the features support (the k of the best score).
- ``collapse_stats(features)``: SimSiam's collapse check (the per-dimension standard deviation of
  the L2-normalised features, about ``1/sqrt(D)`` when spread, near 0 when collapsed) and the
  effective rank (``exp`` of the entropy of the normalised singular values, Roy & Vetterli 2007).
  An embedding is flagged collapsed when its normalised spread is below ``COLLAPSE_SPREAD`` of
  the spread of an isotropic one or its effective rank is below ``COLLAPSE_RANK``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled, stage

DATASET_LABELS = ("action", "camera", "subject", "pose_id")  # what label_silhouettes reads by default
LABEL_TITLES = {"action": "action", "camera": "camera", "subject": "subject", "pose_id": "pose"}
SCAN_KS = tuple(range(2, 21))
COLLAPSE_SPREAD = 0.1  # spread * sqrt(D) below this: collapsed (1.0 for isotropic features)
COLLAPSE_RANK = 2.0    # effective rank below this: collapsed onto (at most) a line


def _features(features) -> np.ndarray:
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[0] < 3 or x.shape[1] == 0:
        raise InputError(f"features: expected an (N, D) array with N >= 3, got shape {tuple(x.shape)}")
    x = np.asarray(x, np.float32)
    if not np.isfinite(x).all():
        raise InputError("features: contain NaN or infinite values")
    return x


def label_silhouettes(features, labels: dict[str, np.ndarray], device="cpu",
                      progress: ProgressSink | None = None) -> dict[str, float | None]:
    """``{label name: silhouette}`` of each labelling (N,) of the features (N, D); None where the
    labelling cannot be scored (fewer than 2 or more than N - 1 distinct values)."""
    from hpe_core.analysis.silhouette import silhouette_score

    progress = progress or NullProgress()
    x = _features(features)
    out: dict[str, float | None] = {}
    for i, (name, values) in enumerate(labels.items()):
        check_cancelled(progress)
        y = np.asarray(values).reshape(-1)
        if len(y) != len(x):
            raise InputError(f"labels {name}: {len(y)} values for {len(x)} samples")
        k = len(np.unique(y))
        progress.set_status(f"silhouette of the {LABEL_TITLES.get(name, name)} labels")
        out[name] = silhouette_score(x, y, device=device) if 2 <= k <= len(y) - 1 else None
        progress.set_progress((i + 1) / max(len(labels), 1))
    return out


def dataset_label_silhouettes(features, dataset, indices, names=DATASET_LABELS, device="cpu",
                              progress: ProgressSink | None = None) -> dict[str, float | None]:
    """:func:`label_silhouettes` of the labels ``dataset`` has among ``names``, for the embedded
    rows ``indices`` (dataset positions)."""
    idx = np.asarray(indices, np.int64)
    available = set(dataset.available_labels())
    labels = {n: np.asarray(dataset.labels(n)[0])[idx] for n in names if n in available}
    return label_silhouettes(features, labels, device=device, progress=progress)


@dataclass
class SilhouetteScan:
    ks: np.ndarray       # (K,) numbers of clusters tried
    scores: np.ndarray   # (K,) silhouette of the k-means clusters (NaN where k-means found < 2)

    @property
    def best_k(self) -> int | None:
        ok = np.isfinite(self.scores)
        return int(self.ks[ok][np.argmax(self.scores[ok])]) if ok.any() else None

    def to_dict(self) -> dict:
        return {"ks": self.ks.tolist(), "scores": [None if not np.isfinite(s) else float(s) for s in self.scores],
                "best_k": self.best_k}


def silhouette_scan(features, ks=SCAN_KS, seed: int = 0, device="cpu",
                    progress: ProgressSink | None = None) -> SilhouetteScan:
    """k-means with each ``k`` of ``ks`` (2 <= k <= N - 1) and the silhouette of its clusters."""
    from hpe_core.analysis.clustering import kmeans
    from hpe_core.analysis.silhouette import silhouette_score

    progress = progress or NullProgress()
    x = _features(features)
    ks = np.asarray(sorted({int(k) for k in ks}), np.int64)
    if not len(ks) or ks[0] < 2 or ks[-1] > len(x) - 1:
        raise InputError(f"silhouette scan: k must lie in 2..{len(x) - 1} (N - 1), got {ks.tolist()}")
    scores = np.full(len(ks), np.nan)
    for i, k in enumerate(ks):
        check_cancelled(progress)
        progress.set_status(f"silhouette scan: k = {k}")
        labels = kmeans(x, int(k), seed=seed, device=device,
                        progress=stage(progress, i / len(ks), (i + 0.5) / len(ks))).labels
        if 2 <= len(np.unique(labels)) <= len(x) - 1:
            scores[i] = silhouette_score(x, labels, device=device)
        progress.set_progress((i + 1) / len(ks))
    return SilhouetteScan(ks, scores)


@dataclass
class CollapseStats:
    dims: int
    spread: float            # mean per-dimension std of the L2-normalised features
    spread_ratio: float      # spread * sqrt(dims): ~1 for isotropic features, ~0 when collapsed
    effective_rank: float    # exp(entropy of the normalised singular values), in [1, min(N, D)]
    collapsed: bool

    def to_dict(self) -> dict:
        return {"dims": self.dims, "spread": self.spread, "spread_ratio": self.spread_ratio,
                "effective_rank": self.effective_rank, "collapsed": self.collapsed}

    def describe(self) -> str:
        state = "COLLAPSED" if self.collapsed else "spread"
        return (f"{state}: feature spread {self.spread_ratio:.3f} of isotropic, effective rank "
                f"{self.effective_rank:.1f} of {self.dims}")


def effective_rank(x: np.ndarray) -> float:
    """Roy & Vetterli's effective rank of the centred (N, D) matrix (1.0 for a rank-0/1 matrix)."""
    xc = np.asarray(x, np.float64) - np.asarray(x, np.float64).mean(axis=0)
    s = np.linalg.svd(xc, compute_uv=False)
    total = s.sum()
    if not total > 0:
        return 1.0
    p = s / total
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def spread_ratio(x: np.ndarray) -> float:
    """``sqrt(D)`` x the mean per-dimension std of the L2-normalised rows of (N, D) ``x`` (float64)."""
    x = np.asarray(x, np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    z = x / np.where(norms > 0, norms, 1.0)
    return float(z.std(axis=0).mean()) * float(np.sqrt(x.shape[1]))


def collapse_stats(features) -> CollapseStats:
    """Spread and effective rank of (N, D) features; see the module's docstring."""
    x = _features(features).astype(np.float64)
    ratio = spread_ratio(x)
    spread = ratio / float(np.sqrt(x.shape[1]))
    rank = effective_rank(x)
    return CollapseStats(int(x.shape[1]), spread, ratio, rank, bool(ratio < COLLAPSE_SPREAD or rank < COLLAPSE_RANK))
