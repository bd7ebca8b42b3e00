"""Analysis: embeddings, clustering, silhouette, projections, conv filters, comparing checkpoints.

Everything the GUI shows about a representation is computed here, headless, and reachable from
``hpe embed | kernels | compare``. Importing this package is cheap: each name below is loaded
from its module on first use (torch, scikit-learn, umap and openTSNE load only then).

Long functions take a progress sink (:mod:`hpe_core.progress`) and raise ``Cancelled``.

- ``compute_embeddings(spec: EmbedSpec, progress) -> Embeddings``: features of named layers
  of a checkpoint over a dataset, streamed to a float16 memory-mapped disk cache keyed by
  checkpoint hash + dataset + layer + samples (:mod:`.features`).
- ``embed(spec: EmbedRunSpec, progress) -> EmbedResult``: features (computed or given) ->
  k-means -> projection -> silhouette, what ``hpe embed`` and the GUI's embedding view run.
- ``kmeans(features, k, seed=0, ...) -> KMeansResult`` (labels, centers, inertia).
- ``project(features, method="pca"|"lda"|"umap"|"tsne", dims=2|3, labels=None, seed=0,
  progress=None) -> Projection`` (coords (N, dims) float32, info).
- ``silhouette(features, labels, device="cpu") -> (score, per_sample (N,))``: sklearn's
  definition, blocked in torch.
- ``conv1_kernels(model_or_weights) -> KernelReport``; ``kernel_grid(weights, mode)`` image;
  ``frequency_response(weights)``; ``classify_kernel(k)``.
- ``feature_maps(model, image, layer="conv1") -> (C, h, w)``; ``filter_responses(image, weights)``;
  ``feature_map_grid(maps)`` image.
- ``linear_cka(x, y)``, ``cka_matrix(feats_a, feats_b)``, ``cross_view_retrieval(features,
  pose_id, camera_id)``; ``compare_checkpoints(spec: CompareSpec, progress) -> CompareResult``.
- Inference lives in :mod:`hpe_core.inference` (``Predictor``).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "silhouette": "silhouette", "silhouette_samples": "silhouette", "silhouette_score": "silhouette",
    "kmeans": "clustering", "KMeansResult": "clustering",
    "project": "projections", "Projection": "projections", "METHODS": "projections",
    "conv1_kernels": "kernels", "KernelReport": "kernels", "kernel_grid": "kernels",
    "frequency_response": "kernels", "classify_kernel": "kernels", "classify_filter": "kernels",
    "feature_maps": "feature_maps", "filter_responses": "feature_maps", "feature_map_grid": "feature_maps",
    "linear_cka": "similarity", "cka_matrix": "similarity", "cross_view_retrieval": "similarity",
    "EmbedSpec": "features", "Embeddings": "features", "compute_embeddings": "features",
    "EmbedRunSpec": "embed", "EmbedResult": "embed", "embed": "embed",
    "CompareSpec": "compare", "CompareResult": "compare", "compare_checkpoints": "compare",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hpe_core.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
