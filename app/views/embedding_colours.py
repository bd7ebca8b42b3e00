"""What colours the embedding's points and what the hover card says, from the workspace's data.

Colour modes: k-means ``cluster`` (from the result), a dataset label (``action``, ``subject``,
``camera``: ``dataset.labels``), or the prediction ``error`` of the active checkpoint (the
workspace's prediction store's ranking: the checkpoint's one error measure, PA-MPJPE or MPJPE,
binned on a sequential scale; not yet predicted: grey).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from app.model import messages as msg
from app.visuals.palettes import binned, categorical

if TYPE_CHECKING:
    from app.workspace import Workspace

COLOUR_MODES = ("cluster", "action", "subject", "camera", "error")
Legend = list[tuple[str, tuple]]


def colour_codes(mode: str, workspace: Workspace, indices: np.ndarray, result) -> tuple[np.ndarray, np.ndarray, Legend, str]:
    """``(codes (N,), palette (K, 4), legend, problem)``; ``problem`` is "" or a message to show
    (and then the colours fall back to the clusters)."""
    n = len(indices)
    if mode in ("action", "subject", "camera"):
        ds = workspace.catalog.dataset
        try:
            values, names = ds.labels(mode)
        except (ValueError, AttributeError) as exc:
            codes, palette, legend, _ = _clusters(result, n)
            return codes, palette, legend, msg.NO_LABEL.format(label=mode, why=exc)
        values = np.asarray(values)
        codes = values[indices] if n and int(indices.max()) < len(values) else np.full(n, -1)
        palette = categorical(max(len(names), int(codes.max(initial=-1)) + 1))
        legend = [(names[i] if i < len(names) else str(i), tuple(int(c) for c in palette[i]))
                  for i in np.unique(codes[codes >= 0])]
        return codes.astype(np.int64), palette, legend, ""
    if mode == "error":
        store = workspace.predictions()
        if store is None:
            codes, palette, legend, _ = _clusters(result, n)
            return codes, palette, legend, msg.NO_ERRORS
        err = np.asarray(store.ranking, np.float64)  # the checkpoint's one error measure
        values = err[indices] if n and int(indices.max()) < len(err) else np.full(n, np.nan)
        codes, palette, edges = binned(values)
        legend = [(f"{store.metric} {edges[i]:.0f}–{edges[i + 1]:.0f} mm", tuple(int(c) for c in palette[i]))
                  for i in range(len(palette))]  # every bin: a legend never drops an entry
        legend.append(("not predicted", (150, 150, 150, 140)))
        return codes, palette, legend, ""
    return _clusters(result, n)


def _clusters(result, n: int) -> tuple[np.ndarray, np.ndarray, Legend, str]:
    if result is None or result.clusters is None or len(result.clusters) != n:
        return np.full(n, -1, np.int64), categorical(1), [], ""
    k = int(result.clusters.max()) + 1
    palette = categorical(k)
    return (np.asarray(result.clusters, np.int64), palette,
            [(f"cluster {i}", tuple(int(c) for c in palette[i])) for i in range(k)], "")


def describe_sample(index: int, indices: np.ndarray, result, workspace: Workspace,
                    checkpoint_key: str | None = None) -> list[str]:
    """Lines for the hover card: cluster, labels, silhouette value, prediction error (of the active
    checkpoint; of ``checkpoint_key``'s, named, when given: none when it has not predicted it)."""
    lines = []
    rows = np.flatnonzero(indices == index)
    row = int(rows[0]) if len(rows) else -1
    if result is not None and row >= 0:
        if result.clusters is not None:
            lines.append(f"cluster {int(result.clusters[row])}")
        if result.silhouette_samples is not None:
            lines.append(f"silhouette {float(result.silhouette_samples[row]):+.3f}")
    store = workspace.predictions() if checkpoint_key is None else \
        workspace.cache.get(workspace.catalog.current_key, checkpoint_key)
    if store is not None and 0 <= index < len(store.ranking) and np.isfinite(store.ranking[index]):
        named = "" if checkpoint_key is None else f" ({Path(checkpoint_key).name})"
        lines.append(f"{store.metric} {float(store.ranking[index]):.1f} mm{named}")
    return lines
