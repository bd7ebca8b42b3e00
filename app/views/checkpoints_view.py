"""Open checkpoints: pick the active one (its predictions are shown), see what is inside and what
each can do (image → 2D, 2D → 3D, image → 3D), and choose the 2D a lifter lifts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from app.model.catalog import checkpoint_label
from app.visuals.binding import bind

if TYPE_CHECKING:
    from app.workspace import Workspace

NO_CAPABILITY = "—"  # the "Can do" column of an encoder (no pose output)
GROUND_TRUTH_2D = "ground-truth 2D"
LIFT_TIP = ("The 2D joints the active lifter lifts to 3D: the dataset's ground truth, or those an open "
            "heatmap checkpoint predicts from the image (image → 2D → 3D)")


def can_do(loaded) -> str:
    """``"image → 2D · image → 3D"``: what the checkpoint can do, from its family (hpe_core)."""
    return " · ".join(loaded.capabilities) or NO_CAPABILITY


def describe(loaded) -> str:
    """A few short lines about a loaded checkpoint, from its ``CheckpointInfo`` when it has one:
    name, family and backbone (a model without one, a lifter, says what it does instead), what it
    can do and its pose head, then its size, training and device."""
    if getattr(loaded, "kind", "") == "predictions":
        return loaded.describe()
    model = loaded.model
    info = loaded.info.to_dict() if hasattr(loaded.info, "to_dict") else {}
    backbone = getattr(model, "backbone_name", None) or info.get("backbone")
    lines = [f"<b>{loaded.path.name}</b> · {getattr(model, 'family', info.get('family', '?'))} · "
             f"{backbone or can_do(loaded)}"]
    if loaded.has_pose_head:
        lines.append(f"can do: {can_do(loaded)} · pose head: {model.num_joints} joints ({model.skeleton})")
        if loaded.rotation_free:
            lines.append("rotation-aligned loss: shown aligned, ranked by PA-MPJPE")
    else:
        lines.append(f"can do: {can_do(loaded)} · no pose head (encoder only)")
    facts = []
    params = info.get("parameters")
    if params:
        facts.append(f"{params / 1e6:.2f} M parameters")
    training = info.get("training") or {}
    facts += [f"{key}: {training[key]}" for key in ("epochs", "epoch", "dataset") if key in training]
    facts.append(f"device: {loaded.device}")
    lines.append(" · ".join(facts))
    return "<br>".join(lines)


class CheckpointsView(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.catalog = workspace, workspace.catalog
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Checkpoint", "Can do"])
        self.list.setRootIsDecorated(False)
        self.list.header().setStretchLastSection(True)
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.details = QLabel("No checkpoint open")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.lift_label = QLabel("Lift 2D from")
        self.lift_from = QComboBox(toolTip=LIFT_TIP)
        self.lift_from.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.lift_from.setMinimumContentsLength(8)  # long file names never widen the panel
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.lift_label)
        buttons.addWidget(self.lift_from, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        self.lift_from.activated.connect(self._on_lift_from_activated)
        self.close_button.clicked.connect(self._on_close_clicked)
        bind(self.catalog.checkpoints_changed, self._refresh, self)
        bind(self.catalog.active_checkpoint_changed, self._on_catalog_active_changed, self)
        bind(workspace.lift.events.key, self._on_lift_key_changed, self)
        self.list.viewport().setAcceptDrops(True)  # checkpoints and predictions files dropped here
        self.list.viewport().installEventFilter(self)
        self._refresh()

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

    def _on_lift_key_changed(self, _key) -> None:
        self._refresh()

    def _refresh(self) -> None:
        """Show the catalog: the rows are updated in place while the same checkpoints are listed
        (a click that makes one active never rebuilds the list under the mouse, so the second
        click of a double-click lands on the same row and the scroll position stays)."""
        keys = list(self.catalog.checkpoints)
        listed = [self.list.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
                  for i in range(self.list.topLevelItemCount())]
        self.list.blockSignals(True)
        if listed != keys:
            scrolled = self.list.verticalScrollBar().value()
            self.list.clear()
            for key in keys:
                item = QTreeWidgetItem(["", ""])
                item.setData(0, Qt.ItemDataRole.UserRole, key)
                self.list.addTopLevelItem(item)
            self.list.verticalScrollBar().setValue(scrolled)
        for i, key in enumerate(keys):
            self._show_row(self.list.topLevelItem(i), key, self.catalog.checkpoints[key])
        self.list.blockSignals(False)
        active = self.catalog.checkpoint
        self.details.setText(describe(active) if active is not None else "No checkpoint open")
        self.close_button.setEnabled(active is not None)
        self._refresh_lift_from(active)

    def _show_row(self, item: QTreeWidgetItem, key: str, loaded) -> None:
        label = checkpoint_label(loaded.path, self.catalog.checkpoints)  # a run's best.pt: <run>/best.pt
        item.setText(0, ("● " if key == self.catalog.active_key else "   ") + label)
        item.setText(1, can_do(loaded))
        item.setToolTip(0, key)
        item.setToolTip(1, f"{label} can do: {can_do(loaded)}")
        if key == self.catalog.active_key and self.list.currentItem() is not item:
            self.list.setCurrentItem(item)

    def _refresh_lift_from(self, active) -> None:
        """Ground truth plus every open checkpoint that predicts 2D from images; shown for a lifter."""
        self.lift_from.blockSignals(True)
        self.lift_from.clear()
        self.lift_from.addItem(GROUND_TRUTH_2D, "")
        for key, loaded in self.catalog.checkpoints.items():
            if loaded.makes_heatmaps and key != self.catalog.active_key:
                self.lift_from.addItem(f"{loaded.path.name} (image → 2D)", key)
        self.lift_from.setCurrentIndex(max(self.lift_from.findData(self.workspace.lift.key or ""), 0))
        self.lift_from.blockSignals(False)
        lifts = active is not None and active.lifts
        self.lift_from.setVisible(lifts)
        self.lift_label.setVisible(lifts)

    def _on_list_current_changed(self, item, _previous) -> None:
        if item is not None:
            self.workspace.set_active_checkpoint(item.data(0, Qt.ItemDataRole.UserRole), explain=True)

    def _on_lift_from_activated(self, _index: int) -> None:
        self.workspace.set_lift_source(self.lift_from.currentData() or None)

    def _on_close_clicked(self) -> None:
        if self.catalog.active_key:
            self.workspace.close_checkpoint(self.catalog.active_key)
