"""``FloorVisual``: a square grid on the plane z = 0 (display frame, millimetres)."""

from __future__ import annotations

import numpy as np
from vispy import scene


def grid_segments(extent: float, spacing: float) -> np.ndarray:
    """``(4 n, 3)`` endpoints of the grid lines of a ``2 extent`` square, every ``spacing``."""
    n = int(np.floor(extent / spacing))
    ticks = np.arange(-n, n + 1) * spacing
    e = n * spacing
    xs = [[(t, -e, 0.0), (t, e, 0.0)] for t in ticks]
    ys = [[(-e, t, 0.0), (e, t, 0.0)] for t in ticks]
    return np.asarray(xs + ys, dtype=np.float32).reshape(-1, 3)


class FloorVisual(scene.Node):
    def __init__(self, parent=None, colour=(0.55, 0.58, 0.65, 0.35)) -> None:
        super().__init__(parent=parent)
        self.colour = colour
        self._lines = scene.visuals.Line(parent=self, connect="segments", width=1.0, method="gl")
        self._lines.set_gl_state("translucent", depth_test=True)
        self.set_data(3000.0, 500.0)

    def set_data(self, extent: float, spacing: float = 500.0) -> None:
        seg = grid_segments(max(extent, spacing), spacing)
        colours = np.tile(np.asarray(self.colour, np.float32), (len(seg), 1))
        a, b = seg[0::2], seg[1::2]
        axis = (np.isclose(a[:, 0], 0) & np.isclose(b[:, 0], 0)) | (np.isclose(a[:, 1], 0) & np.isclose(b[:, 1], 0))
        colours[np.repeat(axis, 2), 3] = min(1.0, self.colour[3] * 2)
        self._lines.set_data(pos=seg, color=colours)
