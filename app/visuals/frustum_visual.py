"""``FrustumVisual``: camera pyramids (centre to the four image corners at a depth)."""

from __future__ import annotations

import numpy as np
from vispy import scene


def frustum_segments(K, R, t, width: int, height: int, depth: float) -> np.ndarray:
    """``(16, 3)`` world endpoints: 4 edges from the centre, 4 around the image rectangle."""
    K, R, t = (np.asarray(a, np.float64) for a in (K, R, t))
    w = width or 2 * K[0, 2]
    h = height or 2 * K[1, 2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64)
    rays = corners @ np.linalg.inv(K).T  # camera frame, z = 1
    pts_cam = rays * depth
    pts = (pts_cam - t) @ R  # camera → world: R^T (p - t)
    centre = -R.T @ t
    seg = []
    for i in range(4):
        seg += [centre, pts[i], pts[i], pts[(i + 1) % 4]]
    return np.asarray(seg, np.float32)


class FrustumVisual(scene.Node):
    """``set_data(segments (S, 3), colours (S, 4))`` as built by :func:`frustum_segments`."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self._lines = scene.visuals.Line(parent=self, connect="segments", width=1.5, method="gl")
        self._lines.visible = False

    def set_data(self, segments: np.ndarray, colours: np.ndarray) -> None:
        if len(segments) == 0:
            self._lines.visible = False
            return
        self._lines.set_data(pos=np.asarray(segments, np.float32), color=np.asarray(colours, np.float32))
        self._lines.visible = True
