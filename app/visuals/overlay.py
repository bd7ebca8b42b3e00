"""Drawing 2D skeletons with ``QPainter`` (shared by the image view and exported figures)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

GT_STYLE = {"width": 3.0, "dash": False, "lighten": 0.0, "radius": 3.5}
PRED_STYLE = {"width": 2.5, "dash": True, "lighten": 0.55, "radius": 3.0}
DETECTED_COLOUR = QColor(64, 224, 208)  # a 2D model's own joints (heatmap decoding): turquoise crosses


def qcolour(rgb, lighten: float = 0.0, alpha: float = 1.0) -> QColor:
    r, g, b = (float(c) * (1 - lighten) + lighten for c in rgb[:3])
    return QColor.fromRgbF(r, g, b, alpha)


def draw_skeleton(painter: QPainter, points: np.ndarray, skeleton, to_widget, style: dict,
                  visible: np.ndarray | None = None) -> int:
    """Draw ``(J, 2)`` image points (mapped by ``to_widget(x, y) -> QPointF``); returns bones drawn."""
    pts = np.asarray(points, np.float64)
    ok = np.isfinite(pts).all(axis=1)
    if visible is not None:
        ok &= np.asarray(visible, bool)
    mapped = [to_widget(x, y) if good else None for (x, y), good in zip(pts, ok)]
    drawn = 0
    for (a, b), colour in zip(skeleton.bones, skeleton.bone_colours):
        if mapped[a] is None or mapped[b] is None:
            continue
        pen = QPen(qcolour(colour, style["lighten"]), style["width"])
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        if style["dash"]:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawLine(mapped[a], mapped[b])
        drawn += 1
    painter.setPen(QPen(QColor(20, 20, 20, 200), 1.0))
    r = style["radius"]
    for p, colour in zip(mapped, skeleton.joint_colours):
        if p is not None:
            painter.setBrush(qcolour(colour, style["lighten"]))
            painter.drawEllipse(QPointF(p), r, r)
    return drawn


def draw_crosses(painter: QPainter, points: np.ndarray, to_widget, colour: QColor = DETECTED_COLOUR,
                 size: float = 4.5) -> list:
    """An ``×`` at each finite ``(J, 2)`` image point (dark outline, ``colour`` inside); returns the
    widget points drawn, None for a joint left out."""
    pts = np.asarray(points, np.float64)
    mapped = [to_widget(x, y) if np.isfinite([x, y]).all() else None for x, y in pts]
    for pen in (QPen(QColor(10, 10, 10, 220), 4.0), QPen(colour, 2.0)):
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        for p in mapped:
            if p is not None:
                painter.drawLine(QPointF(p.x() - size, p.y() - size), QPointF(p.x() + size, p.y() + size))
                painter.drawLine(QPointF(p.x() - size, p.y() + size), QPointF(p.x() + size, p.y() - size))
    return mapped


BOX_COLOUR = QColor(255, 214, 64)  # the sample's person box: amber
OTHER_BOX_COLOUR = QColor(140, 200, 255, 230)  # the other people of the same image: light blue


def draw_boxes(painter: QPainter, boxes, to_widget, colour: QColor, dash: bool = False, width: float = 2.0) -> int:
    """Outline each finite ``(K, 4)`` x0, y0, x1, y1 image box; returns how many were drawn."""
    from PySide6.QtCore import QRectF

    pen = QPen(colour, width)
    if dash:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    drawn = 0
    for x0, y0, x1, y1 in np.asarray(boxes, np.float64).reshape(-1, 4):
        if np.isfinite([x0, y0, x1, y1]).all():
            painter.drawRect(QRectF(to_widget(x0, y0), to_widget(x1, y1)))
            drawn += 1
    return drawn
