"""The status bar's job indicator: what runs, how far it is, and a cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget


class JobsView(QWidget):
    def __init__(self, tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(160)
        self.bar.setTextVisible(False)
        self.cancel = QToolButton(text="✕", toolTip="Cancel running jobs (Esc)")
        self.cancel.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.cancel.clicked.connect(tasks.cancel_visible)
        tasks.tasks_changed.connect(self._on_tasks_changed)
        self._watched = []
        self._on_tasks_changed()

    def _on_tasks_changed(self) -> None:
        for t in self._watched:
            for sig in (t.progress_changed, t.status_changed):
                try:
                    sig.disconnect(self._update)
                except (RuntimeError, TypeError):
                    pass
        self._watched = self.tasks.visible_tasks()
        for t in self._watched:
            t.progress_changed.connect(self._update)
            t.status_changed.connect(self._update)
        self._update()

    def _update(self, *_args) -> None:
        running = self._watched
        self.setVisible(bool(running))
        if not running:
            return
        first = running[0]
        more = f" (+{len(running) - 1})" if len(running) > 1 else ""
        self.label.setText((first.status or first.name) + more)
        self.bar.setValue(int(1000 * min(max(first.fraction, 0.0), 1.0)))
