"""``PointCloudItem``: a pyqtgraph item that draws a million 2D points; takes arrays only.

Points are positions (N, 2) plus a colour code per point into a small palette (K, 4) uint8.
On screen each code's disc is pre-rendered once into an atlas pixmap and every point is one
pixmap fragment (``QPainter.drawPixmapFragments``), so a repaint is a few numpy operations and
one call. Changing colours or positions updates arrays in place; nothing is rebuilt per frame.
In vector exports (SVG, PDF) points are drawn as circles, one path per colour, so the figure
stays vector. Code ``-1`` means "unknown" (the palette's last row is not used for
it: :data:`UNKNOWN` grey) and such points are drawn first, under the others.

Past :data:`POINTS_LIMIT` points on screen (zoomed out over a large cloud) the item draws a
density image instead (:func:`app.visuals.density.density_image`: counts per pixel coloured by
the pixel's majority code), in one pass over the points whatever their number; zooming in until
fewer points are on screen brings the discs back. ``mode`` says which was drawn last. A vector
export of that many points embeds the density image (a million vector discs would make a file no
viewer opens).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPaintEngine, QPen, QPixmap

from app.visuals.density import UNKNOWN, density_image

# Discs up to this many points on screen, a density image above: the disc path costs about
# 0.3 us a point on 2 cores (110 ms at 300,000), the density image 20-40 ms at any count
# (bench/gui_explorer_bench.py), so the switch keeps every frame near or under 50 ms.
POINTS_LIMIT = 150_000
_RASTER = {QPaintEngine.Type.Raster, QPaintEngine.Type.OpenGL, QPaintEngine.Type.OpenGL2}


class PointCloudItem(pg.GraphicsObject):
    """``set_points(xy (N, 2))``, ``set_colours(codes (N,) int, palette (K, 4) uint8)``, ``size`` px."""

    def __init__(self, size: float = 5.0, outline: bool = True, points_limit: int = POINTS_LIMIT) -> None:
        super().__init__()
        self.size = float(size)
        self.points_limit = int(points_limit)  # discs up to this many points on screen, else density
        self.mode = "points"  # what the last paint drew: "points" or "density"
        self.on_screen = 0    # points inside the view at the last paint
        self.outline = outline
        self.xy = np.zeros((0, 2), np.float64)
        self.codes = np.zeros(0, np.int64)
        self.palette = np.zeros((0, 4), np.uint8)
        self._order = np.zeros(0, np.int64)
        self._bounds = QRectF()
        self._limits: tuple[np.ndarray, np.ndarray] | None = None
        self._atlas: tuple[tuple, QPixmap] | None = None
        self._frags = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self.paints = 0  # repaints so far (for tests and benchmarks)

    # ------------------------------------------------------------------ data
    def set_points(self, xy: np.ndarray) -> None:
        """New positions (N, 2); colours are kept when N does not change (else all code 0)."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        if len(xy) != len(self.codes):
            self.codes = np.zeros(len(xy), np.int64)
            self._order = np.arange(len(xy))
        self.prepareGeometryChange()
        self.xy = xy
        finite = np.isfinite(xy).all(axis=1)
        if finite.any():
            inside = xy if finite.all() else xy[finite]
            lo, hi = inside.min(axis=0), inside.max(axis=0)
            self._bounds = QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1])
            self._limits = (lo, hi)
        else:
            self._bounds, self._limits = QRectF(), None
        self.informViewBoundsChanged()
        self.update()

    def set_colours(self, codes: np.ndarray, palette: np.ndarray) -> None:
        """Colour code (N,) per point (-1: unknown) into ``palette`` (K, 4) uint8 RGBA."""
        codes = np.asarray(codes, np.int64).reshape(-1)
        if len(codes) != len(self.xy):
            raise ValueError(f"{len(codes)} colour codes for {len(self.xy)} points")
        self.palette = np.asarray(palette, np.uint8).reshape(-1, 4)
        self.codes = np.where((codes >= 0) & (codes < len(self.palette)), codes, -1)
        known = self.codes >= 0  # unknown points first, underneath
        self._order = (np.arange(len(known)) if known.all() else
                       np.concatenate([np.flatnonzero(~known), np.flatnonzero(known)]))
        self.update()

    def set_size(self, size: float) -> None:
        self.prepareGeometryChange()
        self.size = float(size)
        self.update()

    # ------------------------------------------------------------------ geometry
    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        if self._limits is None:
            return (None, None)
        return float(self._limits[0][ax]), float(self._limits[1][ax])

    def pixelPadding(self) -> float:
        return self.size / 2 + 2

    def boundingRect(self) -> QRectF:
        rect = QRectF(self._bounds)
        px, py = self.pixelVectors()
        if px is None:
            return rect
        pad_x, pad_y = self.pixelPadding() * px.length(), self.pixelPadding() * py.length()
        return rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()

    # ------------------------------------------------------------------ drawing
    def paint(self, p: QPainter, option, widget=None) -> None:
        if not len(self.xy):
            return
        self.paints += 1
        scale = float(self._exportOpts.get("resolutionScale", 1.0)) if self._exportOpts else 1.0
        size = self.size * scale
        tr = p.transform()
        engine = p.paintEngine()
        vector = engine is not None and engine.type() not in _RASTER
        if self.mode == "density" and len(self.xy) > self.points_limit:  # the kernel counts what is in view
            self.on_screen = self._paint_density(p, tr)
            if self.on_screen > self.points_limit:
                return
            p.setTransform(tr)  # zoomed in past the limit: discs from this frame on
        inside = self._in_view(self.xy)
        self.on_screen = int(np.count_nonzero(inside))
        if self.on_screen > self.points_limit:
            self.mode = "density"
            self._paint_density(p, tr)
            return
        self.mode = "points"
        order = self._order[inside[self._order]]
        x = tr.m11() * self.xy[order, 0] + tr.m21() * self.xy[order, 1] + tr.dx()
        y = tr.m12() * self.xy[order, 0] + tr.m22() * self.xy[order, 1] + tr.dy()
        p.resetTransform()
        if vector:
            self._paint_vector(p, x, y, order, size)
        else:
            dev = p.device()
            self._paint_fragments(p, x, y, order, size, dev.devicePixelRatioF() if dev is not None else 1.0)

    def _paint_density(self, p: QPainter, tr) -> int:
        """The points in view as one image of the view's pixels (see the module docstring); returns
        how many points were in view, or nothing was drawn when there were too few."""
        vb = self.getViewBox()
        view = vb.viewRect() if vb is not None and hasattr(vb, "viewRect") else self._bounds
        rect = tr.mapRect(view)
        x0, y0 = np.floor(rect.left()), np.floor(rect.top())
        w, h = int(np.ceil(rect.right() - x0)), int(np.ceil(rect.bottom() - y0))
        if w <= 0 or h <= 0 or w * h > 64_000_000:
            return 0
        m = (tr.m11(), tr.m21(), tr.dx() - x0, tr.m12(), tr.m22(), tr.dy() - y0)
        pixels, inside = density_image(self.xy, self.codes, self.palette, m, w, h)
        if inside <= self.points_limit and self.mode == "density":
            return inside  # the caller draws discs instead
        image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_ARGB32)
        p.resetTransform()
        p.drawImage(QRectF(x0, y0, w, h), image)  # the array lives until drawImage returns
        return inside

    def _in_view(self, xy: np.ndarray) -> np.ndarray:
        """(N,) bool: points inside the view's range (vector exports do not clip, so cull here)."""
        vb = self.getViewBox()
        if vb is None or not hasattr(vb, "viewRect"):
            return np.isfinite(xy).all(axis=1)
        r = vb.viewRect()
        return (xy[:, 0] >= r.left()) & (xy[:, 0] <= r.right()) & (xy[:, 1] >= r.top()) & (xy[:, 1] <= r.bottom())

    def _paint_fragments(self, p: QPainter, x, y, order, size: float, dpr: float) -> None:
        atlas, cell = self._atlas_for(size, dpr)
        codes = self.codes[order]
        slot = np.where(codes < 0, len(self.palette), codes)
        self._frags.resize(len(order))
        frags = self._frags.ndarray()
        frags[:, 0] = x
        frags[:, 1] = y
        frags[:, 2] = slot * cell
        frags[:, 3] = 0
        frags[:, 4] = cell
        frags[:, 5] = cell
        frags[:, 6:10] = [1.0 / dpr, 1.0 / dpr, 0.0, 1.0]
        p.drawPixmapFragments(*self._frags.drawargs(), atlas)

    def _atlas_for(self, size: float, dpr: float) -> tuple[QPixmap, int]:
        key = (round(size, 2), dpr, self.outline, self.palette.tobytes())
        cell = int(np.ceil((size + 2) * dpr))
        if self._atlas is None or self._atlas[0] != key:
            colours = [*self.palette, np.asarray(UNKNOWN, np.uint8)]
            pix = QPixmap(cell * len(colours), cell)
            pix.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pix)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            for i, c in enumerate(colours):
                fill = QColor(int(c[0]), int(c[1]), int(c[2]), int(c[3]))
                pen = QPen(fill.darker(160), 0.8 * dpr) if self.outline and size >= 5 else Qt.PenStyle.NoPen
                painter.setPen(pen)
                painter.setBrush(fill)
                r = size * dpr / 2
                painter.drawEllipse(QPointF(i * cell + cell / 2, cell / 2), r, r)
            painter.end()
            self._atlas = (key, pix)
        return self._atlas[1], cell

    def _paint_vector(self, p: QPainter, x, y, order, size: float) -> None:
        """Vector discs (SVG, PDF, print): one path of circles per colour."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        codes = self.codes[order]
        colours = [*self.palette, np.asarray(UNKNOWN, np.uint8)]
        r = size / 2
        for code in [-1, *range(len(self.palette))]:
            rows = np.flatnonzero(codes == code)  # positions in ``order``, as ``x`` and ``y`` are
            if not len(rows):
                continue
            c = colours[code]
            fill = QColor(int(c[0]), int(c[1]), int(c[2]), int(c[3]))
            path = QPainterPath()
            for px, py in zip(x[rows].tolist(), y[rows].tolist()):
                path.addEllipse(QPointF(px, py), r, r)
            p.setPen(QPen(fill.darker(160), 0.5) if self.outline and size >= 5 else Qt.PenStyle.NoPen)
            p.setBrush(fill)
            p.drawPath(path)
