"""Playback through a sequence of frames (dataset rows of one sequence, or a video)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal


class Playback(QObject):
    """A cursor over ``count`` frames with a play timer. Owners react to ``frame_changed``."""

    frame_changed = Signal(int)
    range_changed = Signal(int)  # count
    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.count = 0
        self.frame = 0
        self.fps = 25.0
        self.loop = True
        self._timer = QTimer(self)
        self._timer.setTimerType(self._timer.timerType().PreciseTimer)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_range(self, count: int, fps: float | None = None) -> None:
        self.count = max(int(count), 0)
        if fps:
            self.fps = float(fps)
        if self.count == 0:
            self.pause()
        self.frame = min(self.frame, max(self.count - 1, 0))
        self.range_changed.emit(self.count)

    def set_frame(self, frame: int, emit_same: bool = False) -> None:
        frame = min(max(int(frame), 0), max(self.count - 1, 0))
        if frame != self.frame or emit_same:
            self.frame = frame
            self.frame_changed.emit(frame)

    def step(self, delta: int = 1) -> None:
        if self.count == 0:
            return
        nxt = self.frame + delta
        if self.loop:
            nxt %= self.count
        self.set_frame(nxt)

    def play(self) -> None:
        if self.count > 1 and not self.playing:
            self._timer.start(max(int(1000 / self.fps), 1))
            self.playing_changed.emit(True)

    def pause(self) -> None:
        if self.playing:
            self._timer.stop()
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def _on_timer_timeout(self) -> None:
        if not self.loop and self.frame >= self.count - 1:
            self.pause()
            return
        self.step(1)
