"""``ModalityOverlay``: UniHPE's shared space drawn on a :class:`~app.visuals.scatter_plot.ScatterPlot`
(the paper's Fig. 6): one point item per modality (image / 2D pose / 3D pose), each with its own
colour AND symbol, a legend, and thin lines joining the three embeddings of each sample.

Model-free: it takes arrays (coordinates, modality codes, dataset indices) and emits the dataset
index of a clicked image point. The plot's own single-symbol cloud is hidden while the overlay is
shown (its positions still answer hover and the selection tools).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal

from hpe_core.studies.unihpe_space import LABELS, MODALITIES

SYMBOLS = {"image": "o", "pose2d": "t", "pose3d": "s"}
COLOURS = {"image": (78, 121, 167), "pose2d": (242, 142, 43), "pose3d": (225, 87, 89)}
LINK_PEN = (200, 200, 210, 70)


class ModalityOverlay(QObject):
    """``set_data(coords (3N, 2), modality (3N,), indices (N,))``; ``set_links(on)``."""

    image_clicked = Signal(int)  # dataset index of the clicked image embedding

    def __init__(self, plot, point_size: float = 7.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.items = {m: pg.ScatterPlotItem(size=point_size, symbol=SYMBOLS[m], pen=pg.mkPen(20, 20, 24, 160),
                                            brush=pg.mkBrush(*COLOURS[m], 220), name=LABELS[m])
                      for m in MODALITIES}
        self.links = pg.PlotCurveItem(pen=pg.mkPen(LINK_PEN, width=1), connect="finite")
        self.links.setZValue(-1)
        for z, name in enumerate(reversed(MODALITIES)):  # image points on top: they are the ones to click
            self.items[name].setZValue(1 + z)
        self.marks = pg.ScatterPlotItem(size=16, symbol="o", pen=pg.mkPen(255, 220, 80, 255, width=2.5), brush=None)
        self.marks.setZValue(10)
        self.mark_link = pg.PlotCurveItem(pen=pg.mkPen(255, 220, 80, 220, width=2.0), connect="finite")
        self.mark_link.setZValue(9)
        # a click anywhere on the plot is asked of the image points (the plot's hover ring, drawn
        # over the hovered point, would otherwise take the click from them)
        plot.scene().sigMouseClicked.connect(self._on_scene_clicked)
        self.shown = False
        self.links_on = True
        self.coords = np.zeros((0, 2))
        self.modality = np.zeros(0, np.int8)
        self.indices = np.zeros(0, np.int64)

    # ------------------------------------------------------------------ data
    def set_data(self, coords: np.ndarray, modality: np.ndarray, indices: np.ndarray) -> None:
        coords = np.asarray(coords, np.float64).reshape(-1, 2)
        modality = np.asarray(modality, np.int8).reshape(-1)
        indices = np.asarray(indices, np.int64).reshape(-1)
        if len(coords) != len(modality) or len(coords) != len(MODALITIES) * len(indices):
            raise ValueError(f"{len(coords)} points, {len(modality)} modality codes, {len(indices)} samples")
        self.coords, self.modality, self.indices = coords, modality, indices
        for code, name in enumerate(MODALITIES):
            pts = coords[modality == code]
            self.items[name].setData(pos=pts, data=indices[:len(pts)])
        self._draw_links()
        self.mark(-1)

    def points_of(self, name: str) -> np.ndarray:
        """The (N, 2) positions of one modality, in sample order."""
        return self.coords[self.modality == MODALITIES.index(name)]

    def mark(self, index: int, matches=()) -> None:
        """Ring the three embeddings of dataset sample ``index`` (joined by a bold line) and the
        points ``matches`` = [(modality, dataset index)] (-1 / empty: no marks)."""
        rows = np.flatnonzero(self.indices == int(index)) if index >= 0 else np.zeros(0, np.int64)
        if not len(rows):
            self.marks.setData(pos=np.zeros((0, 2)))
            self.mark_link.setData(np.zeros(0), np.zeros(0))
            return
        own = np.stack([self.points_of(m)[rows[0]] for m in MODALITIES])
        found = [self.points_of(m)[r[0]] for m, i in matches if len(r := np.flatnonzero(self.indices == int(i)))]
        self.marks.setData(pos=np.concatenate([own, np.reshape(found, (-1, 2))]))
        self.mark_link.setData(own[:, 0], own[:, 1])

    def set_links(self, on: bool) -> None:
        self.links_on = bool(on)
        self._draw_links()

    def link_segments(self) -> int:
        """How many samples are joined (one polyline image -> 2D -> 3D each)."""
        if not self.links_on or not self.links.isVisible():
            return 0
        x = self.links.xData
        return 0 if x is None else int(np.isnan(x).sum())

    def _draw_links(self) -> None:
        n = len(self.indices)
        if not (self.links_on and n):
            self.links.setData(np.zeros(0), np.zeros(0))
            self.links.setVisible(False)
            return
        path = np.full((n, len(MODALITIES) + 1, 2), np.nan)
        for k, name in enumerate(MODALITIES):
            path[:, k] = self.points_of(name)
        flat = path.reshape(-1, 2)
        self.links.setData(flat[:, 0], flat[:, 1])
        self.links.setVisible(True)

    # ------------------------------------------------------------------ showing
    def show(self) -> None:
        """Add the items and the legend entries; hide the plot's own cloud."""
        if self.shown:
            return
        for item in (self.links, *self.items.values(), self.mark_link, self.marks):
            self.plot.addItem(item)
        self.plot.cloud.setVisible(False)
        self.plot.legend.clear()
        for name, item in self.items.items():
            self.plot.legend.addItem(item, LABELS[name])
        self.plot.place_legend(True)  # in the plot's layout, right of the axes
        self.shown = True

    def hide(self) -> None:
        if not self.shown:
            return
        for item in (self.links, *self.items.values(), self.mark_link, self.marks):
            self.plot.removeItem(item)
        self.plot.legend.clear()
        self.plot.place_legend(False)
        self.plot.cloud.setVisible(True)
        self.shown = False

    def legend_labels(self) -> list[str]:
        return [label.text for _sample, label in self.plot.legend.items]

    def _on_scene_clicked(self, event) -> None:
        if not self.shown or event.button() != Qt.MouseButton.LeftButton:
            return
        item = self.items["image"]
        points = item.pointsAt(item.mapFromScene(event.scenePos()))
        if len(points):
            self.image_clicked.emit(int(points[0].data()))
