"""``ImageCanvas``: one sample's image fitted to the widget with its 2D ground truth, prediction,
predicted 2D joints, heatmaps and part maps painted over it; takes a :class:`SampleData` only."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QToolTip, QWidget

from app.model.sample_data import SampleData
from app.visuals.heatmap_overlay import ALL_JOINTS, heatmap_overlay
from app.visuals.overlay import (BOX_COLOUR, DETECTED_COLOUR, GT_STYLE, OTHER_BOX_COLOUR, PRED_STYLE, draw_boxes,
                                 draw_crosses, draw_skeleton)
from app.visuals.part_overlay import part_overlay
from app.workers.thumbnails import to_qimage

BACKGROUND = QColor(30, 32, 38)
# The legend painted in the canvas corner: (text, colour).
LEGEND = (("━ ground truth", QColor(232, 232, 232)), ("╌ prediction", QColor(245, 201, 168)),
          ("● left", QColor(47, 120, 217)), ("● right", QColor(227, 74, 51)))
DETECTED_LEGEND = ("✕ predicted 2D", DETECTED_COLOUR)  # shown when a 2D model's own joints are drawn
BOX_LEGEND = ("▭ person box", BOX_COLOUR)  # shown when the dataset's person boxes are drawn
HOVER_PX = 10.0  # a joint within this many widget px of the pointer gets a tooltip


class ImageCanvas(QWidget):
    """Paints one :class:`SampleData`: the image fitted to the widget, then the skeletons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sample: SampleData | None = None
        self._image = None
        self.show_gt = True
        self.show_pred = True
        self.bones_drawn = 0  # for tests
        self.boxes_drawn = 0  # person boxes and crops drawn (for tests)
        self.show_boxes = True
        self.legend_rect = QRectF()  # where the key was drawn last (for tests)
        self.show_legend = True  # the key in the corner (off in an exported figure: its legend is below)
        self.background = BACKGROUND
        self.part_source: str | None = None  # "gt" | "pred": draw seed 004's part maps of those joints
        self.parts_drawn = False  # for tests
        self._parts: tuple | None = None  # (key, QImage) of the last part maps
        self.heatmap_mode: str | int | None = ALL_JOINTS  # "off" (or None), ALL_JOINTS, or a joint index
        self.heatmap_drawn = False  # for tests
        self._heatmap: tuple | None = None  # (key, QImage) of the last heatmap picture
        self.detected_points: list = []  # widget points of the predicted 2D joints drawn (None: left out)
        self.setMinimumSize(200, 200)
        self.setMouseTracking(True)

    def set_heatmap_mode(self, mode: str | int | None) -> None:
        self.heatmap_mode = mode
        self.update()

    def set_part_source(self, source: str | None) -> None:
        self.part_source = source
        self.update()

    def set_sample(self, sample: SampleData | None) -> None:
        self.sample = sample
        self._parts = self._heatmap = None
        self._image = None if sample is None or sample.image is None else to_qimage(sample.image)
        self.update()

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF(self.rect())
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        s = self.sample
        if s is None:
            painter.setPen(QColor(150, 155, 165))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No sample selected")
            painter.end()
            return
        rect = self.image_rect()
        if self._image is not None:
            painter.drawImage(rect, self._image)
            sx, sy = rect.width() / self._image.width(), rect.height() / self._image.height()
        else:
            painter.setPen(QColor(150, 155, 165))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Image not available")
            painter.end()
            return

        def to_widget(x: float, y: float) -> QPointF:
            return QPointF(rect.left() + x * sx, rect.top() + y * sy)

        self._paint_parts(painter, rect)
        self._paint_heatmap(painter, rect)
        self._paint_boxes(painter, to_widget)
        self.bones_drawn = 0
        if self.show_gt and s.gt_2d is not None:
            self.bones_drawn += draw_skeleton(painter, s.gt_2d, s.skeleton, to_widget, GT_STYLE, s.visible)
        if self.show_pred and s.pred_2d is not None:
            self.bones_drawn += draw_skeleton(painter, s.pred_2d, s.skeleton, to_widget, PRED_STYLE)
        self.detected_points = []
        if self.show_pred and s.detected_2d is not None:
            self.detected_points = draw_crosses(painter, s.detected_2d, to_widget)
        if self.show_legend:
            self._paint_legend(painter)
        painter.end()

    def _paint_boxes(self, painter: QPainter, to_widget) -> None:
        """The other people's boxes (light blue), the sample's crop (dashed) and its box (amber)."""
        s, self.boxes_drawn = self.sample, 0
        for boxes, colour, dash in ((s.other_boxes, OTHER_BOX_COLOUR, False), (s.crop, BOX_COLOUR, True),
                                    (s.box, BOX_COLOUR, False)):
            if boxes is not None and self.show_boxes:
                self.boxes_drawn += draw_boxes(painter, boxes, to_widget, colour, dash, 1.0 if dash else 2.0)

    def _paint_heatmap(self, painter: QPainter, rect: QRectF) -> None:
        hm, mode, self.heatmap_drawn = self.sample.heatmaps, self.heatmap_mode, False
        if hm is None or mode in (None, "off"):
            return
        key = (id(hm), mode)
        if self._heatmap is None or self._heatmap[0] != key:
            self._heatmap = (key, heatmap_overlay(hm, None if mode == ALL_JOINTS else int(mode)))
        if self._heatmap[1] is not None:
            painter.drawImage(rect, self._heatmap[1])
            self.heatmap_drawn = True

    def joint_at(self, pos: QPointF) -> str:
        """The tooltip for widget point ``pos``: the nearest drawn joint within :data:`HOVER_PX`
        (predicted 2D or ground truth), or ""."""
        s, rect = self.sample, self.image_rect()
        if s is None or self._image is None:
            return ""
        sx, sy = rect.width() / self._image.width(), rect.height() / self._image.height()
        best, text = HOVER_PX, ""
        for label, joints in (("predicted 2D", s.detected_2d if self.show_pred else None),
                              ("ground truth", s.gt_2d if self.show_gt else None)):
            if joints is None:
                continue
            d = np.hypot(rect.left() + joints[:, 0] * sx - pos.x(), rect.top() + joints[:, 1] * sy - pos.y())
            d = np.where(np.isfinite(d), d, np.inf)
            k = int(np.argmin(d))
            if d[k] < best:
                x, y = joints[k]
                best, text = d[k], f"{label}: {s.skeleton.joint_names[k]} ({x:.1f}, {y:.1f}) px"
        return text

    def mouseMoveEvent(self, event) -> None:
        text = self.joint_at(event.position())
        if text:
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)

    def _paint_parts(self, painter: QPainter, rect: QRectF) -> None:
        s, self.parts_drawn = self.sample, False
        joints = None if self.part_source is None else getattr(s, f"{self.part_source}_2d")
        if joints is None:
            return
        key = (self.part_source, id(joints))
        if self._parts is None or self._parts[0] != key:
            self._parts = (key, part_overlay(joints, s.skeleton, self._image.height(), self._image.width()))
        if self._parts[1] is not None:
            painter.setOpacity(0.6)
            painter.drawImage(rect, self._parts[1])
            painter.setOpacity(1.0)
            self.parts_drawn = True

    def _paint_legend(self, painter: QPainter) -> None:
        """A small key in the canvas corner that covers the least (:meth:`legend_box`), in two rows
        when one is too wide."""
        metrics = painter.fontMetrics()
        gap = 12
        legend = LEGEND + ((DETECTED_LEGEND,) if self.detected_points else ())
        legend += (BOX_LEGEND,) if self.boxes_drawn else ()
        rows = [legend]
        if sum(metrics.horizontalAdvance(t) + gap for t, _ in legend) + gap > self.width() - 8:
            rows = [legend[:2], legend[2:]]
        line = metrics.height() + 4
        width = max(sum(metrics.horizontalAdvance(t) + gap for t, _ in row) + gap for row in rows)
        height = line * len(rows) + 4
        box = self.legend_box(width, height)
        self.legend_rect = box
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 22, 27, 190))
        painter.drawRoundedRect(box, 4, 4)
        for k, row in enumerate(rows):
            x, y = box.left() + gap, box.top() + 2 + line * (k + 1) - 2 - metrics.descent()
            for text, colour in row:
                painter.setPen(colour)
                painter.drawText(QPointF(x, y), text)
                x += metrics.horizontalAdvance(text) + gap

    def legend_box(self, width: float, height: float) -> QRectF:
        """The corner box (``width`` x ``height``) that covers the fewest joints, then the least image."""
        m, w, h = 4.0, float(self.width()), float(self.height())
        corners = [QRectF(w - width - m, h - height - m, width, height), QRectF(m, h - height - m, width, height),
                   QRectF(w - width - m, m, width, height), QRectF(m, m, width, height)]
        s, image = self.sample, self.image_rect()
        points = []
        if s is not None and self._image is not None:
            sx, sy = image.width() / self._image.width(), image.height() / self._image.height()
            for pts in (s.gt_2d, s.pred_2d):
                if pts is not None:
                    p = np.asarray(pts, np.float64)
                    p = p[np.isfinite(p).all(axis=1)]
                    points += [QPointF(image.left() + x * sx, image.top() + y * sy) for x, y in p]

        def cost(box: QRectF) -> tuple:
            covered = box.intersected(image)
            return (sum(box.adjusted(-6, -6, 6, 6).contains(q) for q in points),
                    covered.width() * covered.height() if not covered.isEmpty() else 0.0)

        return min(corners, key=cost)
