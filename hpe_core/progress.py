"""Progress sinks shared by the CLI, the tests and the GUI.

Long work is a plain function ``run(spec, progress) -> result``. ``progress`` is any object
with the four methods of :class:`ProgressSink`; cancelling raises :class:`Cancelled` at the
next check.
"""

from __future__ import annotations

from contextlib import contextmanager

import sys
import time
from typing import Any, Protocol, runtime_checkable


class Cancelled(Exception):
    """Raised inside long work when its progress sink says it was cancelled."""


@runtime_checkable
class ProgressSink(Protocol):
    def set_progress(self, fraction: float) -> None: ...  # 0..1

    def set_status(self, text: str) -> None: ...

    def partial(self, result: Any) -> None: ...  # an intermediate result worth showing

    def cancelled(self) -> bool: ...


class NullProgress:
    """Ignores everything; never cancelled."""

    def set_progress(self, fraction: float) -> None:
        pass

    def set_status(self, text: str) -> None:
        pass

    def partial(self, result: Any) -> None:
        pass

    def cancelled(self) -> bool:
        return False


class RecordingProgress:
    """Keeps every call, for tests; can cancel after a number of progress updates."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.fractions: list[float] = []
        self.statuses: list[str] = []
        self.partials: list[Any] = []
        self.cancel_after = cancel_after

    def set_progress(self, fraction: float) -> None:
        self.fractions.append(float(fraction))

    def set_status(self, text: str) -> None:
        self.statuses.append(text)

    def partial(self, result: Any) -> None:
        self.partials.append(result)

    def cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.fractions) >= self.cancel_after


class TerminalProgress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str = "", stream=None, min_interval: float = 0.1) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = min_interval
        self._last = 0.0
        self._status = ""
        self._fraction = 0.0
        self._start = time.monotonic()

    def set_progress(self, fraction: float) -> None:
        self._fraction = min(max(float(fraction), 0.0), 1.0)
        self._draw()

    def set_status(self, text: str) -> None:
        self._status = text
        self._draw(force=True)

    def partial(self, result: Any) -> None:
        pass

    def cancelled(self) -> bool:
        return False

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.min_interval and self._fraction < 1.0:
            return
        self._last = now
        width = 30
        filled = int(round(self._fraction * width))
        elapsed = now - self._start
        eta = ""
        if 0.0 < self._fraction < 1.0:
            eta = f" ETA {elapsed * (1 - self._fraction) / self._fraction:5.0f}s"
        bar = "#" * filled + "-" * (width - filled)
        line = f"\r{self.label} [{bar}] {self._fraction * 100:5.1f}%{eta} {self._status}"
        self.stream.write(line[:120].ljust(120))
        self.stream.flush()


def stage(progress: ProgressSink, start: float, stop: float) -> "StageProgress":
    """A sink that maps 0..1 of a sub-step onto ``start..stop`` of ``progress``."""
    return StageProgress(progress, start, stop)


class StageProgress:
    def __init__(self, parent: ProgressSink, start: float, stop: float) -> None:
        self.parent, self.start, self.stop = parent, start, stop

    def set_progress(self, fraction: float) -> None:
        self.parent.set_progress(self.start + (self.stop - self.start) * float(fraction))

    def set_status(self, text: str) -> None:
        self.parent.set_status(text)

    def partial(self, result: Any) -> None:
        self.parent.partial(result)

    def cancelled(self) -> bool:
        return self.parent.cancelled()


def check_cancelled(progress: ProgressSink) -> None:
    """Raise :class:`Cancelled` when ``progress`` says so."""
    if progress.cancelled():
        raise Cancelled()


@contextmanager
def terminal_progress(label: str, stream=None, enabled: bool = True):
    """The CLI's progress: a :class:`TerminalProgress` whose line is finished when the block ends,
    also on an error; ``enabled=False`` (e.g. a non-main DDP rank) yields a :class:`NullProgress`."""
    bar = TerminalProgress(label, stream) if enabled else NullProgress()
    try:
        yield bar
    finally:
        if enabled:
            bar.close()
