"""``hpe health``: the health measures (:mod:`.health`) of checkpoints' layers on a dataset, post hoc.

``checkpoint_health(HealthSpec(checkpoints, dataset), progress) -> HealthResult`` embeds a seeded subset
of the dataset with each checkpoint (:func:`~hpe_core.analysis.features.compute_embeddings`, cached
on disk) and computes every measure of each chosen layer on the same samples. kNN and the probe
learn from the subset's training-split samples and are scored on its test-split samples (the demo's
held-out subjects); a dataset without both splits among them uses two halves of its poses.

A layer defaults to the checkpoint's embedding layers: ``encoder``, ``projection`` and ``prediction``
of an encoder family, each modality's embedding of UniHPE, a VAE lifter's ``latent``; ``--layer``
picks others (any name the family offers, e.g. ``layer3``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hpe_core.analysis.health import MEASURES, dataset_rows, health_measures
from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled, stage

#: the layers a checkpoint is judged by when none is named: those of these it offers
EMBEDDING_LAYERS = ("encoder", "projection", "prediction", "image", "pose2d", "pose3d", "latent")


@dataclass(frozen=True)
class HealthSpec:
    checkpoints: tuple[str, ...]
    dataset: str | Path
    layers: tuple[str, ...] | None = None  # None: each checkpoint's EMBEDDING_LAYERS
    max_samples: int | None = 2000
    split: str = "all"
    label: str | None = "auto"  # the kNN label ("auto": action when the dataset has it)
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    batch_size: int = 64
    image_size: int | None = None
    cache_dir: str | Path | None = None
    indices: tuple[int, ...] | None = None  # exact dataset positions (overrides split and max_samples)


@dataclass
class HealthResult:
    rows: list[dict]  # {"checkpoint", "layer", "dims", <measure>: value or None}
    samples: int
    fitted: int  # samples kNN and the probe learn from
    scored: int
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {**self.info, "samples": self.samples, "fitted": self.fitted, "scored": self.scored,
                "measures": list(MEASURES), "rows": self.rows}


def has_embedding_layer(checkpoint) -> bool:
    """Whether ``checkpoint`` offers one of :data:`EMBEDDING_LAYERS` (what the report judges)."""
    from hpe_core.models import inspect_checkpoint

    return any(n in EMBEDDING_LAYERS for n in inspect_checkpoint(checkpoint).feature_dims)


def default_layers(feature_names, wanted=None) -> tuple[str, ...]:
    """``wanted`` checked against ``feature_names``, else the embedding layers among them."""
    names = tuple(feature_names)
    if wanted:
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise InputError(f"--layer {unknown[0]}: this checkpoint has the layers {', '.join(names)}")
        return tuple(wanted)
    chosen = tuple(n for n in EMBEDDING_LAYERS if n in names)
    if not chosen:
        raise InputError(f"this checkpoint offers no embedding layer; name one with --layer ({', '.join(names)})")
    return chosen


def checkpoint_health(spec: HealthSpec, progress: ProgressSink | None = None) -> HealthResult:
    """Every measure of every chosen layer of every checkpoint on the same samples."""
    from hpe_core.analysis.features import EmbedSpec, compute_embeddings
    from hpe_core.devices import resolve_device
    from hpe_core.models import inspect_checkpoint

    progress = progress or NullProgress()
    if not spec.checkpoints:
        raise InputError("give at least one checkpoint")
    out, n, rows = [], len(spec.checkpoints), None
    for k, path in enumerate(spec.checkpoints):
        check_cancelled(progress)
        layers = default_layers(inspect_checkpoint(path).feature_dims, spec.layers)
        progress.set_status(f"embedding with {Path(path).name}")
        emb = compute_embeddings(EmbedSpec(path, spec.dataset, layers, spec.split, spec.max_samples, spec.seed,
                                           indices=spec.indices, device=spec.device, precision=spec.precision, batch_size=spec.batch_size,
                                           image_size=spec.image_size, cache_dir=spec.cache_dir),
                                 stage(progress, k / n, (k + 0.8) / n))
        if rows is None or rows[0] is not emb.indices and not np.array_equal(rows[0], emb.indices):
            rows = (emb.indices, dataset_rows(emb.dataset, emb.indices, spec.label, spec.seed))
        for layer in layers:
            progress.set_status(f"measuring {layer} of {Path(path).name}")
            x = np.asarray(emb.features[layer], np.float32)
            out.append({"checkpoint": str(path), "layer": layer, "dims": int(x.shape[1]),
                        **health_measures(x, rows[1], resolve_device(spec.device))})
        progress.set_progress((k + 1) / n)
    fit = np.asarray(rows[1].fit, float)
    info = {"dataset": str(spec.dataset), "split": spec.split, "label": spec.label}
    return HealthResult(out, len(rows[0]), int((fit == 1).sum()), int((fit == 0).sum()), info)


def format_table(result: dict) -> str:
    """The text table of a :meth:`HealthResult.to_dict` (one row per checkpoint and layer)."""
    keys = [m for m in result["measures"] if m != "knn_chance"]
    names = [f"{Path(r['checkpoint']).name}:{r['layer']}" for r in result["rows"]]
    width = max([len(n) for n in names] + [10]) + 2
    lines = ["".ljust(width) + "".join(MEASURES[k].rjust(15) for k in keys)]
    for name, row in zip(names, result["rows"]):
        lines.append(name.ljust(width) + "".join(_cell(row.get(k)).rjust(15) for k in keys))
    chance = next((r["knn_chance"] for r in result["rows"] if r.get("knn_chance") is not None), None)
    lines.append(f"{result['samples']} samples; kNN and the probe fit on {result['fitted']}, scored on "
                 f"{result['scored']}" + (f"; kNN chance {chance:.3f}" if chance is not None else ""))
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
