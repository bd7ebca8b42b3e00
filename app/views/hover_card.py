"""``HoverCard``: a small floating card with a sample's thumbnail, its pose and a few numbers.

It hides as soon as it no longer describes what the user points at: the mouse leaves the view
it was shown for, that view is hidden (another tab raised, its dock closed), the window loses
focus or the application goes to the background.

Thumbnails come from the shell's :class:`~app.workers.thumbnails.ThumbnailLoader` (cached,
loaded in a worker); the card redraws when the image arrives. The pose is the sample's 3D
ground truth seen from its camera (orthographic x, y), drawn with the shared skeleton painter.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QDockWidget, QFrame, QHBoxLayout, QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from app.model.sample_data import sample_title
from app.visuals.overlay import GT_STYLE, draw_skeleton

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


#: events of the watched view (or its window) after which the card no longer applies
HIDE_ON = (QEvent.Type.Leave, QEvent.Type.Hide, QEvent.Type.WindowDeactivate, QEvent.Type.FocusOut,
           QEvent.Type.Close, QEvent.Type.WindowStateChange)


class HoverCard(QFrame):
    """``show_sample(index, lines, global_pos)``; hides with ``hide()``, and by itself when the
    mouse leaves the parent view, the view is hidden or the window loses focus."""

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
        self._watched: list[QWidget] = []
        self._followed: set[int] = set()  # ids of the docks and tab widgets above the view, followed
        if isinstance(parent, QWidget):
            self.watch(parent)
        app = QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.connect(self._on_application_state_changed)
            app.focusWindowChanged.connect(self._on_focus_window_changed)

    def watch(self, widget: QWidget) -> None:
        """Hide when the mouse leaves ``widget`` or it is hidden (the parent view is watched
        already; a view adds the plot the card describes)."""
        widget.installEventFilter(self)
        self._watched.append(widget)

    def _follow_ancestors(self) -> None:
        """Hide when a dock or tab widget holding the view shows another tab (a tabbed dock's
        view stays "visible" to Qt while another tab covers it)."""
        w = self.parentWidget()
        while w is not None:
            if id(w) not in self._followed:
                if isinstance(w, QDockWidget):
                    w.visibilityChanged.connect(lambda visible: visible or self.hide())
                    self._followed.add(id(w))
                elif isinstance(w, (QTabWidget, QStackedWidget)):
                    w.currentChanged.connect(lambda _i: self.hide())
                    self._followed.add(id(w))
            w = w.parentWidget()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in HIDE_ON and self.isVisible():
            self.hide()
        return False

    def _on_application_state_changed(self, state) -> None:
        if state != Qt.ApplicationState.ApplicationActive:
            self.hide()

    def _on_focus_window_changed(self, window) -> None:
        owner = self.parentWidget().window().windowHandle() if self.parentWidget() is not None else None
        if window is None or (owner is not None and window is not owner and window is not self.windowHandle()):
            self.hide()

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
        host = self.parentWidget()
        if ds is None or not 0 <= index < len(ds) or (host is not None and not host.isVisible()):
            self.hide()
            return
        self._follow_ancestors()
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
