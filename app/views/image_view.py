"""The image of the current sample (or video frame) with ground truth and prediction drawn."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout,
                               QWidget)

from app.model.catalog import Catalog
from app.model.sample_data import SampleData
from app.model.sample_feed import SampleFeed
from app.model.view_options import ViewOptions
from app.views.heatmap_overlay import ALL_JOINTS, heatmap_overlay
from app.views.overlay import DETECTED_COLOUR, GT_STYLE, PRED_STYLE, draw_crosses, draw_skeleton
from app.views.part_overlay import SOURCES, part_overlay
from app.visuals.binding import bind
from app.workers.thumbnails import to_qimage

BACKGROUND = QColor(30, 32, 38)
# The legend painted in the canvas corner: (text, colour).
LEGEND = (("━ ground truth", QColor(232, 232, 232)), ("╌ prediction", QColor(245, 201, 168)),
          ("● left", QColor(47, 120, 217)), ("● right", QColor(227, 74, 51)))
DETECTED_LEGEND = ("✕ predicted 2D", DETECTED_COLOUR)  # shown when a 2D model's own joints are drawn
HEATMAP_OFF = "Heatmap: off"
HEATMAP_ALL = "Heatmap: all joints"
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
        import numpy as np

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


class ImageView(QWidget):
    """Title, the image canvas and the sample's metrics; follows the feed's sample."""

    def __init__(self, feed: SampleFeed, options: ViewOptions, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options, self.catalog = options, catalog
        self.title = QLabel("")
        self.title.setObjectName("imageTitle")
        self.canvas = ImageCanvas(self)
        self.metrics = QLabel("")
        self.metrics.setObjectName("imageMetrics")
        self.metrics.setTextFormat(Qt.TextFormat.RichText)
        for label in (self.title, self.metrics):  # long texts are clipped, never widen the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.parts_box = QCheckBox("Part maps")
        self.parts_box.setToolTip("Seed 004's part maps (a template per limb warped to the 2D joints)")
        self.parts_from = QComboBox()
        self.parts_from.addItems(list(SOURCES))
        self.parts_from.setEnabled(False)
        self.parts_box.toggled.connect(self._on_parts_changed)
        self.parts_from.currentIndexChanged.connect(self._on_parts_changed)
        self.heatmap_box = QComboBox(toolTip="The 2D model's heatmaps over the image: every joint (their "
                                             "maximum) or one joint")
        self.heatmap_box.addItem(HEATMAP_OFF, "off")
        self.heatmap_box.addItem(HEATMAP_ALL, ALL_JOINTS)
        self.heatmap_box.setCurrentIndex(1)
        self.heatmap_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.heatmap_box.setMinimumContentsLength(8)  # never widens the window
        self.heatmap_box.setEnabled(False)
        self.heatmap_box.setVisible(False)  # shown with a model's heatmaps
        self.heatmap_box.currentIndexChanged.connect(self._on_heatmap_box_changed)
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.heatmap_box)
        row.addWidget(self.parts_box)
        row.addWidget(self.parts_from)
        layout.addLayout(row)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.metrics)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, BACKGROUND)
        self.setAutoFillBackground(True)
        self.setPalette(pal)
        bind(feed.sample_changed, self._on_feed_sample_changed, self)
        bind(options.events.show_gt, self._on_options_changed, self)
        bind(options.events.show_pred, self._on_options_changed, self)

    def _on_options_changed(self, _value) -> None:
        self.canvas.show_gt = self.options.show_gt
        self.canvas.show_pred = self.options.show_pred
        self.canvas.update()

    def _on_parts_changed(self, *_) -> None:
        on = self.parts_box.isChecked()
        self.parts_from.setEnabled(on)
        self.canvas.set_part_source(SOURCES[self.parts_from.currentText()] if on else None)

    def _on_heatmap_box_changed(self, _index: int) -> None:
        self.canvas.set_heatmap_mode(self.heatmap_box.currentData())

    def select_heatmap(self, mode: str | int) -> None:
        """Show ``mode``'s heatmap: ``"off"``, ``"all"`` or a joint index."""
        self.heatmap_box.setCurrentIndex(max(self.heatmap_box.findData(mode), 0))

    def _update_heatmap_box(self, sample: SampleData | None) -> None:
        """One entry per joint of the heatmaps shown; enabled only when there are heatmaps."""
        hm = None if sample is None else sample.heatmaps
        self.heatmap_box.setEnabled(hm is not None)
        self.heatmap_box.setVisible(hm is not None)
        if hm is None:
            return
        n = len(hm.heatmaps)
        names = sample.skeleton.joint_names if sample.skeleton.num_joints == n else [f"joint {k}" for k in range(n)]
        if self.heatmap_box.count() != n + 2 or self.heatmap_box.itemText(2) != f"Heatmap: {names[0]}":
            mode = self.heatmap_box.currentData()
            self.heatmap_box.blockSignals(True)
            while self.heatmap_box.count() > 2:
                self.heatmap_box.removeItem(2)
            for k, name in enumerate(names):
                self.heatmap_box.addItem(f"Heatmap: {name}", k)
            self.heatmap_box.setCurrentIndex(max(self.heatmap_box.findData(mode), 0))
            self.heatmap_box.blockSignals(False)

    def _on_feed_sample_changed(self, sample: SampleData | None) -> None:
        self._update_heatmap_box(sample)
        self.canvas.set_sample(sample)
        self.title.setText("" if sample is None else sample.title)
        self.metrics.setText(self._metrics_text(sample))

    def overlay_figure(self):
        """The image with its 2D skeletons as a paper figure (for Export Figure…)."""
        from app.views.overlay_figure import OverlayFigure

        return OverlayFigure(self.canvas)

    def _metrics_text(self, s: SampleData | None) -> str:
        if s is None:
            return ""
        if s.pred_3d is None and s.detected_2d is not None:
            info = "2D only (no 3D from this checkpoint)"
        elif s.pred_3d is None:
            info = "no prediction yet" if self.catalog.checkpoint is not None else "no checkpoint open"
        elif s.metrics:
            loaded = self.catalog.checkpoint  # its one error measure first and in bold, the other after
            measure = loaded.error_measure.name if loaded is not None else "MPJPE"
            order = sorted(s.metrics.items(), key=lambda kv: kv[0] != measure)
            info = " · ".join(f"<b>{k}</b> {v:.1f} mm" if k == measure else f"{k} {v:.1f} mm" for k, v in order)
        else:
            info = "prediction (no ground truth)"
        if s.metrics_2d:
            info += " · predicted 2D: " + " · ".join(
                f"<b>{k}</b> {v:.1f} px" if k == "EPE" else f"<b>{k}</b> {v:.2f}" for k, v in s.metrics_2d.items())
        if s.approximate_overlay:
            info += " · overlay: weak-perspective estimate"
        return info
