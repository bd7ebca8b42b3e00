"""Figure export: PNG at a chosen resolution, SVG and PDF of pyqtgraph content, PNG of vispy canvases.

A :class:`Figure` names something a view draws. Its ``target`` is a pyqtgraph ``GraphicsView``
(``PlotWidget``, ``GraphicsLayoutWidget``: vector content), or a *painted figure*: anything with
``paint_figure(painter, width, height, paper)`` (the 2D overlay, every 3D view: drawn at exactly
the asked size, on the asked background, with its legend in a band of its own; the 3D scene
inside is rendered offscreen by :mod:`.scene3d`, so an SVG / PDF of it embeds that raster), or,
last, anything with ``render(size=(w, h)) -> (H, W, 4) uint8`` (raster only).

- PNG of a plot: the scene is rendered into an image whose device-pixel ratio is
  ``width / on-screen width``, so text, lines and points are drawn sharp at that resolution
  (not an upscaled screenshot); the height follows the on-screen aspect ratio.
- SVG: ``QSvgGenerator``; PDF: ``QPdfWriter`` with a page the size of the figure. Both vector.
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

from hpe_core.atomic import atomic_path
from hpe_core.errors import InputError

FORMATS = (".png", ".svg", ".pdf")
PAPER_BACKGROUND = QColor(255, 255, 255)
SCREEN_BACKGROUND = QColor(0x23, 0x26, 0x2D)
MAX_PIXELS = 16384


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


def _render_scene(view: pg.GraphicsView, painter: QPainter, target: QRectF, background: QColor | None) -> None:
    if background is not None:
        painter.fillRect(target, background)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    view.scene().render(painter, target, source_rect(view))


def plot_image(view: pg.GraphicsView, width: int, paper: bool = True) -> QImage:
    """A QImage ``width`` px wide of a pyqtgraph view, drawn at that resolution."""
    src = source_rect(view)
    width = int(width)
    if not 16 <= width <= MAX_PIXELS:
        raise InputError(f"width: {width} px is outside 16..{MAX_PIXELS}")
    ratio = width / src.width()
    image = QImage(width, max(int(round(src.height() * ratio)), 1), QImage.Format.Format_ARGB32)
    image.fill(PAPER_BACKGROUND if paper else SCREEN_BACKGROUND)
    image.setDevicePixelRatio(max(ratio, 1.0))  # larger: drawn sharp at that resolution
    with paper_style(view, paper):
        painter = QPainter(image)
        if ratio < 1.0:  # smaller: scaled down (a pixel ratio below 1 is not supported)
            painter.scale(ratio, ratio)
        _render_scene(view, painter, QRectF(0, 0, src.width(), src.height()), None)
        painter.end()
    image.setDevicePixelRatio(1.0)
    return image


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
    target.paint_figure(painter, width, height, paper)
    painter.end()
    return image


def _painted_size(figure: Figure, width: int | None, height: int | None) -> tuple[int, int]:
    sw, sh = figure.screen_size()
    if width and not height:
        height = int(round(width * sh / sw))
    return int(width or 2 * sw), int(height or 2 * sh)


def figure_image(figure: Figure, width: int | None = None, height: int | None = None, paper: bool = True) -> QImage:
    sw, sh = figure.screen_size()
    if figure.painted:
        return painted_image(figure.target, *_painted_size(figure, width, height), paper)
    if figure.vector:
        return plot_image(figure.target, width or 2 * sw, paper)
    if width and not height:
        height = int(round(width * sh / sw))
    return canvas_image(figure.target, width or 2 * sw, height or 2 * sh)


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
    gen.setViewBox(QRectF(0, 0, width, height))
    gen.setTitle(title or "HPE Studio figure")
    gen.setDescription("Made with HPE Studio")
    painter = QPainter(gen)
    painter.fillRect(QRectF(0, 0, width, height), PAPER_BACKGROUND if paper else SCREEN_BACKGROUND)
    target.paint_figure(painter, width, height, paper)
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
    target.paint_figure(painter, width, height, paper)
    painter.end()


def svg_bytes(view: pg.GraphicsView, paper: bool = True, title: str = "") -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    src = source_rect(view)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(src.size().toSize())
    gen.setViewBox(QRectF(0, 0, src.width(), src.height()))
    gen.setTitle(title or "HPE Studio figure")
    gen.setDescription("Made with HPE Studio")
    with paper_style(view, paper):
        painter = QPainter(gen)
        _render_scene(view, painter, QRectF(0, 0, src.width(), src.height()),
                      PAPER_BACKGROUND if paper else SCREEN_BACKGROUND)
        painter.end()
    buf.close()
    return bytes(data.data())


def write_pdf(view: pg.GraphicsView, path: Path, paper: bool = True, title: str = "") -> None:
    """A one-page vector PDF the size of the figure (1 screen px = 0.75 pt)."""
    src = source_rect(view)
    writer = QPdfWriter(str(path))
    writer.setTitle(title or "HPE Studio figure")
    writer.setCreator("HPE Studio")
    writer.setPageLayout(QPageLayout(QPageSize(QSizeF(src.width() * 0.75, src.height() * 0.75),
                                               QPageSize.Unit.Point, "figure", QPageSize.SizeMatchPolicy.ExactMatch),
                                     QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    writer.setResolution(96)
    with paper_style(view, paper):
        painter = QPainter(writer)
        _render_scene(view, painter, QRectF(painter.viewport()), PAPER_BACKGROUND if paper else SCREEN_BACKGROUND)
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
        if figure.painted and suffix != ".png":
            w, h = _painted_size(figure, width, height)
            if suffix == ".svg":
                tmp.write_bytes(painted_svg(figure.target, w, h, paper, figure.title))
            else:
                painted_pdf(figure.target, tmp, w, h, paper, figure.title)
        elif suffix == ".png":
            tmp.write_bytes(png_bytes(figure_image(figure, width, height, paper)))
        elif suffix == ".svg":
            tmp.write_bytes(svg_bytes(figure.target, paper, figure.title))
        else:
            write_pdf(figure.target, tmp, paper, figure.title)
    return path
