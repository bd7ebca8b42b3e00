"""The status bar's job indicator: what runs, how far it is, and a cancel button."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStyle, QToolButton, QWidget


class JobsView(QWidget):
    def __init__(self, tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.label = QLabel("")
        self.label.setFixedWidth(260)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.cancel = QToolButton(toolTip="Cancel running jobs (Esc)")
        self.cancel.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self.cancel.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.cancel.clicked.connect(tasks.cancel_visible)
        tasks.tasks_changed.connect(self._on_tasks_changed)
        self._watched = []
        # Repainting the status bar recomposes the OpenGL window: poll 5 times a second, not per signal.
        self._timer = QTimer(self, interval=200)
        self._timer.timeout.connect(self._update)
        self._on_tasks_changed()

    def _on_tasks_changed(self) -> None:
        self._watched = self.tasks.visible_tasks()
        if self._watched:
            self._timer.start()
        else:
            self._timer.stop()
        self._update()

    def _update(self) -> None:
        running = self._watched
        # Never hide or resize: a relayout of the window resizes the OpenGL canvas (expensive).
        self.bar.setEnabled(bool(running))
        self.cancel.setEnabled(bool(running))
        if not running:
            self.label.setText("")
            self.bar.setValue(0)
            return
        first = running[0]
        more = f" (+{len(running) - 1})" if len(running) > 1 else ""
        text = (first.status or first.name) + more
        if text != self.label.text():
            self.label.setText(text)
        value = int(1000 * min(max(first.fraction, 0.0), 1.0))
        if value != self.bar.value():
            self.bar.setValue(value)
