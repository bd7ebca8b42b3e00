"""The live health measures of a training run's validation (:mod:`.health`, :mod:`.health_alarms`).

A task's ``evaluate`` hands each validation batch's features to a :class:`HealthCollector`, which
keeps the first ``limit`` distinct samples (the validation loader's order is fixed, so these are the
same samples every epoch) and then measures them: ``health.<layer>.<measure>`` for every layer and
measure, and ``health.<layer>.rank_max`` (``min(samples, d)``, the most RankMe can be). The features
are the validation's own, so the measures are all the live health costs (``bench/health_bench.py``
times them against an epoch); the figures are a deterministic function of the weights (a resumed
run logs the same history). kNN and the probe learn from half of the subset's poses and
are scored on the other half (:func:`~hpe_core.analysis.health.pose_halves`). Under torchrun each
process measures its own share of the validation samples; the main process's figures are logged.
"""

from __future__ import annotations

import numpy as np

from hpe_core.analysis.health import dataset_rows, health_measures
from hpe_core.analysis.health_alarms import PREFIX

MIN_ROWS = 8  # fewer samples than this: nothing is measured


def _numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


class HealthCollector:
    """Features of the first ``limit`` distinct validation samples, by layer; ``limit`` 0: off."""

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.features: dict[str, list[np.ndarray]] = {}
        self.indices: list[np.ndarray] = []
        self._seen: set[int] = set()

    @property
    def count(self) -> int:
        return len(self._seen)

    def add(self, features: dict, indices) -> None:
        """Rows of ``features`` ({layer: (B, d)}) for the dataset positions ``indices`` (B,)."""
        if self.count >= self.limit:
            return
        idx = _numpy(indices).astype(np.int64).reshape(-1)
        keep = []
        for row, i in enumerate(idx.tolist()):
            if i not in self._seen and self.count < self.limit:
                self._seen.add(i)
                keep.append(row)
        if not keep:
            return
        self.indices.append(idx[keep])
        for layer, x in features.items():
            self.features.setdefault(layer, []).append(_numpy(x).reshape(len(idx), -1)[keep])

    def measures(self, dataset, seed: int = 0) -> dict[str, float | None]:
        """``{"health.<layer>.<measure>": value, ...}``; {} below MIN_ROWS samples."""
        if self.count < MIN_ROWS:
            return {}
        idx = np.concatenate(self.indices)
        rows = dataset_rows(dataset, idx, "auto", seed, by_split=False)
        out: dict[str, float | None] = {}
        for layer, parts in self.features.items():
            x = np.concatenate(parts)
            for name, value in health_measures(x, rows).items():
                out[f"{PREFIX}{layer}.{name}"] = value
            out[f"{PREFIX}{layer}.rank_max"] = float(min(x.shape))  # the most RankMe can be
        return out
