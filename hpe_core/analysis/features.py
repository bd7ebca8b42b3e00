"""Features of named layers of a checkpoint over a dataset, cached on disk.

``compute_embeddings(EmbedSpec(checkpoint, dataset, layers=("encoder",)), progress)`` runs the
model in batches on the chosen device and streams each layer's (M, d) features to a float16 file
in the cache, so memory stays flat whatever M is (the result is a read-only memory map). The
cache key is the checkpoint's sha256 + the dataset (path and a stamp of its contents) + the
layer + the samples + image size and precision; a second run with the same key reads the file.
Images that cannot be read are skipped and counted; ``Embeddings.indices`` says which samples
the rows are. Names: ``conv1``, ``layer1``..``layer4`` (global-average pooled), ``encoder``,
``projection``, ``prediction`` (SimSiam), ``pose``; a lifter (``vae_lifter``) reads the samples
2D joints instead of images and offers ``latent`` (its posterior mean) and ``pose``. An unknown
name lists the valid ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from hpe_core.errors import DatasetError, InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

from hpe_core.analysis.feature_cache import FeatureCache, extract_to_cache  # noqa: F401 (its public home was here)


def default_cache_dir() -> Path:
    """``embeddings/`` in the one cache root (:func:`hpe_core.cache_dirs.cache_root`)."""
    from hpe_core.cache_dirs import cache_root

    return cache_root() / "embeddings"


@dataclass(frozen=True)
class EmbedSpec:
    checkpoint: str | Path
    dataset: str | Path
    layers: tuple[str, ...] = ("encoder",)
    split: str = "all"
    max_samples: int | None = None  # a seeded random subset of the split, in dataset order
    seed: int = 0
    indices: tuple[int, ...] | None = None  # explicit dataset positions (overrides split)
    device: str = "auto"
    precision: str = "fp32"
    batch_size: int = 64
    image_size: int | None = None  # default: what the checkpoint was trained at, else 128
    cache_dir: str | Path | None = None  # default: default_cache_dir()
    use_cache: bool = True
    skip_list: str | Path | None = None
    dtype: str = "float16"  # of the cached rows: float16 (half the disk and memory) or float32


@dataclass
class Embeddings:
    """Features per layer (M, d) float16 memory maps; ``indices`` (M,) are dataset positions."""

    features: dict[str, np.ndarray]
    indices: np.ndarray
    dataset: Any
    skipped: list[str] = field(default_factory=list)
    cache_paths: dict[str, Path] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    checkpoint_sha256: str = ""

    def labels(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Label ``name`` (action, subject, camera, pose_id, sequence) of the embedded samples."""
        values, names = self.dataset.labels(name)
        return np.asarray(values)[self.indices], names


def select_indices(dataset, split: str = "all", max_samples: int | None = None, seed: int = 0,
                   indices: Iterable[int] | None = None) -> np.ndarray:
    """Sorted dataset positions: ``indices``, else the split, subsampled to ``max_samples``."""
    if indices is not None:
        idx = np.unique(np.asarray(list(indices), dtype=np.int64))
        if len(idx) and (idx[0] < 0 or idx[-1] >= len(dataset)):
            raise InputError(f"indices: must lie in 0..{len(dataset) - 1}")
    else:
        idx = dataset.split_indices(split)
    if max_samples is not None and len(idx) > int(max_samples):
        if int(max_samples) < 1:
            raise InputError(f"--max-samples: must be at least 1, got {max_samples}")
        idx = np.sort(np.random.default_rng(seed).choice(idx, int(max_samples), replace=False))
    if len(idx) == 0:
        raise InputError(f"the {split} split of {dataset.path} has no samples")
    return idx


def compute_embeddings(spec: EmbedSpec, progress: ProgressSink | None = None) -> Embeddings:
    """Features of ``spec.layers`` for the chosen samples; see the module docstring."""
    from hpe_core.datasets import open_dataset
    from hpe_core.inference import checkpoint_image_size
    from hpe_core.models import load_checkpoint

    progress = progress or NullProgress()
    progress.set_status(f"loading {Path(spec.checkpoint).name}")
    model, info = load_checkpoint(spec.checkpoint, device="cpu")
    layers = check_layers(model, spec.layers)
    dataset = open_dataset(spec.dataset, skip_list=spec.skip_list)
    idx = select_indices(dataset, spec.split, spec.max_samples, spec.seed, spec.indices)
    size = int(spec.image_size or checkpoint_image_size(info))
    cache = FeatureCache(Path(spec.cache_dir) if spec.cache_dir else default_cache_dir())
    keys = {layer: cache.key(info.sha256, dataset, layer, idx, size, spec.precision, spec.dtype) for layer in layers}
    found = {layer: cache.read(keys[layer]) for layer in layers} if spec.use_cache else {}
    missing = [layer for layer in layers if found.get(layer) is None]
    if missing:
        _extract(model, dataset, idx, size, spec, cache, {k: keys[k] for k in missing}, progress)
        for layer in missing:
            found[layer] = cache.read(keys[layer])
    first = found[layers[0]]
    out = Embeddings({layer: found[layer][0] for layer in layers}, first[1], dataset,
                     skipped=first[2], cache_paths={layer: cache.data_path(keys[layer], spec.dtype) for layer in layers},
                     cached={layer: layer not in missing for layer in layers}, checkpoint_sha256=info.sha256)
    progress.set_progress(1.0)
    return out


def _extract(model, dataset, idx: np.ndarray, size: int, spec: EmbedSpec, cache: FeatureCache, keys: dict,
             progress: ProgressSink) -> None:
    """The missing layers' entries, from this rank's shard (under torchrun) and its resume point;
    one writer per entry at a time (a second finds it made)."""
    from contextlib import ExitStack

    from hpe_core.analysis.feature_cache import resume_point, shard
    from hpe_core.models.families import family_of

    rank, world = shard(spec.device)  # under torchrun: this rank's contiguous share of the samples
    with ExitStack() as held:
        for key in sorted(keys.values()):
            held.enter_context(cache.writing(key, rank, world))
        if world == 1 and all(cache.read(k) is not None for k in keys.values()) and spec.use_cache:
            return  # made by the writer this one waited for
        mine = np.array_split(idx, world)[rank]
        start = resume_point(cache, list(keys.values()), rank, world)  # where a cancelled run stopped
        rest = mine[start:]
        stream = (image_batches(dataset, rest, size, spec.batch_size) if "image" in family_of(model).inputs
                  else pose_batches(dataset, rest, spec.batch_size))  # a lifter reads 2D joints
        extract_to_cache(model, stream, list(keys), cache, keys, spec.device, spec.precision, len(mine), progress,
                         spec.dtype, rank, world, start)


def check_layers(model, layers: Iterable[str]) -> tuple[str, ...]:
    """The requested layer names, or InputError listing the model's valid ones."""
    layers = tuple(dict.fromkeys(str(n) for n in layers))
    if not layers:
        raise InputError("--layer: name at least one layer")
    unknown = [n for n in layers if n not in model.feature_names]
    if unknown:
        raise InputError(f"--layer {unknown[0]}: this {model.family} model has the layers "
                         f"{', '.join(model.feature_names)}")
    return layers


def pose_batches(dataset, idx: np.ndarray, batch_size: int) -> Iterator[tuple]:
    """Yield ``(positions (B,), 2D joints (B, J, 2) px with NaN where not visible, [])``, the
    counterpart of :func:`image_batches` for a model that reads 2D joints."""
    import torch

    for start in range(0, len(idx), batch_size):
        pos = np.asarray(idx[start:start + batch_size], dtype=np.int64)
        j2 = np.asarray(dataset.joints_2d[pos], dtype=np.float32).copy()
        j2[~np.asarray(dataset.visible[pos], bool)] = np.nan
        yield pos, torch.from_numpy(j2), []


def image_batches(dataset, idx: np.ndarray, size: int, batch_size: int) -> Iterator[tuple]:
    """Yield ``(positions (B,), images (B, 3, S, S) or None, skipped names)`` read in a thread."""
    import torch

    from hpe_core.datasets.transforms import to_tensor
    from hpe_core.inference.run import prefetch

    def read():
        for i in idx:
            try:
                yield int(i), to_tensor(dataset.load_image(int(i)), size), None
            except (DatasetError, InputError, OSError) as exc:
                yield int(i), None, f"{dataset.sample_name(int(i))}: {exc}"

    stream = prefetch(read(), 4 * batch_size)
    try:
        batch, bad = [], []
        for i, tensor, reason in stream:
            if tensor is None:
                bad.append(reason)
                continue
            batch.append((i, tensor))
            if len(batch) == batch_size:
                yield np.array([b[0] for b in batch]), torch.stack([b[1] for b in batch]), bad
                batch, bad = [], []
        if batch or bad:
            yield (np.array([b[0] for b in batch], np.int64),
                   torch.stack([b[1] for b in batch]) if batch else None, bad)
    finally:
        stream.close()
