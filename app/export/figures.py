"""Figure export: PNG at a chosen resolution, SVG and PDF of pyqtgraph content, PNG of vispy canvases.

A :class:`Figure` names something a view draws. Its ``target`` is a pyqtgraph ``GraphicsView``
(``PlotWidget``, ``GraphicsLayoutWidget``: vector content), or a *painted figure*: anything with
``paint_figure(painter, width, height, paper)`` (the 2D overlay, every 3D view: drawn at exactly
the asked size, on the asked background, with its legend in a band of its own; the 3D scene
inside is rendered offscreen by :mod:`.scene3d`, so an SVG / PDF of it embeds that raster), or,
last, anything with ``render(size=(w, h)) -> (H, W, 4) uint8`` (raster only).

- A plot is exported at the asked width x height in every format: its items are laid out for
  that size (axes, labels, legends placed anew, never a stretched screenshot) at no more than
  about ``LAYOUT_SIZE`` layout px, then drawn scaled, so text, lines and points are sharp; an
  unasked height follows the on-screen aspect. Items marked
  :func:`~app.visuals.screen_only.screen_only` (hover rings, selections) are left out.
- PNG: a raster of exactly that size; SVG: ``QSvgGenerator`` of that size; PDF: ``QPdfWriter``
  with a page of that size (1 px = 0.75 pt). SVG and PDF are vector.
- "paper" style (the default) draws on white with black axes and titles, then restores the view.
Every file is written to a temporary file in the same folder, then renamed into place.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter

from app.visuals.screen_only import is_screen_only
from hpe_core.atomic import atomic_path
from hpe_core.errors import InputError

FORMATS = (".png", ".svg", ".pdf")
PAPER_BACKGROUND = QColor(255, 255, 255)
SCREEN_BACKGROUND = QColor(0x23, 0x26, 0x2D)
MAX_PIXELS = 16384
LAYOUT_SIZE = (800, 600)  # the most layout px a plot is laid out at, per output axis (see layout_scale)


@dataclass
class Figure:
    name: str                 # a file stem: "embedding", "silhouette", "conv1", ...
    title: str
    target: Any               # pg.GraphicsView, or an object with render(size) -> (H, W, 4)
    provenance: dict = field(default_factory=dict)

    @property
    def vector(self) -> bool:
        """A plot: vector content whose height follows its on-screen aspect ratio."""
        return isinstance(self.target, pg.GraphicsView)

    @property
    def painted(self) -> bool:
        return hasattr(self.target, "paint_figure")

    def painter(self):
        """What paints the figure at a size: the target itself, or a plot wrapped as one."""
        return PlotFigure(self.target) if self.vector else self.target

    def formats(self) -> tuple[str, ...]:
        return FORMATS if self.vector or self.painted else (".png",)

    def legend(self) -> list[tuple[str, tuple]]:
        """The legend entries the figure draws ((name, colour)); [] when it has none."""
        entries = getattr(self.target, "legend_entries", None)
        return list(entries()) if callable(entries) else []

    def screen_size(self) -> tuple[int, int]:
        if self.painted:
            return max(self.target.width(), 1), max(self.target.height(), 1)
        if self.vector:
            r = source_rect(self.target)
            return max(int(round(r.width())), 1), max(int(round(r.height())), 1)
        native = getattr(getattr(self.target, "canvas", None), "native", None) or self.target
        return max(native.width(), 1), max(native.height(), 1)


def source_rect(view: pg.GraphicsView) -> QRectF:
    """The scene rectangle a pyqtgraph view shows (its central item)."""
    central = getattr(view, "centralWidget", None)
    return central.sceneBoundingRect() if central is not None else view.sceneRect()


@contextmanager
def paper_style(view: pg.GraphicsView, enabled: bool = True):
    """Black axes, ticks and titles (for a white page) while exporting; restored after."""
    saved = []
    if enabled:
        black = pg.mkColor(20, 20, 20)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                saved.append((item, "axis", (item.pen(), item.textPen())))
                item.setPen(pg.mkPen(black))
                item.setTextPen(pg.mkPen(black))
            elif isinstance(item, pg.LabelItem) and item.text:
                saved.append((item, "label", item.opts.get("color")))
                item.setText(item.text, color=black)
            elif isinstance(item, pg.LegendItem):
                saved.append((item, "legend", (item.brush(), item.pen())))
                item.setBrush(pg.mkBrush(255, 255, 255, 215))
                item.setPen(pg.mkPen(190, 190, 190))
    try:
        yield
    finally:
        for item, kind, value in saved:
            if kind == "axis":
                item.setPen(value[0])
                item.setTextPen(value[1])
            elif kind == "legend":
                item.setBrush(value[0])
                item.setPen(value[1])
            else:
                item.setText(item.text, color=value)


def _activate_layouts(scene) -> None:
    """Lay out every graphics widget of ``scene`` now (outer layouts first), not at the next event."""
    from PySide6.QtWidgets import QGraphicsWidget

    layouts = [QGraphicsWidget.layout(i) for i in sorted(scene.items(), key=_depth) if isinstance(i, QGraphicsWidget)]
    for _ in range(2):  # an inner layout is sized by its outer one
        for layout in layouts:
            if layout is not None:
                layout.activate()


def _depth(item) -> int:
    depth = 0
    while item.parentItem() is not None:
        item, depth = item.parentItem(), depth + 1
    return depth


@contextmanager
def laid_out(view: pg.GraphicsView, width: float, height: float):
    """``view``'s content laid out at ``width`` x ``height`` (its axes, labels and legends placed
    for that size, not the on-screen one), its screen-only items hidden; restored after."""
    central = view.centralWidget
    saved = central.geometry()
    hidden = [i for i in view.scene().items() if is_screen_only(i) and i.isVisible()]
    for item in hidden:
        item.hide()
    central.setGeometry(QRectF(0, 0, width, height))
    _activate_layouts(view.scene())
    try:
        yield QRectF(0, 0, width, height)
    finally:
        central.setGeometry(saved)
        _activate_layouts(view.scene())
        for item in hidden:
            item.show()


def layout_scale(width: int, height: int) -> float:
    """Output px per layout px of an exported plot: a plot is laid out at no more than about
    ``LAYOUT_SIZE`` and drawn scaled up, so its text stays legible on a large figure."""
    return max(1.0, min(width / LAYOUT_SIZE[0], height / LAYOUT_SIZE[1]))


class PlotFigure:
    """A pyqtgraph view as a painted figure: laid out at the asked size (over its
    :func:`layout_scale`), then drawn (vector) onto the painter."""

    def __init__(self, view: pg.GraphicsView) -> None:
        self.view = view

    def paint_figure(self, painter: QPainter, width: int, height: int, paper: bool = True) -> None:
        scale = layout_scale(width, height)
        with laid_out(self.view, width / scale, height / scale) as source, paper_style(self.view, paper):
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            self.view.scene().render(painter, QRectF(0, 0, width, height), source)


def canvas_image(target, width: int, height: int) -> QImage:
    """A QImage of exactly ``width`` x ``height`` px rendered by a vispy canvas (``render(size)``).

    A size smaller than the canvas on screen is rendered at a multiple of itself that is at
    least the canvas size, then scaled down smoothly (vispy draws nothing into an offscreen
    buffer much smaller than the canvas with Mesa), so small exports stay antialiased too.
    """
    from PySide6.QtCore import Qt

    width, height = int(width), int(height)
    if not (16 <= width <= MAX_PIXELS and 16 <= height <= MAX_PIXELS):
        raise InputError(f"size: {width} x {height} px is outside 16..{MAX_PIXELS}")
    native = getattr(getattr(target, "canvas", None), "native", None)
    factor = 1
    if native is not None:
        factor = max(1, int(np.ceil(max(native.width() / width, native.height() / height))))
    size = (min(width * factor, MAX_PIXELS), min(height * factor, MAX_PIXELS))
    rgba = np.ascontiguousarray(target.render(size=size)[..., :4], dtype=np.uint8)
    h, w = rgba.shape[:2]
    image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    if (w, h) != (width, height):
        image = image.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return image


def painted_image(target, width: int, height: int, paper: bool = True) -> QImage:
    """A ``width`` x ``height`` QImage of a painted figure."""
    width, height = int(width), int(height)
    if not (16 <= width <= MAX_PIXELS and 16 <= height <= MAX_PIXELS):
        raise InputError(f"size: {width} x {height} px is outside 16..{MAX_PIXELS}")
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(PAPER_BACKGROUND if paper else SCREEN_BACKGROUND)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    try:
        target.paint_figure(painter, width, height, paper)
    finally:
        painter.end()
    return image


def _painted_size(figure: Figure, width: int | None, height: int | None) -> tuple[int, int]:
    sw, sh = figure.screen_size()
    if width and not height:
        height = int(round(width * sh / sw))
    return int(width or 2 * sw), int(height or 2 * sh)


def figure_image(figure: Figure, width: int | None = None, height: int | None = None, paper: bool = True) -> QImage:
    """The figure as a ``width`` x ``height`` image (a missing side follows the on-screen aspect)."""
    size = _painted_size(figure, width, height)
    if figure.painted or figure.vector:
        return painted_image(figure.painter(), *size, paper)
    return canvas_image(figure.target, *size)


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def painted_svg(target, width: int, height: int, paper: bool = True, title: str = "") -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSizeF(width, height).toSize())
    gen.setResolution(96)  # its width and height (in mm) are then ``width`` x ``height`` CSS px
    gen.setViewBox(QRectF(0, 0, width, height))
    gen.setTitle(title or "HPE Studio figure")
    gen.setDescription("Made with HPE Studio")
    painter = QPainter(gen)
    painter.fillRect(QRectF(0, 0, width, height), PAPER_BACKGROUND if paper else SCREEN_BACKGROUND)
    try:
        target.paint_figure(painter, width, height, paper)
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


def painted_pdf(target, path: Path, width: int, height: int, paper: bool = True, title: str = "") -> None:
    """A one-page PDF the size of the figure (1 px = 0.75 pt)."""
    writer = QPdfWriter(str(path))
    writer.setTitle(title or "HPE Studio figure")
    writer.setCreator("HPE Studio")
    writer.setPageLayout(QPageLayout(QPageSize(QSizeF(width * 0.75, height * 0.75), QPageSize.Unit.Point, "figure",
                                               QPageSize.SizeMatchPolicy.ExactMatch),
                                     QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    writer.setResolution(96)
    painter = QPainter(writer)
    vp = painter.viewport()
    painter.scale(vp.width() / width, vp.height() / height)
    painter.fillRect(QRectF(0, 0, width, height), PAPER_BACKGROUND if paper else SCREEN_BACKGROUND)
    try:
        target.paint_figure(painter, width, height, paper)
    finally:
        painter.end()


def export_figure(figure: Figure, path: str | Path, width: int | None = None, height: int | None = None,
                  paper: bool = True) -> Path:
    """Write ``figure`` to ``path`` (.png, .svg or .pdf) atomically; returns the path."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown figure format {suffix or '(none)'}; valid: {', '.join(FORMATS)}")
    if suffix not in figure.formats():
        raise InputError(f"{path}: {figure.title} is a raster (3D) view; export it as .png")
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".png":
            tmp.write_bytes(png_bytes(figure_image(figure, width, height, paper)))
        elif suffix == ".svg":
            tmp.write_bytes(painted_svg(figure.painter(), *_painted_size(figure, width, height), paper, figure.title))
        else:
            painted_pdf(figure.painter(), tmp, *_painted_size(figure, width, height), paper, figure.title)
    return path
