"""Projections of (N, D) features to 2 or 3 dimensions: PCA, LDA, UMAP and t-SNE.

- ``pca``: exact, from the eigenvectors of the (D, D) covariance accumulated in blocks (so
  100,000 x 2048 features need no (N, D) float64 copy), up to N x D = :data:`RANDOMISED_FROM`;
  above, a randomised SVD (Halko et al.: a seeded sketch, two power iterations, passes over the
  features in blocks); axis signs fixed so the largest loading of each axis is positive.
- ``lda``: scikit-learn's ``LinearDiscriminantAnalysis`` (SVD solver) with ``labels`` as the
  classes (k-means clusters, or a dataset label such as action, subject or camera); it gives at
  most ``classes - 1`` axes.
- ``umap``: umap-learn, seeded; its numba functions are cached on disk (``numba_cache``), so
  only the first use on a machine pays their compilation.
- ``tsne``: openTSNE (FFT-accelerated gradients in 2D from 10,000 samples, Barnes-Hut below and
  in 3D; several times faster than scikit-learn's; the FFT grid has one interval per
  :data:`FFT_UNITS_PER_INTERVAL` units of the map, 50 at least: openTSNE's default of one per
  unit makes the grid, and the FFTs, grow with the map, to 2-3x the whole run's time at 10,000,
  for a KL divergence within 1%) on exact nearest neighbours up to
  :data:`EXACT_KNN_LIMIT` samples (blocked matrix products: faster than its approximate index
  there, and the same neighbours scikit-learn uses), after a PCA to ``pca_dims`` (50) dimensions
  as is customary.
Every method is seeded and returns float32 coordinates. t-SNE hands its map so far to
``progress.partial`` (an (N, dims) float32 array) every 50 iterations, for a live view. Above
:data:`~hpe_core.analysis.landmarks.LANDMARK_FROM` samples UMAP and t-SNE are fitted on landmarks
and place the rest out of sample (:mod:`hpe_core.analysis.landmarks`); ``info["how"]`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

METHODS = ("pca", "lda", "umap", "tsne")
_BLOCK = 8192
_KNN_BLOCK_FLOATS = 2 ** 24  # distances held at once by nearest_neighbours (64 MB)
EXACT_KNN_LIMIT = 20_000  # t-SNE neighbours: exact (blocked products) up to here, openTSNE's index above
FFT_FROM = 10_000  # 2D t-SNE: FFT-interpolated repulsion from here (openTSNE's own switch), Barnes-Hut below
RANDOMISED_FROM = 20_000_000  # N x D: PCA by a randomised SVD from here (1 M x 512 in seconds), exact below
_OVERSAMPLE, _POWER_ITERATIONS = 10, 2  # Halko et al.'s defaults: error ~ (s_{k+11} / s_k)^5 of the top axes
FFT_UNITS_PER_INTERVAL = 2.0  # openTSNE's ``ints_in_interval``: its default 1 grows the grid with the map


@dataclass(frozen=True)
class Projection:
    coords: np.ndarray          # (N, dims) float32
    method: str
    dims: int
    info: dict = field(default_factory=dict)  # e.g. PCA's explained_variance_ratio


def project(features, method: str = "pca", dims: int = 2, labels=None, seed: int = 0,
            progress: ProgressSink | None = None, **options) -> Projection:
    """Project (N, D) ``features`` to (N, dims) with ``method`` (one of :data:`METHODS`).

    ``labels`` (N,) are needed by LDA only. ``options`` go to the method (``perplexity`` for
    t-SNE, ``n_neighbors`` / ``min_dist`` for UMAP, ``pca_dims`` for t-SNE's first reduction).
    """
    progress = progress or NullProgress()
    method = str(method).lower()
    if method not in METHODS:
        raise InputError(f"method: unknown projection {method!r}; valid: {', '.join(METHODS)}")
    if dims not in (2, 3):
        raise InputError(f"dims: projections are 2D or 3D, got {dims}")
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InputError(f"features: expected a non-empty (N, D) array, got shape {tuple(x.shape)}")
    if x.shape[0] <= dims:
        raise InputError(f"features: {x.shape[0]} samples are too few for a {dims}D {method} projection")
    check_cancelled(progress)
    progress.set_status(f"{method.upper()} to {dims}D of {x.shape[0]} x {x.shape[1]} features")
    run = {"pca": _pca, "lda": _lda, "umap": _umap, "tsne": _tsne}[method]
    coords, info = run(x, dims, labels, seed, progress, **options)
    progress.set_progress(1.0)
    return Projection(np.ascontiguousarray(coords, dtype=np.float32), method, dims, info)


def pca_fit(x: np.ndarray, dims: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal axes of (N, D) ``x``: ``(mean (D,), axes (dims, D), explained_ratio (dims,))``.
    Exact (the covariance's eigenvectors) up to :data:`RANDOMISED_FROM` values, a randomised SVD above."""
    n, d = x.shape
    mean = np.zeros(d, dtype=np.float64)
    for a in range(0, n, _BLOCK):
        mean += x[a:a + _BLOCK].sum(0, dtype=np.float64)
    mean /= n
    if n * d >= RANDOMISED_FROM and dims + _OVERSAMPLE < d:
        axes, variances, total = _randomised_axes(x, mean, dims, seed)
    else:
        cov = np.zeros((d, d), dtype=np.float64)
        for a in range(0, n, _BLOCK):
            block = x[a:a + _BLOCK].astype(np.float64) - mean
            cov += block.T @ block
        cov /= max(n - 1, 1)
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1][:dims]
        axes, variances, total = vecs[:, order].T, vals[order].clip(min=0), vals.clip(min=0).sum()
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    ratio = variances / total if total > 0 else np.zeros(len(variances))
    return mean, axes, ratio


def _randomised_axes(x, mean: np.ndarray, dims: int, seed: int):
    """Halko, Martinsson and Tropp's randomised SVD of the centred ``x``, never formed: a seeded
    Gaussian sketch of ``dims + 10`` columns, :data:`_POWER_ITERATIONS` power iterations (each a
    pass over ``x`` in blocks, float32 products, re-orthonormalised), then the small SVD.
    Returns ``(axes (dims, D), their variances (dims,), the total variance)``."""
    n, d = x.shape
    rng = np.random.default_rng(seed)
    mean32 = mean.astype(np.float32)

    def blocks():
        for a in range(0, n, _BLOCK):
            yield a, np.asarray(x[a:a + _BLOCK], np.float32) - mean32

    total = sum(float(np.einsum("ij,ij->", b, b, dtype=np.float64)) for _, b in blocks()) / max(n - 1, 1)
    basis = rng.standard_normal((d, dims + _OVERSAMPLE)).astype(np.float32)  # (D, l)
    for _ in range(_POWER_ITERATIONS + 1):
        sketch = np.empty((n, basis.shape[1]), np.float32)
        for a, b in blocks():
            sketch[a:a + len(b)] = b @ basis
        q, _ = np.linalg.qr(sketch)  # (N, l) orthonormal range of the centred x
        back = np.zeros((d, basis.shape[1]), np.float64)
        for a, b in blocks():
            back += (b.T @ q[a:a + len(b)]).astype(np.float64)  # x^T q: (D, l)
        basis = np.linalg.qr(back)[0].astype(np.float32)
    _, sv, vt = np.linalg.svd(back.T, full_matrices=False)  # q^T x = (x^T q)^T: (l, D)
    return vt[:dims], sv[:dims] ** 2 / max(n - 1, 1), total


def pca_transform(x: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, dims) float64 in blocks."""
    out = np.empty((x.shape[0], axes.shape[0]), dtype=np.float64)
    for a in range(0, x.shape[0], _BLOCK):
        out[a:a + _BLOCK] = (x[a:a + _BLOCK].astype(np.float64) - mean) @ axes.T
    return out


def _pca(x, dims, labels, seed, progress, **_):
    mean, axes, ratio = pca_fit(x, dims, seed)
    solver = ("randomised SVD (2 power iterations)" if x.shape[0] * x.shape[1] >= RANDOMISED_FROM
              and dims + _OVERSAMPLE < x.shape[1] else "covariance eigenvectors (exact)")
    return pca_transform(x, mean, axes), {"explained_variance_ratio": ratio.tolist(), "solver": solver,
                                          "how": "all samples"}


def _lda(x, dims, labels, seed, progress, **_):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    if labels is None:
        raise InputError("LDA needs class labels (k-means clusters or a label such as action)")
    y = np.asarray(labels).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise InputError(f"labels: {y.shape[0]} labels for {x.shape[0]} samples")
    classes = np.unique(y)
    if len(classes) < 2:
        raise InputError(f"LDA needs at least 2 classes, the labels have {len(classes)}")
    if len(classes) - 1 < dims:
        raise InputError(f"LDA gives at most classes - 1 = {len(classes) - 1} axes; "
                         f"{dims}D needs at least {dims + 1} classes")
    lda = LinearDiscriminantAnalysis(n_components=dims, solver="svd")
    coords = lda.fit_transform(np.asarray(x, dtype=np.float32), y)
    ratio = getattr(lda, "explained_variance_ratio_", np.zeros(dims))[:dims]
    return coords, {"explained_variance_ratio": ratio.tolist(), "classes": len(classes)}


def _umap(x, dims, labels, seed, progress, n_neighbors: int = 15, min_dist: float = 0.1,
          landmarks: int | None = None, **_):
    import warnings

    from hpe_core.analysis.landmarks import project_by_landmarks, use_landmarks
    from hpe_core.analysis.numba_cache import import_umap

    umap = import_umap()  # its numba functions cached on disk: no warm-up in a new process
    count = use_landmarks(x.shape[0], landmarks)
    n_neighbors = max(2, min(int(n_neighbors), (count or x.shape[0]) - 1))

    def fit(data, prog):
        reducer = umap.UMAP(n_components=dims, n_neighbors=n_neighbors, min_dist=float(min_dist),
                            random_state=int(seed))
        with warnings.catch_warnings():  # a fixed random_state disables parallelism: said, not news
            warnings.simplefilter("ignore", UserWarning)
            coords = reducer.fit_transform(np.asarray(data, dtype=np.float32))

        def place(rows):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return reducer.transform(rows)

        check_cancelled(prog)
        return coords, place, {"n_neighbors": n_neighbors, "min_dist": float(min_dist)}

    if count:
        return project_by_landmarks(x, dims, seed, count, fit, "umap-learn's UMAP.transform", progress)
    coords, _, info = fit(x, progress)
    return coords, {**info, "how": "all samples"}


def _threads() -> int:
    import os
    import sys

    torch = sys.modules.get("torch")
    return max(1, torch.get_num_threads() if torch is not None else (os.cpu_count() or 1))


def _tsne_threads(n: int) -> int:
    """Threads for openTSNE: as many as torch may use (the GUI limits it) on large maps (10,000
    samples and more) while the machine has that many cores idle (the 1-minute load average);
    else one: its threads busy-wait for each other, and a core taken by other work stalls them
    all (three times slower than one thread on a loaded 2-core machine)."""
    import os

    threads = _threads()
    if n < 10000 or threads <= 1:
        return 1
    try:
        idle = (os.cpu_count() or 1) - os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): trust the thread setting
        return threads
    return threads if idle >= threads - 0.5 else 1


def _tsne_affinities(data: np.ndarray, perplexity: float, n_jobs: int, seed: int):
    """openTSNE's perplexity affinities on exact nearest neighbours (blocked products, a fraction
    of the time of its approximate index up to :data:`EXACT_KNN_LIMIT` samples); None above it,
    where openTSNE's approximate neighbours are used."""
    from openTSNE import affinity
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    n = data.shape[0]
    if n > EXACT_KNN_LIMIT:
        return None
    indices, distances = nearest_neighbours(data, min(n - 1, int(3 * perplexity)))
    return affinity.PerplexityBasedNN(perplexity=perplexity, knn_index=PrecomputedNeighbors(indices, distances),
                                      n_jobs=n_jobs, random_state=seed, verbose=False)


def nearest_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other samples of each row of (N, D) ``x``, exactly (Euclidean):
    ``(indices (N, k) int64, distances (N, k) float64)``, nearest first. Blocks of rows against all
    rows, so memory stays at about 64 MB of distances whatever N is."""
    import torch

    data = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32))
    data = data - data.mean(0, keepdim=True)
    norms = (data * data).sum(1)
    n = data.shape[0]
    rows = int(max(16, min(4096, _KNN_BLOCK_FLOATS // max(n, 1))))
    indices = np.empty((n, k), np.int64)
    distances = np.empty((n, k), np.float64)
    for a in range(0, n, rows):
        b = min(a + rows, n)
        d2 = torch.addmm(norms[None, :], data[a:b], data.T, alpha=-2.0).add_(norms[a:b, None])
        d2[torch.arange(b - a), torch.arange(a, b)] = float("inf")  # not its own neighbour
        values, idx = torch.topk(d2, k, dim=1, largest=False, sorted=True)
        indices[a:b] = idx.numpy()
        distances[a:b] = values.clamp_min_(0.0).sqrt_().double().numpy()
    return indices, distances


def _tsne(x, dims, labels, seed, progress, perplexity: float = 30.0, pca_dims: int = 50,
          n_iter: int = 500, n_jobs: int | None = None, landmarks: int | None = None, **_):
    from hpe_core.analysis.landmarks import project_by_landmarks, use_landmarks

    data = x
    if pca_dims and data.shape[1] > pca_dims and data.shape[0] > pca_dims:
        mean, axes, _ = pca_fit(data, pca_dims, seed)
        data = pca_transform(data, mean, axes).astype(np.float32)
    count = use_landmarks(x.shape[0], landmarks)
    perplexity = float(min(perplexity, max(1.0, ((count or x.shape[0]) - 1) / 3.0)))
    if n_jobs is None:
        n_jobs = _tsne_threads(count or x.shape[0])
    fit = _tsne_fit(dims, perplexity, int(seed), int(n_iter), int(n_jobs), exact_knn=not count)
    if count:
        coords, info = project_by_landmarks(data, dims, seed, count, fit, "openTSNE's TSNEEmbedding.transform",
                                            progress)
    else:
        coords, _, info = fit(np.asarray(data, np.float32), progress)
        info["how"] = "all samples"
    return coords, {**info, "pca_dims": int(data.shape[1])}


def _tsne_fit(dims: int, perplexity: float, seed: int, n_iter: int, n_jobs: int, exact_knn: bool = True):
    """``fit(data (m, D), progress) -> (coords, place, info)``: openTSNE on ``data``, its map so far
    handed to ``progress.partial`` every 50 iterations; ``place`` is its out-of-sample transform
    (which queries openTSNE's own neighbour index: ``exact_knn=False`` keeps it, as precomputed
    neighbours cannot be queried)."""
    from openTSNE import TSNE

    def fit(data, progress):
        every, calls = 50, [0]
        total = max(1, (250 + n_iter) // every)

        def callback(iteration, error, embedding):
            calls[0] += 1
            progress.set_progress(min(calls[0] / total, 0.99))
            progress.partial(np.array(embedding, dtype=np.float32))  # the map so far, for a live view
            check_cancelled(progress)  # raising here stops openTSNE's optimiser
            return False

        fft = dims == 2 and data.shape[0] >= FFT_FROM
        tsne = TSNE(n_components=dims, perplexity=perplexity, random_state=seed, n_iter=n_iter,
                    negative_gradient_method="fft" if fft else "bh", ints_in_interval=FFT_UNITS_PER_INTERVAL,
                    n_jobs=n_jobs, callbacks=callback, callbacks_every_iters=every, verbose=False)
        affinities = _tsne_affinities(data, perplexity, n_jobs, seed) if exact_knn else None
        embedding = tsne.fit(data, affinities=affinities)
        info = {"perplexity": perplexity, "gradient": "fft" if fft else "barnes-hut",
                "kl_divergence": _finite_or_none(getattr(embedding, "kl_divergence", None))}
        return np.asarray(embedding), lambda rows: np.asarray(embedding.transform(rows)), info

    return fit


def _finite_or_none(value):
    """A float for JSON, or None (no NaN in the run's info)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None
