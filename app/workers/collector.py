"""Python's cycle collector runs on the GUI thread only.

CPython collects cyclic garbage in whichever thread happens to allocate past the threshold. With
the GUI's work on worker threads (a checkpoint loading, features extracted, a projection), that
is usually a worker: it then finalises whatever cycles the GUI thread left behind — closed views,
their widgets, GL contexts, timers — and so destroys Qt objects off the thread that owns them,
holding the GIL all the while. Qt is not made for that: the worker can block on a lock the GUI
thread holds while the GUI thread waits for the GIL, and both stop for good (a hang seen in CI
in Compare's tests: the GUI thread in a resize, a worker building a model, neither moving).

So, as pyqtgraph's ``GarbageCollector`` does, automatic collection is switched off while the GUI
runs and the GUI thread collects on a timer, each generation when its own threshold says so::

    collector = MainThreadCollector(parent=app)
    collector.start()       # gc.disable(); collect on the GUI thread every second
    ...
    collector.stop()        # automatic collection as before
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class MainThreadCollector(QObject):
    """Collect cyclic garbage on the thread this object lives on (the GUI thread), on a timer."""

    def __init__(self, interval_ms: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self.check)

    def start(self) -> "MainThreadCollector":
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def active(self) -> bool:
        return self._timer.isActive()

    def check(self) -> int:
        """Collect the oldest generation whose count is past its threshold (and the younger ones,
        as ``gc.collect(n)`` does); the number of unreachable objects found."""
        counts = gc.get_count()
        generation = -1
        for gen in range(3):
            if counts[gen] > self.thresholds[gen]:
                generation = gen
            else:
                break
        return gc.collect(generation) if generation >= 0 else 0
