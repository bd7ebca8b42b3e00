"""``HoverCard``: a small floating card with a sample's thumbnail, its pose and a few numbers.

Thumbnails come from the shell's :class:`~app.workers.thumbnails.ThumbnailLoader` (cached,
loaded in a worker); the card redraws when the image arrives. The pose is the sample's 3D
ground truth seen from its camera (orthographic x, y), drawn with the shared skeleton painter.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout

from app.model.sample_data import sample_title
from app.views.overlay import GT_STYLE, draw_skeleton

THUMB = 150
POSE_BOX = (110, 150)


def pose_pixmap(joints_3d: np.ndarray | None, skeleton, box=POSE_BOX) -> QPixmap:
    """A transparent pixmap of ``joints_3d`` (J, 3) projected orthographically, fitted in ``box``."""
    pix = QPixmap(*box)
    pix.fill(Qt.GlobalColor.transparent)
    if joints_3d is None:
        return pix
    xy = np.asarray(joints_3d, np.float64)[:, :2]
    ok = np.isfinite(xy).all(axis=1)
    if ok.sum() < 2:
        return pix
    lo, hi = xy[ok].min(axis=0), xy[ok].max(axis=0)
    scale = 0.85 * min(box[0] / max(hi[0] - lo[0], 1e-6), box[1] / max(hi[1] - lo[1], 1e-6))
    centre = (lo + hi) / 2
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def to_widget(x, y):
        return QPointF((x - centre[0]) * scale + box[0] / 2, (y - centre[1]) * scale + box[1] / 2)

    draw_skeleton(painter, xy, skeleton, to_widget, {**GT_STYLE, "width": 2.0, "radius": 2.5})
    painter.end()
    return pix


class HoverCard(QFrame):
    """``show_sample(dataset, index, lines, global_pos)``; hides with ``hide()``."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.ToolTip)
        self.setObjectName("hoverCard")
        self.setStyleSheet("#hoverCard { background: #2b2f38; border: 1px solid #5a6070; border-radius: 4px; }"
                           " QLabel { color: #e6e8ee; }")
        self.image = QLabel()
        self.image.setFixedSize(THUMB, THUMB)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pose = QLabel()
        self.pose.setFixedSize(*POSE_BOX)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        row.addWidget(self.image)
        row.addWidget(self.pose)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row)
        layout.addWidget(self.text)
        self.loader = None
        self.dataset = None
        self.index = -1

    def set_dataset(self, dataset) -> None:
        """Use ``dataset``'s images (a new thumbnail loader; the old one is closed)."""
        if dataset is self.dataset:
            return
        self.close_loader()
        self.dataset = dataset
        if dataset is not None:
            from app.workers.thumbnails import ThumbnailLoader

            self.loader = ThumbnailLoader(dataset, THUMB, capacity=500, parent=self)
            self.loader.thumbnail_ready.connect(self._on_loader_thumbnail_ready)

    def show_sample(self, index: int, lines: list[str], global_pos: QPoint | None = None) -> None:
        ds = self.dataset
        if ds is None or not 0 <= index < len(ds):
            self.hide()
            return
        self.index = int(index)
        joints = None if ds.joints_3d is None else np.asarray(ds.joints_3d[index])
        self.pose.setPixmap(pose_pixmap(joints, ds.skeleton))
        self.text.setText("<br>".join([f"<b>{sample_title(ds, index)}</b>", *lines]))
        self._set_thumbnail(self.loader.request(index) if self.loader else None)
        self.adjustSize()
        if global_pos is not None:
            self.move(global_pos + QPoint(18, 18))
        self.show()
        self.raise_()

    def _set_thumbnail(self, image: QImage | None) -> None:
        if image is None:
            pix = QPixmap(THUMB, THUMB)
            pix.fill(QColor(40, 43, 50))
            self.image.setPixmap(pix)
        else:
            self.image.setPixmap(QPixmap.fromImage(image))

    def _on_loader_thumbnail_ready(self, index: int) -> None:
        if index == self.index and self.isVisible():
            self._set_thumbnail(self.loader.cache.get(index))

    def close_loader(self) -> None:
        if self.loader is not None:
            self.loader.close()
            self.loader.wait()
            self.loader.thumbnail_ready.disconnect(self._on_loader_thumbnail_ready)
            self.loader = None
