"""``SilhouettePlot``: per-sample silhouette values grouped by cluster and sorted, like Orange's widget.

Each cluster is a filled horizontal band: its samples' values sorted from high to low, one row
each, drawn as a single polygon (a band of 50,000 samples is resampled to at most
``MAX_ROWS`` quantiles, which looks the same). A dashed line marks the mean score. Arrays in,
nothing computed here but the layout: the values come from ``hpe_core.analysis.silhouette``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

MAX_ROWS = 600  # per cluster
GAP = 0.04      # space between clusters, as a share of all rows


def cluster_bands(values: np.ndarray, labels: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``[(label, sorted values (descending))]`` per distinct label, in label order."""
    values = np.asarray(values, np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if values.shape != labels.shape:
        raise ValueError(f"{len(values)} silhouette values for {len(labels)} labels")
    return [(int(c), np.sort(values[labels == c])[::-1]) for c in np.unique(labels)]


def band_outline(sorted_values: np.ndarray, top: float, height: float) -> np.ndarray:
    """(P, 2) polygon of one band: x = value, rows from ``top`` downwards over ``height``."""
    v = np.asarray(sorted_values, np.float64)
    if len(v) > MAX_ROWS:  # quantiles keep the shape of the band
        v = v[np.linspace(0, len(v) - 1, MAX_ROWS).round().astype(int)]
    n = len(v)
    edges = top - height * np.arange(n + 1) / n
    xs = np.repeat(v, 2)
    ys = np.column_stack([edges[:-1], edges[1:]]).reshape(-1)
    return np.concatenate([[[0.0, top]], np.column_stack([xs, ys]), [[0.0, top - height]]])


class SilhouettePlot(pg.PlotWidget):
    """``set_data(values (N,), labels (N,), palette (K, 4), names, score)``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        self.plot_item.setLabel("bottom", "silhouette")
        self.plot_item.hideAxis("left")
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.mean_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((230, 80, 80), width=1.5, style=Qt.PenStyle.DashLine))
        self.zero_line = pg.InfiniteLine(pos=0.0, angle=90, pen=pg.mkPen((150, 150, 150), width=1))
        self.plot_item.addItem(self.zero_line)
        self.plot_item.addItem(self.mean_line)
        self._bands: list[QGraphicsPathItem] = []
        self._labels: list[pg.TextItem] = []
        self.score: float | None = None
        self.setMinimumHeight(160)

    def set_data(self, values, labels, palette: np.ndarray, names: list[str] | None = None,
                 score: float | None = None) -> None:
        self.clear_data()
        bands = cluster_bands(values, labels)
        total = sum(len(v) for _, v in bands)
        gap = GAP * total if len(bands) > 1 else 0.0
        top = total + gap * (len(bands) - 1)
        for code, vals in bands:
            height = float(len(vals))
            poly = band_outline(vals, top, height)
            path = QPainterPath()
            path.moveTo(*poly[0])
            for x, y in poly[1:]:
                path.lineTo(x, y)
            path.closeSubpath()
            item = QGraphicsPathItem(path)
            c = palette[code % len(palette)] if len(palette) else (120, 120, 120, 255)
            colour = QColor(int(c[0]), int(c[1]), int(c[2]), 230)
            item.setBrush(colour)
            pen = QPen(colour.darker(130), 0)
            pen.setCosmetic(True)
            item.setPen(pen)
            self.plot_item.addItem(item)
            self._bands.append(item)
            name = names[code] if names and 0 <= code < len(names) else str(code)
            label = pg.TextItem(f"{name}  ({len(vals)})", anchor=(1.0, 0.5), color=(150, 150, 150))
            label.setPos(-0.02, top - height / 2)
            self.plot_item.addItem(label)
            self._labels.append(label)
            top -= height + gap
        self.score = None if score is None else float(score)
        self.mean_line.setVisible(self.score is not None)
        if self.score is not None:
            self.mean_line.setPos(self.score)
            self.plot_item.setTitle(f"mean silhouette {self.score:.3f}", size="9pt")
        lo = min(-0.25, float(np.nanmin(values)) - 0.05) if total else -0.25
        self.plot_item.setXRange(lo - 0.25, 1.0, padding=0.0)
        self.plot_item.setYRange(0, max(total + gap * (len(bands) - 1), 1), padding=0.02)

    def clear_data(self) -> None:
        for item in (*self._bands, *self._labels):
            self.plot_item.removeItem(item)
        self._bands, self._labels = [], []
        self.mean_line.setVisible(False)
        self.plot_item.setTitle("")
        self.score = None

    def band_count(self) -> int:
        return len(self._bands)
