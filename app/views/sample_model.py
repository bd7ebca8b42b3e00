"""The browser's list model: one row per listed dataset sample, thumbnails fetched lazily."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from app.model.sample_data import sample_title
from app.workers.thumbnails import ThumbnailLoader

IndexRole = Qt.ItemDataRole.UserRole + 1
ErrorRole = Qt.ItemDataRole.UserRole + 2
THUMB = 96


class SampleListModel(QAbstractListModel):
    """Rows are ``workspace.rows`` (dataset indices, filtered and sorted by the workspace)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.dataset = None
        self.rows = np.zeros(0, dtype=np.int64)
        self.error: np.ndarray | None = None
        self.loader: ThumbnailLoader | None = None
        self.retired: list[ThumbnailLoader] = []  # closed loaders whose last batch may still run
        self._row_of = np.zeros(0, dtype=np.int64)

    def set_dataset(self, dataset) -> None:
        if self.loader is not None:
            self.loader.close()  # its running batch ends on its own; nothing new starts
            self.loader.thumbnail_ready.disconnect(self._on_loader_thumbnail_ready)
            self.retired = [ld for ld in self.retired if ld._task is not None] + [self.loader]
        self.dataset = dataset
        self.loader = None if dataset is None else ThumbnailLoader(dataset, THUMB, parent=self)
        if self.loader is not None:
            self.loader.thumbnail_ready.connect(self._on_loader_thumbnail_ready)

    def set_rows(self, rows: np.ndarray, error: np.ndarray | None) -> None:
        self.beginResetModel()
        self.rows = np.asarray(rows, dtype=np.int64)
        self.error = error
        n = max(0 if self.dataset is None else len(self.dataset), int(self.rows.max(initial=-1)) + 1)
        self._row_of = np.full(n, -1, dtype=np.int64)
        self._row_of[self.rows] = np.arange(len(self.rows))
        self.endResetModel()

    def errors_updated(self, error: np.ndarray | None) -> None:
        """New predictions: repaint the captions without resetting the view."""
        self.error = error
        if len(self.rows):
            self.dataChanged.emit(self.index(0), self.index(len(self.rows) - 1), [ErrorRole])

    def row_of(self, dataset_index: int) -> int:
        if 0 <= dataset_index < len(self._row_of):
            return int(self._row_of[dataset_index])
        return -1

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        i = int(self.rows[index.row()])
        if role == IndexRole:
            return i
        if role == Qt.ItemDataRole.DecorationRole:
            return None if self.loader is None else self.loader.request(i)
        if role == ErrorRole:
            e = None if self.error is None else float(self.error[i])
            return None if e is None or np.isnan(e) else e
        if role == Qt.ItemDataRole.DisplayRole:
            return f"#{i}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return sample_title(self.dataset, i)
        return None

    def _on_loader_thumbnail_ready(self, dataset_index: int) -> None:
        row = self.row_of(dataset_index)
        if row >= 0:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


def error_colour(error_mm: float) -> QColor:
    """Green under 50 mm, amber to 120 mm, red beyond."""
    t = min(max((error_mm - 50.0) / 70.0, 0.0), 1.0)
    return QColor.fromRgbF(0.30 + 0.62 * t, 0.75 - 0.45 * t, 0.35 - 0.1 * t)


class SampleDelegate(QStyledItemDelegate):
    """A thumbnail with its index and error underneath; cheap to paint for any row."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(THUMB + 12, THUMB + 28)

    def paint(self, painter: QPainter, option, index) -> None:
        r: QRect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.fillRect(r, option.palette.highlight() if selected else QColor(44, 47, 55))
        image = index.data(Qt.ItemDataRole.DecorationRole)
        box = QRect(r.left() + 3, r.top() + 3, r.width() - 6, THUMB)
        if image is not None:
            x = box.left() + (box.width() - image.width()) // 2
            y = box.top() + (box.height() - image.height()) // 2
            painter.drawImage(x, y, image)
        else:
            painter.fillRect(box, QColor(60, 64, 74))
        painter.setPen(QColor(230, 232, 236))
        text_rect = QRect(r.left() + 4, box.bottom() + 2, r.width() - 8, r.bottom() - box.bottom() - 2)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         index.data(Qt.ItemDataRole.DisplayRole))
        error = index.data(ErrorRole)
        if error is not None:
            painter.setPen(error_colour(error))
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             f"{error:.0f} mm")
        painter.restore()
