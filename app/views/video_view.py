"""Video controls: open a video, run the active checkpoint on it in a worker, export."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from app.visuals.binding import bind
from app.workers.jobs import VIDEO_SUFFIXES

VIDEO_FILTER = "Videos (" + " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES)) + ")"


class VideoView(QWidget):
    def __init__(self, workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.info = QLabel("No video open")
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setWordWrap(True)
        self.info.setFixedHeight(3 * self.info.fontMetrics().lineSpacing() + 6)  # no relayout on updates
        self.open_button = QPushButton("Open video…")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Predict every frame with the active checkpoint")
        self.cancel_button = QPushButton("Cancel")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the predictions as .npz, .json or .csv")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        row = QHBoxLayout()
        for b in (self.open_button, self.run_button, self.cancel_button, self.export_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.info)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.cancel_button.clicked.connect(workspace.video.cancel)
        self.export_button.clicked.connect(self._on_export_clicked)
        workspace.video.video_changed.connect(lambda _i: self._refresh())
        workspace.video.running_changed.connect(lambda _r: self._refresh())
        self._later = QTimer(self, singleShot=True, interval=250)  # at most 4 refreshes a second
        self._later.timeout.connect(self._refresh)
        workspace.video.predictions_changed.connect(lambda _f: self._later.isActive() or self._later.start())
        bind(workspace.catalog.active_checkpoint_changed, self._on_active_checkpoint_changed, self)
        self._refresh()

    def _on_active_checkpoint_changed(self, _loaded) -> None:
        self._refresh()

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", VIDEO_FILTER)
        if path:
            self.workspace.open_video(path)

    def _on_run_clicked(self) -> None:
        self.workspace.run_video()

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", "predictions.npz",
                                              "NumPy (*.npz);;JSON (*.json);;CSV (*.csv)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        from app.model import messages
        from hpe_core.errors import InputError

        try:
            out = self.workspace.video.export(path)
        except (InputError, OSError) as exc:
            self.workspace.message.emit("error", str(exc))
            return
        self.workspace.message.emit("info", messages.EXPORTED.format(path=out))

    def _refresh(self) -> None:
        v = self.workspace.video
        has_video = v.info is not None
        ck = self.workspace.catalog.checkpoint
        can_run = has_video and ck is not None and ck.has_pose_head
        self.run_button.setEnabled(can_run and not v.running)
        self.cancel_button.setEnabled(v.running)
        done = v.frames_done()
        self.export_button.setEnabled(done > 0 and not v.running)
        if not has_video:
            self.info.setText("No video open")
            return
        i = v.info
        text = f"<b>{i.path.name}</b><br>{i.frames} frames · {i.fps:.1f} fps · {i.width}×{i.height}"
        if v.joints is not None:
            text += f"<br>{done} / {i.frames} frames predicted"
        self.progress.setValue(int(1000 * done / max(i.frames, 1)))
        if v.running and not self._later.isActive():
            self._later.start()
        self.info.setText(text)
