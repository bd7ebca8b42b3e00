"""The work behind the analysis views: plain functions of ``progress`` that call ``hpe_core.analysis``.

Each ``*_job(...)`` returns ``fn(progress)`` for :class:`app.workers.task.Task`. Nothing here
touches Qt and nothing is computed here that ``hpe_core`` computes: the numbers the views show
are the numbers ``hpe embed``, ``hpe kernels`` and ``hpe compare`` print for the same settings
(each request can say its command line). Partial results go out as ``(kind, ...)`` tuples.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from app.model.requests import CompareRequest, EmbedRequest, quote_path as _quote
from hpe_core.errors import InputError

Job = Callable[[Any], Any]
LAYER_ORDER = ("conv1", "layer1", "layer2", "layer3", "layer4", "encoder", "projection", "prediction",
               "latent")  # latent: a VAE lifter's posterior mean (seed 003)
LABELS = ("action", "subject", "camera", "pose_id", "sequence")


def offered_layers(checkpoint) -> tuple[str, ...]:
    """Layers of a checkpoint that can be embedded, in network order (``pose`` excluded)."""
    from hpe_core.models import inspect_checkpoint

    dims = inspect_checkpoint(checkpoint).feature_dims
    return tuple(n for n in LAYER_ORDER if n in dims)


def check_layer(checkpoint, layer: str) -> tuple[str, ...]:
    layers = offered_layers(checkpoint)
    if layer not in layers:
        raise InputError(f"{Path(checkpoint).name} has no layer {layer!r}; it has {', '.join(layers)}")
    return layers


def provenance(**items) -> dict:
    """What made a figure: paths, hashes, settings, the version and the time."""
    from hpe_core import __version__

    return {**items, "hpe_studio": __version__, "created": time.strftime("%Y-%m-%d %H:%M:%S")}


# ------------------------------------------------------------------------ embeddings
@dataclass
class EmbedBundle:
    request: EmbedRequest
    result: Any                                  # hpe_core.analysis.EmbedResult
    layer_silhouette: dict[str, float | None]    # k-means silhouette of each layer
    provenance: dict = field(default_factory=dict)


def embed_job(request: EmbedRequest) -> Job:
    """Embed, cluster, project and score; partials: ``("preview", coords, indices)`` (a PCA while
    UMAP / t-SNE run), ``("result", EmbedResult)``, ``("layer", name, silhouette)``."""

    def run(progress):
        from hpe_core.analysis import compute_embeddings, embed, project
        from hpe_core.progress import check_cancelled, stage

        from app.workers.jobs import leave_a_core_for_the_ui

        leave_a_core_for_the_ui()
        progress.set_status(f"Checking {Path(request.checkpoint).name}")
        layers = check_layer(request.checkpoint, request.layer)
        wanted = layers if request.per_layer else (request.layer,)
        emb = compute_embeddings(request.embed_spec(wanted), stage(progress, 0.0, 0.5))  # one pass, cached
        if request.color_by:
            emb.labels(request.color_by)  # a missing label fails here, before the long part
        if request.method in ("umap", "tsne") and len(emb.indices) > request.dims:
            preview = project(emb.features[request.layer], "pca", request.dims, seed=request.seed)
            progress.partial(("preview", preview.coords, np.asarray(emb.indices)))
        result = embed(request.run_spec(request.layer), _CoordsForwarder(stage(progress, 0.5, 0.85), emb.indices))
        progress.partial(("result", result))
        scores = {request.layer: result.silhouette.get("clusters")}
        others = [n for n in wanted if n != request.layer] if request.clusters >= 2 else []
        for i, name in enumerate(others):
            check_cancelled(progress)
            progress.set_status(f"silhouette of {name}")
            scores[name] = cluster_silhouette(emb.features[name], request,
                                              stage(progress, 0.85 + 0.15 * i / len(others),
                                                    0.85 + 0.15 * (i + 1) / len(others)))
            progress.partial(("layer", name, scores[name]))
        prov = provenance(checkpoint=str(request.checkpoint), checkpoint_sha256=emb.checkpoint_sha256,
                          dataset=str(request.dataset), dataset_info=_safe_info(emb.dataset),
                          samples=int(len(result.indices)), settings=asdict(request), command=request.command())
        return EmbedBundle(request, result, {n: scores.get(n) for n in wanted if n in scores}, prov)

    return run


def cluster_silhouette(features, request: EmbedRequest, progress) -> float | None:
    """The k-means silhouette of (N, d) ``features`` exactly as ``hpe_core.analysis.embed`` takes
    it (same k-means, seed, device and silhouette), so ``hpe embed --layer L`` prints it too."""
    from hpe_core.analysis import kmeans, silhouette
    from hpe_core.analysis.silhouette_estimate import EXACT_LIMIT, silhouette_estimate
    from hpe_core.devices import resolve_device
    from hpe_core.progress import stage

    device = str(resolve_device(request.device))
    labels = kmeans(features, request.clusters, seed=request.seed, device=device,
                    progress=stage(progress, 0.0, 0.5)).labels
    if len(np.unique(labels)) < 2:
        return None
    if features.shape[0] > EXACT_LIMIT:  # as embed() does: the sampled estimate above the limit
        return silhouette_estimate(features, labels, seed=request.seed, device=device,
                                   progress=stage(progress, 0.5, 1.0)).value
    return silhouette(features, labels, device=device, progress=stage(progress, 0.5, 1.0))[0]


def exact_silhouette_job(request: EmbedRequest, clusters: np.ndarray) -> Job:
    """The exact silhouette of ``clusters`` over the request's (cached) features, in the background."""

    def run(progress):
        from hpe_core.analysis import compute_embeddings, silhouette
        from hpe_core.devices import resolve_device
        from hpe_core.progress import stage

        emb = compute_embeddings(request.embed_spec((request.layer,)), stage(progress, 0.0, 0.1))
        progress.set_status(f"exact silhouette of {len(clusters):,} samples")
        return silhouette(emb.features[request.layer], clusters, device=str(resolve_device(request.device)),
                          progress=stage(progress, 0.1, 1.0))[0]

    return run


class _CoordsForwarder:
    """Passes a projection's intermediate (M, dims) coordinates on as ``("preview", coords, indices)``."""

    def __init__(self, progress, indices) -> None:
        self._p, self._indices = progress, np.asarray(indices)

    def set_progress(self, fraction: float) -> None:
        self._p.set_progress(fraction)

    def set_status(self, text: str) -> None:
        self._p.set_status(text)

    def partial(self, result) -> None:
        coords = np.asarray(result) if isinstance(result, np.ndarray) else None
        if coords is not None and coords.ndim == 2 and len(coords) == len(self._indices):
            self._p.partial(("preview", coords.astype(np.float32), self._indices))

    def cancelled(self) -> bool:
        return self._p.cancelled()


def _safe_info(dataset) -> dict:
    try:
        return dict(dataset.info())
    except Exception:  # a summary is nice to have, never worth failing a figure for
        return {"path": str(getattr(dataset, "path", ""))}


# ------------------------------------------------------------------------ kernels and feature maps
@dataclass
class KernelBundle:
    report: Any               # hpe_core.analysis.KernelReport
    rgb_tiles: np.ndarray | None  # (O, kh, kw, 3) uint8, each filter normalised as ``hpe kernels --out``
    signed: np.ndarray        # (O, C, kh, kw) float32 in -1..1 (each filter over its largest |w|)
    frequency: np.ndarray     # (O, 32, 32) |FFT| of each channel-summed filter, zero frequency centred
    provenance: dict = field(default_factory=dict)


def kernels_job(model, checkpoint: str | Path | None = None, sha256: str | None = None) -> Job:
    """conv1 report, tiles and frequency responses of an ``HPEModel``."""

    def run(progress):
        from hpe_core.analysis import conv1_kernels, frequency_response, kernel_grid

        progress.set_status("Analysing conv1")
        report = conv1_kernels(model)
        w = report.weights
        tiles = None
        if w.shape[1] == 3:
            tiles = np.stack([kernel_grid(w[i:i + 1], "rgb", columns=1, scale=1, pad=0) for i in range(len(w))])
        peak = np.abs(w).reshape(len(w), -1).max(axis=1)
        signed = w / np.where(peak > 0, peak, 1.0)[:, None, None, None]
        freq = frequency_response(w.sum(axis=1))
        prov = provenance(checkpoint=str(checkpoint or ""), checkpoint_sha256=sha256 or "",
                          command=f"hpe kernels {_quote(checkpoint)}" if checkpoint else "")
        return KernelBundle(report, tiles, signed.astype(np.float32), freq, prov)

    return run


@dataclass
class ImageMaps:
    responses: np.ndarray     # (O, H, W) raw conv1 filter responses of the image
    maps: np.ndarray          # (C, h, w) feature maps of ``layer``
    grid: np.ndarray          # (H', W', 3) uint8 grid of ``maps``
    layer: str
    image_size: int


def image_maps_job(model, image: np.ndarray, layer: str = "layer1", image_size: int | None = None,
                   info=None) -> Job:
    """conv1 filter responses and a layer's feature maps for one (H, W, 3) uint8 image, at
    ``image_size`` (default: what the checkpoint ``info`` was trained at, as ``hpe kernels``)."""

    def run(progress):
        from hpe_core.analysis import feature_map_grid, feature_maps, filter_responses
        from hpe_core.inference import checkpoint_image_size

        nonlocal image_size
        image_size = int(image_size or checkpoint_image_size(info))
        progress.set_status(f"Feature maps of {layer}")
        responses = filter_responses(image, model, image_size=image_size)
        maps = feature_maps(model, image, layer, image_size=image_size)
        return ImageMaps(responses, maps, feature_map_grid(maps), layer, int(image_size))

    return run


# ------------------------------------------------------------------------ comparison
@dataclass
class CompareBundle:
    request: CompareRequest
    compare: Any                       # hpe_core.analysis.CompareResult
    embeds: dict[str, Any]             # {"a": EmbedResult, "b": EmbedResult}
    kernels: dict[str, KernelBundle]   # {"a": ..., "b": ...}
    provenance: dict = field(default_factory=dict)


def compare_job(request: CompareRequest) -> Job:
    """``hpe compare`` + both models' embeddings (same method, samples) + both conv1 reports.
    Partials: ``("compare", CompareResult)``, ``("embed", key, EmbedResult)``."""

    def run(progress):
        from hpe_core.analysis import CompareSpec, compare_checkpoints, embed
        from hpe_core.models import load_checkpoint
        from hpe_core.progress import stage

        from app.workers.jobs import leave_a_core_for_the_ui

        leave_a_core_for_the_ui()
        paths = {"a": request.checkpoint_a, "b": request.checkpoint_b}
        for path in paths.values():
            check_layer(path, request.layer)
        spec = CompareSpec(request.checkpoint_a, request.checkpoint_b, request.dataset, request.split,
                           request.max_samples, request.seed, None, request.clusters, request.device,
                           request.precision, skip_list=request.skip_list)
        result = compare_checkpoints(spec, stage(progress, 0.0, 0.7))
        progress.partial(("compare", result))
        embeds, kernels, hashes = {}, {}, {}
        for i, (key, path) in enumerate(paths.items()):
            sub = request.embed_request(path)
            embeds[key] = embed(sub.run_spec(request.layer), stage(progress, 0.7 + 0.13 * i, 0.83 + 0.13 * i))
            progress.partial(("embed", key, embeds[key]))
            model, info = load_checkpoint(path, device="cpu")
            hashes[key] = info.sha256
            kernels[key] = kernels_job(model, path, info.sha256)(progress)
        prov = provenance(checkpoint_a=str(request.checkpoint_a), checkpoint_a_sha256=hashes["a"],
                          checkpoint_b=str(request.checkpoint_b), checkpoint_b_sha256=hashes["b"],
                          dataset=str(request.dataset), samples=int(result.samples), settings=asdict(request),
                          command=request.command(),
                          embed_commands=[request.embed_request(p).command() for p in paths.values()])
        return CompareBundle(request, result, embeds, kernels, prov)

    return run


def predict_samples_job(predictors: dict, dataset, index: int) -> Job:
    """Root-relative (J, 3) mm predictions of sample ``index`` by each predictor (the open
    checkpoints' :class:`hpe_core.inference.Predictor`, on the workspace's device and precision),
    in the dataset's joint order: ``{key: joints}``."""

    def run(progress):
        from hpe_core.inference import collect, predict
        from hpe_core.skeleton import convert_joints

        out = {}
        for key, predictor in predictors.items():
            stored = getattr(predictor, "stored_rows", None)  # a predictions file in a model's place
            pred = (stored(dataset, np.array([index]), progress) if stored is not None else
                    collect(predict(predictor, dataset, np.array([index]), progress=progress), predictor))
            if not len(pred):
                raise InputError(f"sample #{index}: its image could not be read")
            joints = np.asarray(pred.joints_3d)[0]
            if predictor.skeleton and predictor.skeleton != dataset.skeleton.name:
                joints = convert_joints(joints, predictor.skeleton, dataset.skeleton)
            out[key] = np.asarray(joints, np.float64)
        return out

    return run
