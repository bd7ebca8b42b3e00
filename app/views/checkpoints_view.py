"""Open checkpoints: pick the active one (its predictions are shown), see what is inside."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from app.model.catalog import checkpoint_label
from app.visuals.binding import bind

if TYPE_CHECKING:
    from app.workspace import Workspace


def describe(loaded) -> str:
    """A few lines about a loaded checkpoint, from its ``CheckpointInfo`` when it has one."""
    if getattr(loaded, "kind", "") == "predictions":
        return loaded.describe()
    model = loaded.model
    info = loaded.info.to_dict() if hasattr(loaded.info, "to_dict") else {}
    lines = [f"<b>{loaded.path.name}</b>",
             f"{getattr(model, 'family', info.get('family', '?'))} · "
             f"{getattr(model, 'backbone_name', info.get('backbone', '?'))}"]
    if loaded.has_pose_head:
        lines.append(f"pose head: {model.num_joints} joints ({model.skeleton})")
        if loaded.rotation_free:
            lines.append("rotation-aligned loss: shown aligned, ranked by PA-MPJPE")
    else:
        lines.append("no pose head (encoder only)")
    params = info.get("parameters")
    if params:
        lines.append(f"{params / 1e6:.2f} M parameters")
    training = info.get("training") or {}
    for key in ("epochs", "epoch", "dataset"):
        if key in training:
            lines.append(f"{key}: {training[key]}")
    lines.append(f"device: {loaded.device}")
    return "<br>".join(lines)


class CheckpointsView(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.catalog = workspace, workspace.catalog
        self.list = QListWidget()
        self.details = QLabel("No checkpoint open")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        self.close_button.clicked.connect(self._on_close_clicked)
        bind(self.catalog.checkpoints_changed, self._refresh, self)
        bind(self.catalog.active_checkpoint_changed, self._on_catalog_active_changed, self)
        self.list.viewport().setAcceptDrops(True)  # checkpoints and predictions files dropped here
        self.list.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if watched is self.list.viewport() and kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            if not event.mimeData().hasUrls():
                return False
            event.acceptProposedAction()
            if kind == QEvent.Type.Drop:  # opened once the drop is over (a foreign file asks its units)
                paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
                QTimer.singleShot(0, lambda: self._open_dropped(paths))
            return True
        return super().eventFilter(watched, event)

    def _open_dropped(self, paths: list[str]) -> None:
        from app.views.open_predictions import open_as_model

        for path in paths:
            open_as_model(self, self.workspace, path)

    def _on_catalog_active_changed(self, _loaded) -> None:
        self._refresh()

    def _refresh(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for key, loaded in self.catalog.checkpoints.items():
            label = checkpoint_label(loaded.path, self.catalog.checkpoints)  # a run's best.pt: <run>/best.pt
            item = QListWidgetItem(("● " if key == self.catalog.active_key else "   ") + label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(key)
            self.list.addItem(item)
            if key == self.catalog.active_key:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        active = self.catalog.checkpoint
        self.details.setText(describe(active) if active is not None else "No checkpoint open")
        self.close_button.setEnabled(active is not None)

    def _on_list_current_changed(self, item, _previous) -> None:
        if item is not None:
            self.workspace.set_active_checkpoint(item.data(Qt.ItemDataRole.UserRole), explain=True)

    def _on_close_clicked(self) -> None:
        if self.catalog.active_key:
            self.workspace.close_checkpoint(self.catalog.active_key)
