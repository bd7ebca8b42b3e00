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
        self.plot_item.setLabel("left", "cluster (samples)")  # the bands' names are its ticks: never over the data
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.mean_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((230, 80, 80), width=1.5, style=Qt.PenStyle.DashLine))
        self.zero_line = pg.InfiniteLine(pos=0.0, angle=90, pen=pg.mkPen((150, 150, 150), width=1))
        self.plot_item.addItem(self.zero_line)
        self.plot_item.addItem(self.mean_line)
        self._bands: list[QGraphicsPathItem] = []
        self.score: float | None = None
        self.setMinimumHeight(160)

    def set_data(self, values, labels, palette: np.ndarray, names: list[str] | None = None,
                 score: float | None = None) -> None:
        self.clear_data()
        bands = cluster_bands(values, labels)
        total = sum(len(v) for _, v in bands)
        gap = GAP * total if len(bands) > 1 else 0.0
        top = total + gap * (len(bands) - 1)
        ticks = []
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
            ticks.append((top - height / 2, f"{name} ({len(vals)})"))
            top -= height + gap
        self.plot_item.getAxis("left").setTicks([ticks, []])
        self.score = None if score is None else float(score)
        self.mean_line.setVisible(self.score is not None)
        if self.score is not None:
            self.mean_line.setPos(self.score)
            self.plot_item.setTitle(f"mean silhouette {self.score:.3f}", size="9pt")
        lo = min(-0.25, float(np.nanmin(values)) - 0.05) if total else -0.25
        self.plot_item.setXRange(lo, 1.0, padding=0.0)
        self.plot_item.setYRange(0, max(total + gap * (len(bands) - 1), 1), padding=0.02)

    def clear_data(self) -> None:
        for item in self._bands:
            self.plot_item.removeItem(item)
        self._bands = []
        self.plot_item.getAxis("left").setTicks([[], []])
        self.mean_line.setVisible(False)
        self.plot_item.setTitle("")
        self.score = None

    def band_count(self) -> int:
        return len(self._bands)


# ---------------------------------------------------------------------- label silhouettes and the scan
SERIES_COLOURS = {"a": (77, 140, 245), "b": (245, 153, 38), "main": (77, 140, 245)}
GROUP_TITLES = {"clusters": "k-means clusters", "action": "action", "camera": "camera", "subject": "subject",
                "pose_id": "pose"}


def _side_legend(plot_item) -> pg.LegendItem:
    """A legend in the plot item's layout, below the bottom axis (never over the data), one
    entry per row; hidden while it has no entry."""
    legend = pg.LegendItem(labelTextSize="8pt", pen=pg.mkPen(150, 150, 150, 120))
    plot_item.layout.addItem(legend, 4, 1)
    plot_item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignLeft)
    legend.setVisible(False)
    return legend


def _plain_axes(plot_item) -> None:
    for name in ("bottom", "left"):
        plot_item.getAxis(name).enableAutoSIPrefix(False)  # silhouettes are read as they are


class LabelSilhouetteChart(pg.PlotWidget):
    """Horizontal bars: the silhouette of the k-means clusters beside that of each dataset label
    (action, camera, subject, pose), one bar per series ("main", or "a" and "b"), values written."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.plot_item.setLabel("bottom", "silhouette")
        self.plot_item.setLabel("left", "grouping")
        self.plot_item.invertY(True)
        _plain_axes(self.plot_item)
        self.legend = _side_legend(self.plot_item)
        self.values: dict[str, dict[str, float | None]] = {}
        self._items: list = []
        self.setMinimumHeight(150)

    def set_data(self, series: dict[str, dict[str, float | None]], names: dict[str, str] | None = None,
                 title: str = "") -> None:
        """``series``: {"a": {"clusters": s, "action": s, ...}, ...}; None values are left empty."""
        for item in self._items:
            self.plot_item.removeItem(item)
        self._items = []
        self.legend.clear()
        self.values = {k: dict(v) for k, v in series.items()}
        groups = [g for g in GROUP_TITLES if any(g in v for v in series.values())]
        n = max(len(series), 1)
        height = 0.8 / n
        for s, (key, values) in enumerate(series.items()):
            colour = SERIES_COLOURS.get(key, (150, 150, 150))
            ys = [i - 0.4 + height * (s + 0.5) for i, g in enumerate(groups) if values.get(g) is not None]
            xs = [float(values[g]) for g in groups if values.get(g) is not None]
            bars = pg.BarGraphItem(x0=np.zeros(len(xs)), y=ys, width=xs, height=height * 0.9, brush=pg.mkBrush(*colour),
                                   pen=pg.mkPen(None))
            self.plot_item.addItem(bars)
            self._items.append(bars)
            for x, y in zip(xs, ys):
                text = pg.TextItem(f"{x:+.3f}", anchor=(0.0, 0.5) if x >= 0 else (1.0, 0.5), color=(150, 150, 150))
                text.setPos(x, y)
                self.plot_item.addItem(text)
                self._items.append(text)
            if len(series) > 1 or names:
                self.legend.addItem(pg.BarGraphItem(x=[0], height=[1], width=1, brush=pg.mkBrush(*colour)),
                                    (names or {}).get(key, key.upper()))
        self.legend.setVisible(bool(self.legend.items))
        self.plot_item.getAxis("left").setTicks([[(i, GROUP_TITLES[g]) for i, g in enumerate(groups)]])
        values = [v for vals in series.values() for v in vals.values() if v is not None]
        lo, hi = min([0.0, *values]), max([0.0, *values])
        pad = 0.35 * max(hi - lo, 0.1)  # room for the values written at the bars' ends
        self.plot_item.setXRange(lo - (pad if lo < 0 else 0.02), hi + pad, padding=0.0)
        self.plot_item.setYRange(-0.6, len(groups) - 0.4, padding=0.0)
        self.plot_item.setTitle(title, size="9pt")


class SilhouetteScanPlot(pg.PlotWidget):
    """The silhouette of k-means clusters for k = 2..20, one line per series, the best k marked."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.setLabel("bottom", "k (k-means clusters)")
        self.plot_item.setLabel("left", "silhouette")
        self.plot_item.showGrid(x=True, y=True, alpha=0.2)
        _plain_axes(self.plot_item)
        self.legend = _side_legend(self.plot_item)
        self.scans: dict = {}
        self._items: list = []
        self.setMinimumHeight(150)

    def set_scans(self, scans: dict, names: dict[str, str] | None = None, title: str = "") -> None:
        """``scans``: {"a": SilhouetteScan, ...}."""
        for item in self._items:
            self.plot_item.removeItem(item)
        self._items = []
        self.legend.clear()
        self.scans = dict(scans)
        for key, scan in scans.items():
            colour = SERIES_COLOURS.get(key, (150, 150, 150))
            ok = np.isfinite(scan.scores)
            curve = pg.PlotDataItem(scan.ks[ok], scan.scores[ok], pen=pg.mkPen(colour, width=2), symbol="o",
                                    symbolSize=5, symbolBrush=pg.mkBrush(*colour), symbolPen=None)
            self.plot_item.addItem(curve)
            self._items.append(curve)
            best = scan.best_k
            label = (names or {}).get(key, key.upper())
            if best is not None:
                score = float(scan.scores[list(scan.ks).index(best)])
                mark = pg.ScatterPlotItem([best], [score], size=13, symbol="star", brush=pg.mkBrush(*colour), pen=None)
                self.plot_item.addItem(mark)
                self._items.append(mark)
                label += f" (best k = {best}: {score:.3f})"
            else:
                label += " (k-means finds fewer than 2 clusters at every k)"
            if len(scans) > 1 or names:
                self.legend.addItem(curve, label)
            else:
                title = f"{title} · best k = {best}" if best is not None else title
        self.legend.setVisible(bool(self.legend.items))
        self.plot_item.setTitle(title, size="9pt")
        self.plot_item.enableAutoRange()
