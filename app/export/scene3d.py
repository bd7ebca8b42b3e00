"""3D figures for a paper: a vispy view rendered offscreen at the asked size, on the asked
background, framed to its content, with a legend in a strip of its own (never over the data).

:func:`render_view` draws a vispy ``ViewBox`` into a framebuffer of exactly ``width x height``
pixels whatever the canvas's size on screen: the canvas's root widget is given that size for the
render (so the camera's aspect ratio is the image's, nothing is stretched or left in a corner;
the rendered region is offset for vispy's y flip about the on-screen height),
the camera is moved to frame ``points`` (their bounding sphere fills the smaller side), the
background is set, and all of it is put back afterwards. :func:`with_legend` paints legend
entries into a band below the scene. Views that draw 3D offer ``export_image(width, height,
paper) -> QImage`` and ``legend_entries()`` built on these.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter

PAPER = (1.0, 1.0, 1.0, 1.0)
SCREEN = (0.11, 0.12, 0.15, 1.0)
MARGIN = 1.08          # the bounding sphere's radius times this fills the smaller side
LEGEND_FONT_PX = 0.022  # legend text height as a share of the image's smaller side (at least 11 px)

Legend = list[tuple[str, tuple]]  # (name, (r, g, b[, a]) 0..255)


@contextmanager
def _camera_framing(view, points: np.ndarray | None):
    cam = view.camera
    saved = {k: getattr(cam, k) for k in ("center", "distance", "scale_factor") if hasattr(cam, k)}
    try:
        pts = None if points is None else np.asarray(points, np.float64).reshape(-1, 3)
        if pts is not None:
            pts = pts[np.isfinite(pts).all(axis=1)]
        if pts is not None and len(pts):
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            centre = (lo + hi) / 2
            radius = float(np.linalg.norm(pts - centre, axis=1).max()) or 1.0
            fov = max(float(getattr(cam, "fov", 0.0)), 1.0)
            cam.center = tuple(float(c) for c in centre)
            cam.distance = MARGIN * radius / np.sin(np.radians(fov) / 2)
            cam.scale_factor = 2 * MARGIN * radius  # orthographic cameras (fov 0) fit by this
            cam.view_changed()
        yield
    finally:
        for k, v in saved.items():
            setattr(cam, k, v)
        cam.view_changed()


def render_view(canvas, view, width: int, height: int, paper: bool = True,
                points: np.ndarray | None = None) -> np.ndarray:
    """``(height, width, 4)`` uint8 of ``view`` rendered offscreen; see the module docstring."""
    width, height = int(width), int(height)
    root = canvas.central_widget
    saved_size, saved_bg = tuple(root.size), canvas.bgcolor
    try:
        canvas.bgcolor = PAPER if paper else SCREEN
        root.size = (width, height)
        with _camera_framing(view, points):
            # vispy flips y about the canvas's on-screen height: the region is placed so that the
            # root widget's (0, 0)-(width, height) lands exactly on the framebuffer
            scale = canvas.pixel_scale
            top = canvas.physical_size[1] - height * scale
            image = _render(canvas, view, (0, top, width * scale, height * scale), (width, height))
    finally:
        root.size = saved_size
        canvas.bgcolor = saved_bg
        _update_clippers(view)
        canvas.update()
    return np.ascontiguousarray(image[..., :4], dtype=np.uint8)


def _update_clippers(view) -> None:
    """A ViewBox clips its scene with bounds mapped to the framebuffer when its size or the
    canvas's transforms last changed; refresh them for the framebuffer drawn into now."""
    for name in ("_update_scene_clipper", "_update_clipper"):
        update = getattr(view, name, None)
        if update is not None:
            update()


def _render(canvas, view, region, size) -> np.ndarray:
    """``canvas.render(region, size)`` with the view's clipping bounds refreshed inside the FBO."""
    from vispy import gloo

    canvas.set_current()
    w, h = size
    fbo = gloo.FrameBuffer(color=gloo.RenderBuffer((h, w)), depth=gloo.RenderBuffer((h, w)))
    # vispy caches the last FBO mapping but resets the transform without the cache when the FBO
    # is popped, so a second render of the same region would skip the mapping: forget it first
    mappings = getattr(canvas.transforms, "_mappings", None)
    if isinstance(mappings, dict) and "ct0" in mappings:
        mappings["ct0"] = None
    canvas.push_fbo(fbo, region[:2], region[2:])
    try:
        _update_clippers(view)
        canvas._draw_scene(bgcolor=canvas.bgcolor)
        return fbo.read()
    finally:
        canvas.pop_fbo()


def legend_height(entries: Legend, width: int, height: int) -> int:
    """Pixels the legend band needs under a ``width`` x ``height`` figure (0 without entries)."""
    if not entries:
        return 0
    font = _font(width, height)
    fm = QFontMetricsF(font)
    rows = len(_rows(entries, fm, width))
    return int(np.ceil(rows * fm.height() * 1.35 + fm.height() * 0.6))


def _font(width: int, height: int) -> QFont:
    font = QFont()
    font.setPixelSize(max(11, int(round(LEGEND_FONT_PX * min(width, height)))))
    return font


def _rows(entries: Legend, fm: QFontMetricsF, width: int) -> list[list[tuple[str, tuple, float]]]:
    """Entries laid out left to right in rows that fit ``width`` (never dropped)."""
    pad, swatch = fm.height() * 0.6, fm.height() * 0.9
    rows, row, x = [], [], pad
    for name, colour in entries:
        w = swatch + fm.height() * 0.35 + fm.horizontalAdvance(name) + pad * 1.5
        if row and x + w > width - pad:
            rows.append(row)
            row, x = [], pad
        row.append((name, colour, w))
        x += w
    if row:
        rows.append(row)
    return rows


def paint_legend(painter: QPainter, entries: Legend, top: float, width: int, height: int, paper: bool = True) -> None:
    """Every entry (an outlined colour swatch and its name) in rows from ``top`` down."""
    if not entries:
        return
    font = _font(width, height)
    painter.setFont(font)
    fm = QFontMetricsF(font)
    line = fm.height() * 1.35
    y = top + fm.height() * 0.3
    text_colour = QColor(20, 20, 20) if paper else QColor(230, 230, 230)
    for row in _rows(entries, fm, width):
        x = fm.height() * 0.6
        for name, colour, advance in row:
            sw = fm.height() * 0.9
            c = [int(v) for v in colour]
            painter.setPen(QColor(90, 90, 90) if paper else QColor(160, 160, 160))  # a white swatch shows too
            painter.setBrush(QColor(c[0], c[1], c[2]))
            painter.drawRect(QRectF(x, y + (line - sw) / 2, sw, sw))
            painter.setPen(text_colour)
            painter.drawText(QRectF(x + sw + fm.height() * 0.35, y, advance, line),
                             int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), name)
            x += advance
        y += line


def with_legend(scene: np.ndarray, entries: Legend, width: int, height: int, paper: bool = True) -> QImage:
    """A ``width`` x ``height`` image: ``scene`` (rendered ``height - legend_height`` tall) above a
    band with every legend entry (a colour swatch and its name)."""
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    background = QColor(255, 255, 255) if paper else QColor(*[int(c * 255) for c in SCREEN[:3]])
    image.fill(background)
    rgba = np.ascontiguousarray(scene)
    h, w = rgba.shape[:2]
    top = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    painter.drawImage(0, 0, top)
    paint_legend(painter, entries, h, width, height, paper)
    painter.end()
    return image


def figure_3d(canvas, view, width: int, height: int, paper: bool, points, entries: Legend) -> QImage:
    """The whole 3D figure: the framed scene over its legend, ``width`` x ``height`` px."""
    band = legend_height(entries, width, height)
    scene = render_view(canvas, view, width, max(height - band, 16), paper, points)
    return with_legend(scene, entries, width, height, paper)


def paint_3d(painter: QPainter, canvas, view, width: int, height: int, paper: bool, points, entries: Legend) -> None:
    """``paint_figure`` of a 3D view: the framed scene (a raster) above its legend, painted as text
    and shapes (so an SVG or PDF keeps the legend as vector text)."""
    band = legend_height(entries, width, height)
    scene = render_view(canvas, view, width, max(height - band, 16), paper, points)
    h, w = scene.shape[:2]
    background = PAPER if paper else SCREEN
    painter.fillRect(QRectF(0, 0, width, height), QColor.fromRgbF(*background))  # the band matches the scene
    painter.drawImage(0, 0, QImage(scene.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy())
    paint_legend(painter, entries, h, width, height, paper)


def rgb255(colour) -> tuple[int, int, int]:
    c = np.asarray(colour, np.float64).reshape(-1)[:3]
    return tuple(int(round(v * 255)) if c.max() <= 1.0 else int(v) for v in c)


def skeleton_legend(gt: bool, pred: bool, light) -> Legend:
    """Entries of a skeleton figure: each drawn skeleton's left and right side colours."""
    from hpe_core.skeleton import LEFT_COLOUR, RIGHT_COLOUR

    entries: Legend = []
    if gt:
        entries += [("ground truth · left", rgb255(LEFT_COLOUR)), ("ground truth · right", rgb255(RIGHT_COLOUR))]
    if pred:
        entries += [("prediction · left", rgb255(light(np.array([LEFT_COLOUR]))[0])),
                    ("prediction · right", rgb255(light(np.array([RIGHT_COLOUR]))[0]))]
    return entries
