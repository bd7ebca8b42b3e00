"""The video panel: a video is a dataset of its frames (browser, timeline, filters and playback
apply); here it says what the open video is, how far its prediction got, and exports it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from app.model import messages
from app.visuals.binding import bind
from app.workers.jobs import save_predictions
from hpe_core.datasets import VIDEO_SUFFIXES
from hpe_core.errors import InputError

if TYPE_CHECKING:
    from app.workspace import Workspace

VIDEO_FILTER = "Videos (" + " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES)) + ")"


class VideoView(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.catalog = workspace, workspace.catalog
        self.info = QLabel("No video open")
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setWordWrap(True)
        self.info.setFixedHeight(3 * self.info.fontMetrics().lineSpacing() + 6)  # no relayout on updates
        self._build_buttons()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        row = QHBoxLayout()
        for b in (self.open_button, self.run_button, self.cancel_button, self.export_button, self.boxes_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.info)
        layout.addWidget(self.boxes_note)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.cancel_button.clicked.connect(workspace.predicting.cancel)
        self.export_button.clicked.connect(self._on_export_clicked)
        self.boxes_button.clicked.connect(self._on_boxes_clicked)
        self._later = QTimer(self, singleShot=True, interval=250)  # at most 4 refreshes a second
        self._later.timeout.connect(self._refresh)
        workspace.tasks.tasks_changed.connect(self._refresh)
        bind(self.catalog.current_dataset_changed, self._on_catalog_changed, self)
        bind(self.catalog.active_checkpoint_changed, self._on_catalog_changed, self)
        bind(workspace.cache.changed, self._on_cache_changed, self)
        self._refresh()

    def _build_buttons(self) -> None:
        self.open_button = QPushButton("Open video…")
        self.run_button = QPushButton("Run", toolTip="Predict every frame with the active checkpoint")
        self.cancel_button = QPushButton("Cancel")
        self.export_button = QPushButton("Export…", toolTip="Save the predictions as .npz, .json or .csv")
        self.boxes_button = QPushButton("Person boxes…", toolTip="Crop each frame to the person boxes of a "
                                        "detections file (a COCO results JSON; image_id the frame number), as "
                                        "'hpe predict --boxes' does")
        self.boxes_note = QLabel("", objectName="boxesNote", wordWrap=True, visible=False)

    def video(self):
        """The current dataset when it is a video, else None."""
        ds = self.catalog.dataset
        return ds if ds is not None and ds.format == "video" else None

    def _on_catalog_changed(self, _item) -> None:
        self._refresh()

    def _on_cache_changed(self, _pair, _rows) -> None:
        if not self._later.isActive():
            self._later.start()

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", VIDEO_FILTER)
        if path:
            self.workspace.open_paths([path])

    def _on_run_clicked(self) -> None:
        self.workspace.predicting.start()

    def _on_boxes_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Person boxes", "", "Detections (*.json)")
        if path:
            self.workspace.open_boxes(path)

    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export predictions", "predictions.npz",
                                              "NumPy (*.npz);;JSON (*.json);;CSV (*.csv)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        ws = self.workspace
        try:
            store, loaded = ws.predictions(), self.catalog.checkpoint
            if store is None or loaded is None:
                raise InputError(messages.NOTHING_TO_EXPORT)
            out = save_predictions(store, self.catalog.dataset, loaded, path)
        except (InputError, OSError) as exc:
            ws.message.emit("error", str(exc))
            return
        ws.message.emit("info", messages.EXPORTED.format(path=out))

    def _refresh(self) -> None:
        video, store = self.video(), self.workspace.predictions()
        running = self.workspace.predicting.task is not None
        ck = self.catalog.checkpoint
        done = 0 if store is None else store.count
        self.run_button.setEnabled(video is not None and ck is not None and ck.has_pose_head and not running
                                   and (store is None or done < len(video)))
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(video is not None and done > 0 and not running)
        self.boxes_button.setEnabled(video is not None and not running)
        self._show_boxes_note(video, ck)
        if video is None:
            self.info.setText("No video open")
            self.progress.setValue(0)
            return
        width, height = video.extra.get("image_size", (0, 0))
        text = (f"<b>{video.path.name}</b><br>{len(video)} frames · {video.extra.get('fps') or 0:.1f} fps · "
                f"{width}×{height}")
        if store is not None:
            text += f"<br>{done} / {len(video)} frames predicted"
        self.progress.setValue(int(1000 * done / max(len(video), 1)))
        self.info.setText(text)

    def _show_boxes_note(self, video, loaded) -> None:
        """What an image model sees of each frame: a warning when it is the whole frame (no person
        boxes: one person per frame, of no one in particular when several are in view)."""
        from hpe_core.datasets.boxes import crop_note

        sees = video is not None and loaded is not None and loaded.has_pose_head and \
            "image" in loaded.predictor.family.inputs
        whole = sees and not video.has("boxes")
        self.boxes_note.setVisible(sees)
        self.boxes_note.setText(messages.WHOLE_FRAMES.format(model=loaded.path.name) if whole
                                else f"The model sees {crop_note(video)}" if sees else "")
        self.boxes_note.setStyleSheet("color: #f0b44c" if whole else "")
