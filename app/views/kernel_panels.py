"""Panels of the kernel inspector: the conv1 filter grid with class badges and sums, and the
detail row (image | one filter's response | its frequency response). Arrays in, clicks out."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from app.visuals.palettes import diverging_lut, sequential_lut
from app.visuals.screen_only import screen_only

CLASS_COLOURS = {"low-pass": (76, 139, 245), "high-pass": (245, 166, 35), "inverting": (179, 106, 226),
                 "mixed": (138, 143, 156), "dead": (70, 70, 70)}
BADGES = {"low-pass": "L", "high-pass": "H", "inverting": "N", "mixed": "M", "dead": "D"}
GAP = 2  # kernel pixels between tiles


def tile_layout(count: int, tile_w: int, tile_h: int, columns: int | None = None):
    """``(columns, cell_w, cell_h, origins (count, 2))``: top-left (x, y) of each tile, in
    kernel pixels; each cell leaves a band under its tile for the badge and the sum."""
    columns = columns or int(np.ceil(np.sqrt(max(count, 1))))
    band = max(3, int(np.ceil(tile_h * 0.5)), int(np.ceil(tile_w * 0.3)))
    cell_w, cell_h = tile_w + GAP, tile_h + band
    idx = np.arange(count)
    origins = np.stack([(idx % columns) * cell_w, (idx // columns) * cell_h], axis=1).astype(np.float64)
    return columns, cell_w, cell_h, origins


def signed_tile(filter_signed: np.ndarray) -> np.ndarray:
    """(C, kh, kw) values in -1..1 -> (kh, C * kw + C - 1) with NaN between the channels."""
    c, kh, kw = filter_signed.shape
    tile = np.full((kh, c * kw + c - 1), np.nan, np.float32)
    for i in range(c):
        tile[:, i * (kw + 1): i * (kw + 1) + kw] = filter_signed[i]
    return tile


class KernelGridPanel(pg.GraphicsLayoutWidget):
    """``set_bundle(KernelBundle, mode)`` with mode "rgb" or "signed"; ``filter_clicked(i)``."""

    filter_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.title = self.addLabel("", row=0, col=0, size="10pt")
        self.box = self.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image)
        self.frames: list[QGraphicsRectItem] = []
        self.texts: list[pg.TextItem] = []
        self.highlight = QGraphicsRectItem()
        pen = QPen(QColor(255, 230, 90), 3)
        pen.setCosmetic(True)
        self.highlight.setPen(pen)
        self.highlight.setZValue(20)
        self.highlight.hide()
        self.box.addItem(self.highlight, ignoreBounds=True)
        screen_only(self.highlight)  # the picked filter is not marked in an exported figure
        self.origins = np.zeros((0, 2))
        self.tile = (0, 0)
        self.selected = -1
        self.scene().sigMouseClicked.connect(self._on_scene_clicked)

    def set_bundle(self, bundle, mode: str = "rgb", name: str = "") -> None:
        self._clear_items()
        report = bundle.report
        o, c, kh, kw = report.weights.shape
        rgb = mode == "rgb" and bundle.rgb_tiles is not None
        tile_w = kw if rgb else c * kw + c - 1
        _, cell_w, cell_h, self.origins = tile_layout(o, tile_w, kh)
        self.tile = (tile_w, kh)
        rows, cols = int(self.origins[:, 1].max() // cell_h) + 1, int(self.origins[:, 0].max() // cell_w) + 1
        if rgb:
            mosaic = np.full((rows * cell_h, cols * cell_w, 4), 0, np.uint8)
            for (x, y), t in zip(self.origins.astype(int), bundle.rgb_tiles):
                mosaic[y:y + kh, x:x + kw, :3] = t
                mosaic[y:y + kh, x:x + kw, 3] = 255
            self.image.setImage(mosaic, autoLevels=False, levels=(0, 255), lut=None)
        else:
            mosaic = np.full((rows * cell_h, cols * cell_w), np.nan, np.float32)
            for (x, y), f in zip(self.origins.astype(int), bundle.signed):
                mosaic[y:y + kh, x:x + tile_w] = signed_tile(f)
            self.image.setImage(mosaic, autoLevels=False, levels=(-1.0, 1.0), lut=diverging_lut())
        self._add_badges(report, kh, tile_w)
        counts = ", ".join(f"{v} {k}" for k, v in report.counts().items() if v)
        what = "RGB, each filter scaled to its range" if rgb else "R | G | B weights, blue &lt; 0 &lt; red"
        self.title.setText(f"conv1 {' × '.join(map(str, report.weights.shape))}{' of ' + name if name else ''}"
                           f" · {what}<br>{counts}")
        self.box.autoRange(padding=0.02)
        self.select(self.selected if 0 <= self.selected < o else -1)

    def _add_badges(self, report, kh: int, tile_w: int) -> None:
        for i, ((x, y), cls) in enumerate(zip(self.origins, report.classes)):
            colour = CLASS_COLOURS[cls]
            frame = QGraphicsRectItem(QRectF(x, y, tile_w, kh))
            pen = QPen(QColor(*colour), 2)
            pen.setCosmetic(True)
            frame.setPen(pen)
            frame.setZValue(10)
            self.box.addItem(frame, ignoreBounds=True)
            self.frames.append(frame)
            total = float(report.sums[i].sum())
            text = pg.TextItem(html=f'<span style="color: rgb{colour}; font-weight: 600">{BADGES[cls]}</span>'
                                    f'<span style="color: #9aa0ad"> {total:+.2f}</span>', anchor=(0.5, 0.0))
            text.setPos(x + tile_w / 2, y + kh + 0.1)
            self.box.addItem(text, ignoreBounds=True)
            self.texts.append(text)

    def show_none(self, text: str = "") -> None:
        """No filters: an empty grid, ``text`` in its title (why there are none)."""
        self._clear_items()
        self.image.clear()
        self.origins = np.zeros((0, 2))
        self.select(-1)
        self.title.setText(text)

    def _clear_items(self) -> None:
        for item in (*self.frames, *self.texts):
            self.box.removeItem(item)
        self.frames, self.texts = [], []

    def select(self, index: int) -> None:
        self.selected = int(index)
        if 0 <= index < len(self.origins):
            x, y = self.origins[index]
            self.highlight.setRect(QRectF(x - 0.6, y - 0.6, self.tile[0] + 1.2, self.tile[1] + 1.2))
            self.highlight.show()
        else:
            self.highlight.hide()

    def filter_at(self, x: float, y: float) -> int:
        """The filter whose cell holds the point (x, y) in kernel pixels, else -1."""
        for i, (ox, oy) in enumerate(self.origins):
            if ox - GAP / 2 <= x < ox + self.tile[0] + GAP / 2 and oy <= y < oy + self.tile[1] + GAP:
                return i
        return -1

    def _on_scene_clicked(self, event) -> None:
        if not self.box.sceneBoundingRect().contains(event.scenePos()):
            return
        p = self.box.mapSceneToView(event.scenePos())
        index = self.filter_at(p.x(), p.y())
        if index >= 0:
            self.select(index)
            self.filter_clicked.emit(index)


class FilterDetailPanel(pg.GraphicsLayoutWidget):
    """Image | the filter's response to it | the filter's frequency response, with a caption."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.titles, self.boxes, self.images = [], [], []
        for col, title in enumerate(("image", "filter response", "|FFT| of the filter")):
            self.titles.append(self.addLabel(title, row=0, col=col, size="9pt"))
            box = self.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMenu=False)
            image = pg.ImageItem(axisOrder="row-major")
            box.addItem(image)
            self.boxes.append(box)
            self.images.append(image)
        self.caption = self.addLabel("", row=2, col=0, colspan=3, size="9pt")

    def set_image(self, image: np.ndarray | None) -> None:
        if image is None:
            self.images[0].clear()
        else:
            self.images[0].setImage(np.asarray(image), autoLevels=False, levels=(0, 255))
            self.boxes[0].autoRange(padding=0.0)

    def set_filter(self, index: int, entry: dict, response: np.ndarray | None, frequency: np.ndarray) -> None:
        """``entry``: ``KernelReport.entries()[index]``; ``response`` (H, W); ``frequency`` (32, 32)."""
        if response is None:
            self.images[1].clear()
        else:  # grey over its own range, as the seed's figures: a blur, edges, or a negative
            lo, hi = float(np.nanmin(response)), float(np.nanmax(response))
            self.images[1].setImage(response, autoLevels=False, levels=(lo, hi if hi > lo else lo + 1.0), lut=None)
            self.boxes[1].autoRange(padding=0.0)
        self.images[2].setImage(frequency, autoLevels=False, levels=(0.0, float(frequency.max()) or 1.0),
                                lut=sequential_lut())
        self.boxes[2].autoRange(padding=0.0)
        self.titles[1].setText(f"filter {index} response")
        s = entry["sums"]
        sums = " ".join(f"{k}={v:+.4f}" for k, v in s.items() if k != "total")
        colour = "rgb({}, {}, {})".format(*CLASS_COLOURS[entry["class"]])
        self.caption.setText(f'filter {index} · <b style="color: {colour}">{entry["class"]}</b> · sum '
                             f'{s["total"]:+.4f}<br>({sums})<br>|sum| / max|FFT| = {entry["dc_ratio"]:.3f}')

    def clear_filter(self) -> None:
        self.images[1].clear()
        self.images[2].clear()
        self.caption.setText("")
