"""The main image view (the sample with its 2D ground truth and prediction) as a paper figure:
drawn by an offscreen :class:`~app.visuals.image_canvas.ImageCanvas` at the asked size, on the asked
background, its key moved from the image's corner into a legend band below (never over the data)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QImage, QPainter

from app.export.scene3d import legend_height, paint_legend, skeleton_legend
from app.visuals.image_canvas import ImageCanvas
from app.visuals.overlay import PRED_STYLE


def _light(colours: np.ndarray) -> np.ndarray:
    amount = PRED_STYLE["lighten"]
    return np.asarray(colours, np.float64) * (1 - amount) + amount


class OverlayFigure:
    """A painted figure (``paint_figure``, ``legend_entries``) of an ``ImageCanvas``."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas

    def width(self) -> int:
        return self.canvas.width()

    def height(self) -> int:
        return self.canvas.height()

    def legend_entries(self) -> list:
        s, c = self.canvas.sample, self.canvas
        gt = s is not None and s.gt_2d is not None and c.show_gt
        pred = s is not None and s.pred_2d is not None and c.show_pred
        entries = skeleton_legend(gt, pred, _light)
        return [(name.replace("prediction", "prediction (dashed)"), colour) for name, colour in entries]

    def paint_figure(self, painter: QPainter, width: int, height: int, paper: bool = True) -> None:
        entries = self.legend_entries()
        band = legend_height(entries, width, height)
        off = ImageCanvas()
        off.show_legend = False
        off.background = QColor(255, 255, 255) if paper else self.canvas.background
        c = self.canvas
        off.show_gt, off.show_pred, off.part_source = c.show_gt, c.show_pred, c.part_source
        off.set_sample(self.canvas.sample)
        off.resize(width, max(height - band, 16))
        image = QImage(off.size(), QImage.Format.Format_ARGB32)
        image.fill(off.background)
        off.render(image)
        off.deleteLater()
        painter.drawImage(0, 0, image)
        paint_legend(painter, entries, image.height(), width, height, paper)
