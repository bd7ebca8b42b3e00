"""Seed 004's part maps as a picture over the image view (computed by :mod:`hpe_core.datasets.part_maps`).

The maps are rendered at most :data:`MAX_SIDE` px on the long side (the joints scaled to match)
and stretched over the image: enough for a picture, cheap for a full-HD frame. torch loads on
the first use, not with the window.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

MAX_SIDE = 256
SOURCES = {"ground truth": "gt", "prediction": "pred"}


def part_overlay(joints_2d: np.ndarray, skeleton, height: int, width: int) -> QImage | None:
    """An RGBA ``QImage`` of the part maps of ``joints_2d`` (J, 2) px on a ``height x width``
    image, or None when the skeleton has no parts or no joint is finite."""
    from hpe_core.datasets.part_maps import PARTS, colour_parts, render_part_maps

    if skeleton.name not in PARTS or not np.isfinite(joints_2d).any():
        return None
    scale = min(1.0, MAX_SIDE / max(height, width))
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    maps = render_part_maps(np.asarray(joints_2d, np.float32)[None] * scale, skeleton, (h, w))[0]
    rgba = np.ascontiguousarray((np.clip(colour_parts(maps, skeleton), 0, 1) * 255).astype(np.uint8))
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
