"""Play/pause and a slider over the :class:`~app.playback.Playback` cursor (a sequence of the
dataset, or a video's frames)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from app.playback import Playback


class TimelineView(QWidget):
    def __init__(self, playback: Playback, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.playback = playback
        self.play = QToolButton(toolTip="Play / pause (Space)")  # an icon: no glyph the font may lack
        self.play.setAutoRaise(True)
        self.play.setAccessibleName("Play")
        self._on_playback_playing_changed(False)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Frame of the sequence or video (, and . step)")
        self.label = QLabel("0 / 0")
        self.label.setMinimumWidth(90)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.play)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.play.clicked.connect(self.playback.toggle)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.playback.range_changed.connect(self._on_playback_range_changed)
        self.playback.frame_changed.connect(self._on_playback_frame_changed)
        self.playback.playing_changed.connect(self._on_playback_playing_changed)
        self._on_playback_range_changed(self.playback.count)

    def _on_slider_value_changed(self, value: int) -> None:
        if value != self.playback.frame:
            self.playback.set_frame(value)

    def _on_playback_range_changed(self, count: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(count - 1, 0))
        self.slider.setValue(self.playback.frame)
        self.slider.blockSignals(False)
        self.setEnabled(count > 1)
        self._on_playback_frame_changed(self.playback.frame)

    def _on_playback_frame_changed(self, frame: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        self.label.setText(f"{frame + 1} / {self.playback.count}")

    def _on_playback_playing_changed(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play.setIcon(self.style().standardIcon(icon))
        self.play.setAccessibleName("Pause" if playing else "Play")
