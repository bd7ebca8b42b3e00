"""Tests' shorthand for the one prediction door: a whole run of ``hpe_core.inference.predict``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hpe_core.inference import collect, predict
from hpe_core.inference.sources import open_source


def run_predict(predictor, source, rows=None, stride: int = 1, max_frames: int | None = None, **kwargs):
    """A :class:`PredictionRun` of ``predictor`` over ``source`` (a dataset, or a path opened as
    ``hpe predict`` opens it; a video's every ``stride``-th frame up to ``max_frames``)."""
    dataset = open_source(source, predictor) if isinstance(source, (str, Path)) else source
    if rows is None and (stride != 1 or max_frames is not None):
        rows = np.arange(0, len(dataset), stride)[:max_frames]
    on_batch = kwargs.pop("on_batch", None)
    return collect(predict(predictor, dataset, rows, **kwargs), predictor, str(getattr(dataset, "path", "")), on_batch)
