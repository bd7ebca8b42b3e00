"""Device and precision choosers for the toolbar; the device in use shows in the status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from app.model.device import PRECISIONS
from app.visuals.binding import bind

if TYPE_CHECKING:
    from app.workspace import Workspace


class DeviceView(QWidget):
    """Shows ``workspace.device``; a choice goes to ``workspace.set_device``."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.choice = workspace, workspace.device
        self.device = QComboBox(toolTip="Where models run: auto takes CUDA when present")
        self.device.addItem("auto", "auto")
        self.device.addItem("cpu", "cpu")
        self.precision = QComboBox(toolTip="Numeric precision of inference (fp32 is the exact reference)")
        for p in PRECISIONS:
            self.precision.addItem(p, p)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Device"))
        layout.addWidget(self.device)
        layout.addWidget(self.precision)
        self.device.activated.connect(self._on_activated)
        self.precision.activated.connect(self._on_activated)
        bind(self.choice.events.spec, self._on_choice_changed, self)
        bind(self.choice.events.precision, self._on_choice_changed, self)
        self.sync()

    def set_devices(self, devices: list[str], names: dict[str, str] | None = None) -> None:
        """Offer ``devices`` (found by a worker) besides ``auto``."""
        names = names or {}
        current = self.device.currentData()
        self.device.clear()
        self.device.addItem("auto", "auto")
        for d in devices:
            self.device.addItem(f"{d} ({names[d]})" if d in names else d, d)
        self.sync(current)

    def _on_choice_changed(self, _value) -> None:
        self.sync()

    def sync(self, spec: str | None = None) -> None:
        spec = spec or self.choice.spec
        i = self.device.findData(spec)
        if i < 0:
            self.device.addItem(spec, spec)
            i = self.device.count() - 1
        self.device.setCurrentIndex(i)
        self.precision.setCurrentIndex(max(self.precision.findData(self.choice.precision), 0))

    def _on_activated(self, _index: int) -> None:
        self.workspace.set_device(self.device.currentData(), self.precision.currentData())
