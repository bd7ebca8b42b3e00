"""A 2D model's heatmaps as a picture over the image view: the maximum over joints or one joint,
coloured and mapped onto the image by :mod:`hpe_core.inference.heatmaps` (at most
:data:`MAX_SIDE` px on the long side, stretched over the image like the part maps)."""

from __future__ import annotations

from PySide6.QtGui import QImage

MAX_SIDE = 256
ALL_JOINTS = "all"  # the mode that shows every joint's heatmap at once (their maximum)


def heatmap_overlay(heatmaps, joint: int | None = None) -> QImage | None:
    """An RGBA ``QImage`` of ``heatmaps`` (a ``SampleHeatmaps``) over its image: joint ``joint``'s
    map, or the maximum over joints when None; None when there is nothing to draw."""
    from hpe_core.inference.heatmaps import colourise, heatmap_picture

    if heatmaps is None or (joint is not None and not 0 <= joint < len(heatmaps.heatmaps)):
        return None
    picture = heatmap_picture(heatmaps.heatmaps, heatmaps.image_hw, heatmaps.input_size, joint, MAX_SIDE)
    rgba = colourise(picture)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
