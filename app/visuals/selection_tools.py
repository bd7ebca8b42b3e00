"""Rectangle and lasso selection of points: the geometry (numpy) and a ViewBox that draws them.

``points_in_polygon(xy (N, 2), polygon (P, 2)) -> (N,) bool`` is the even-odd rule (a point is
inside when a ray from it crosses the outline an odd number of times), vectorised over points
and looped over the P edges, each edge testing only the points in its band of y (the points
sorted by y once, then a binary search per edge).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

TOOLS = ("pan", "rect", "lasso")


def points_in_rect(xy: np.ndarray, corner_a, corner_b) -> np.ndarray:
    """(N,) bool: points of ``xy`` (N, 2) inside the axis-aligned box with the two corners."""
    lo = np.minimum(corner_a, corner_b)
    hi = np.maximum(corner_a, corner_b)
    return ((xy[:, 0] >= lo[0]) & (xy[:, 0] <= hi[0]) & (xy[:, 1] >= lo[1]) & (xy[:, 1] <= hi[1]))


def points_in_polygon(xy: np.ndarray, polygon: np.ndarray, y_order: np.ndarray | None = None) -> np.ndarray:
    """(N,) bool: points of ``xy`` (N, 2) inside the closed ``polygon`` (P, 2), even-odd rule.

    ``y_order`` (N,): ``argsort`` of ``xy[:, 1]`` (NaN last, as numpy sorts), kept by the caller
    across selections; with it each edge tests only the points of its own band of y (found by a
    binary search), so a lasso around a million points costs about two passes over them rather
    than one per edge."""
    xy = np.asarray(xy, np.float64)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    inside = np.zeros(len(xy), bool)
    if len(poly) < 3 or not len(xy):
        return inside
    if y_order is None:
        y_order = np.argsort(xy[:, 1], kind="stable")
    ys = xy[y_order, 1]
    odd = np.zeros(len(xy), bool)  # in y order
    for (x1, y1), (x2, y2) in zip(poly, np.roll(poly, -1, axis=0)):
        if y1 == y2:
            continue  # a horizontal edge is never crossed by a horizontal ray
        # the ray from (px, py) crosses the edge when min(y1, y2) <= py < max(y1, y2) ...
        a, b = np.searchsorted(ys, [min(y1, y2), max(y1, y2)], side="left")
        if a == b:
            continue
        rows = y_order[a:b]
        x_cross = x1 + (ys[a:b] - y1) * (x2 - x1) / (y2 - y1)
        odd[a:b] ^= xy[rows, 0] < x_cross  # ... and the crossing lies right of the point
    inside[y_order] = odd
    return inside


class SelectViewBox(pg.ViewBox):
    """A ViewBox whose left-drag pans (``tool == "pan"``), or draws a rectangle or a lasso.

    ``shape_drawn(kind, points (P, 2) in data coordinates, additive)`` is emitted on release;
    holding Shift makes the selection additive.
    """

    shape_drawn = Signal(str, object, bool)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tool = "pan"
        self._outline = QGraphicsPathItem()
        pen = QPen(QColor(255, 200, 60), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._outline.setPen(pen)
        self._outline.setBrush(QColor(255, 200, 60, 40))
        self._outline.setZValue(1e6)
        self._outline.hide()
        self.addItem(self._outline, ignoreBounds=True)
        self._points: list[QPointF] = []

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown selection tool {tool!r}; valid: {', '.join(TOOLS)}")
        self.tool = tool

    def mouseDragEvent(self, ev, axis=None) -> None:
        if self.tool == "pan" or ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        here = self.mapToView(ev.pos())
        if ev.isStart():
            self._points = [self.mapToView(ev.buttonDownPos())]
        if self.tool == "lasso":
            last = self.mapViewToDevice(self._points[-1]) if self._points else None
            now = self.mapViewToDevice(here)
            if last is None or now is None or (last - now).manhattanLength() >= 3:
                self._points.append(here)
        else:
            self._points = [self._points[0], here]
        self._draw_outline()
        if ev.isFinish():
            self._outline.hide()
            pts = np.array([(p.x(), p.y()) for p in self._points], np.float64)
            additive = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._points = []
            self.shape_drawn.emit(self.tool, pts, additive)

    def _draw_outline(self) -> None:
        path = QPainterPath()
        if self.tool == "rect" and len(self._points) == 2:
            a, b = self._points
            path.addRect(min(a.x(), b.x()), min(a.y(), b.y()), abs(b.x() - a.x()), abs(b.y() - a.y()))
        elif len(self._points) > 1:
            path.addPolygon(QPolygonF(self._points))
            path.closeSubpath()
        self._outline.setPath(path)
        self._outline.show()
