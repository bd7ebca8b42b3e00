"""Analysis: embeddings, clustering, silhouette, projections, conv filters, comparing checkpoints.

Everything the GUI shows about a representation is computed here, headless, and reachable from
``hpe embed | kernels | compare``. Importing this package is cheap: torch, scikit-learn, umap and
openTSNE load only when a function needs them.

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
- ``label_silhouettes``, ``dataset_label_silhouettes`` (action / camera / subject / pose),
  ``silhouette_scan(features, ks=2..20) -> SilhouetteScan``, ``collapse_stats(features) ->
  CollapseStats`` (feature spread, effective rank): :mod:`.structure`.
- SSL health: :mod:`.health` (RankMe, spread, alignment / uniformity, kNN, cross-view retrieval,
  a ridge probe to 3D: ``health_measures(features, rows)``), :mod:`.health_live` (a training
  validation's), :mod:`.health_alarms` (the rules, the config's ``health`` section) and
  :mod:`.health_checkpoints` (``hpe health``).
- Inference lives in :mod:`hpe_core.inference` (``Predictor``).
"""

from __future__ import annotations

# Every module here imports only numpy at its top (torch, sklearn, umap, openTSNE load inside the
# functions), so these imports are cheap. They also make ``hpe_core.analysis.silhouette`` and
# friends the functions, not the modules of the same name.
from hpe_core.analysis.clustering import KMeansResult, kmeans
from hpe_core.analysis.compare import CompareResult, CompareSpec, compare_checkpoints
from hpe_core.analysis.embed import EmbedResult, EmbedRunSpec, embed
from hpe_core.analysis.feature_maps import feature_map_grid, feature_maps, filter_responses
from hpe_core.analysis.features import EmbedSpec, Embeddings, compute_embeddings
from hpe_core.analysis.kernels import (KernelReport, classify_filter, classify_kernel, conv1_kernels,
                                       frequency_response, kernel_grid)
from hpe_core.analysis.projections import METHODS, Projection, project
from hpe_core.analysis.silhouette import silhouette, silhouette_samples, silhouette_score
from hpe_core.analysis.similarity import cka_matrix, cross_view_retrieval, linear_cka
from hpe_core.analysis.structure import (CollapseStats, SilhouetteScan, collapse_stats, dataset_label_silhouettes,
                                         label_silhouettes, silhouette_scan)

__all__ = ["CollapseStats", "SilhouetteScan", "collapse_stats", "dataset_label_silhouettes",
           "label_silhouettes", "silhouette_scan", "CompareResult", "CompareSpec", "EmbedResult", "EmbedRunSpec", "EmbedSpec", "Embeddings",
           "KMeansResult", "KernelReport", "METHODS", "Projection", "cka_matrix", "classify_filter",
           "classify_kernel", "compare_checkpoints", "compute_embeddings", "conv1_kernels",
           "cross_view_retrieval", "embed", "feature_map_grid", "feature_maps", "filter_responses",
           "frequency_response", "kernel_grid", "kmeans", "linear_cka", "project", "silhouette",
           "silhouette_samples", "silhouette_score"]
