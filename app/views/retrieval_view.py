"""``RetrievalView``: cross-modal retrieval for one picked sample of a UniHPE shared space — the
2D and 3D poses nearest (cosine) to its image embedding across the dataset, with names and
similarities, and the best 3D match drawn beside the sample's own 3D pose.

Model-free: it shows the lists and poses it is given (computed by :mod:`hpe_core.studies.unihpe_space`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.model import messages as msg
from app.views.compare_panels import PosePairView

KINDS = {"pose2d": "2D", "pose3d": "3D"}


class RetrievalView(QWidget):
    """``show_hits(title, {"pose2d": [(name, index, cosine)], "pose3d": [...]}, own)``;
    ``show_poses(skeleton, own (J, 3), best (J, 3), names)``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(msg.RETRIEVAL_PICK)
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["pose", "rank", "sample", "cosine"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.poses = None  # the PosePairView, made when first needed (an OpenGL canvas)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.table, 1)
        self.hits: dict[str, list[tuple[str, int, float]]] = {}

    def clear(self, text: str = msg.RETRIEVAL_PICK) -> None:
        self.title.setText(text)
        self.table.setRowCount(0)
        self.hits = {}
        if self.poses is not None:
            self.poses.set_poses_none()

    def show_hits(self, title: str, hits: dict[str, list[tuple[str, int, float]]], own: int,
                  same_pose: frozenset[int] = frozenset()) -> None:
        """Rows per target modality, best first; the sample's own pose is marked, and so are the
        samples of the same physical pose seen by another camera (``same_pose``)."""
        self.title.setText(title)
        self.hits = {k: list(v) for k, v in hits.items()}
        rows = [(kind, rank, *hit) for kind in KINDS if kind in hits for rank, hit in enumerate(hits[kind], 1)]
        self.table.setRowCount(len(rows))
        for r, (kind, rank, name, index, cosine) in enumerate(rows):
            note = msg.RETRIEVAL_OWN if index == own else msg.RETRIEVAL_SAME_POSE if index in same_pose else ""
            cells = [QTableWidgetItem(KINDS[kind]), QTableWidgetItem(str(rank)), QTableWidgetItem(name + note),
                     QTableWidgetItem(f"{cosine:.3f}")]
            for c, cell in enumerate(cells):
                if note:
                    cell.setForeground(QColor(120, 220, 140) if index == own else QColor(150, 200, 240))
                self.table.setItem(r, c, cell)
        self.table.resizeColumnsToContents()

    def show_poses(self, skeleton, own: np.ndarray | None, best: np.ndarray | None, names: dict[str, str]) -> None:
        """The sample's own 3D pose and the best 3D match (root-relative mm), side by side."""
        view = self._pose_view()
        view.set_poses(skeleton, {"gt": own, "a": best}, names)

    def _pose_view(self):
        if self.poses is None:
            self.poses = _Poses()
            self.poses.setMinimumHeight(220)
            self.poses.legend.setStyleSheet("background: #1c1f26; padding: 2px;")
            self._layout.addWidget(self.poses, 2)
        return self.poses


class _Poses(PosePairView):
    """A :class:`PosePairView` that can also be emptied."""

    def set_poses_none(self) -> None:
        for visual in self.skeletons.values():
            visual.clear()
        self.legend.setText("")
        self.canvas.update()
