"""The one thread adapter: turns ``fn(progress)`` into a worker with queued signals.

``Task(fn, name=...)`` runs ``fn(progress)`` on its own ``QThread``. ``progress`` is a
:class:`hpe_core.progress.ProgressSink`; its calls become queued signals delivered on the GUI
thread. Exactly one of ``done(result)``, ``failed(exc)`` or ``cancelled()`` is emitted, then
``finished()``; after that the task keeps neither its function nor its result (they travel by
signal), and its owner deletes it (``deleteLater``). ``cancel()`` makes ``progress.cancelled()`` true, so the work stops at its next
check by raising :class:`hpe_core.progress.Cancelled`.
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from hpe_core.progress import Cancelled


class _Sink:
    """The progress sink handed to the work; throttles progress to ~30 updates a second."""

    def __init__(self, task: "Task") -> None:
        self._task = task
        self._last = 0.0

    def set_progress(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last >= 0.033 or fraction >= 1.0:
            self._last = now
            self._task.progress_changed.emit(float(fraction))

    def set_status(self, text: str) -> None:
        self._task.status_changed.emit(str(text))

    def partial(self, result: Any) -> None:
        self._task.partial.emit(result)

    def cancelled(self) -> bool:
        return self._task._cancel_event.is_set()


def _lower_thread_priority(niceness: int = 5) -> None:
    """Make the calling worker thread (and the threads it starts) yield to the GUI thread.

    Linux keeps a nice value per thread; raising it needs no privilege. Elsewhere a no-op.
    """
    import os

    if hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
        try:
            current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(current + niceness, 19))
        except OSError:
            pass


class _Thread(QThread):
    def __init__(self, task: "Task") -> None:
        super().__init__()
        self._task = task

    def run(self) -> None:  # worker thread
        self._task._execute()


class Task(QObject):
    """Run ``fn(progress)`` in a thread; signals arrive queued on the GUI thread."""

    progress_changed = Signal(float)
    status_changed = Signal(str)
    partial = Signal(object)
    done = Signal(object)
    failed = Signal(object)  # the exception; ``exc.__traceback_text__`` holds the traceback
    cancelled = Signal()
    finished = Signal()

    def __init__(self, fn: Callable[[Any], Any], name: str = "task", parent: QObject | None = None, *,
                 report_errors: bool = True, hidden: bool = False) -> None:
        """``report_errors``: a failure also goes to the owner's global message (False when the
        caller shows it itself); ``hidden``: not listed to the user (e.g. thumbnail loading)."""
        super().__init__(parent)
        self.fn: Callable[[Any], Any] | None = fn
        self.name = name
        self.report_errors = report_errors
        self.hidden = hidden
        self.fraction = 0.0
        self.status = ""
        self.error: BaseException | None = None
        self._cancel_event = threading.Event()
        self._thread: _Thread | None = None
        self._state = "new"  # new → running → done | failed | cancelled
        self.progress_changed.connect(self._remember_progress)
        self.status_changed.connect(self._remember_status)

    # ------------------------------------------------------------------ control
    def start(self) -> "Task":
        if self._state != "new":
            raise RuntimeError(f"task {self.name} was already started")
        self._state = "running"
        self._thread = _Thread(self)
        self._thread.finished.connect(self._on_thread_finished)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the work to stop at its next progress check."""
        self._cancel_event.set()

    def is_running(self) -> bool:
        return self._state == "running"

    @property
    def state(self) -> str:
        return self._state

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until the thread ends (for shutdown and tests); queued signals still follow."""
        return self._thread is None or self._thread.wait(msecs)

    # ------------------------------------------------------------------ worker side
    def _execute(self) -> None:
        _lower_thread_priority()
        sink = _Sink(self)
        fn = self.fn
        try:
            if sink.cancelled() or fn is None:
                raise Cancelled()
            result = fn(sink)
        except Cancelled:
            self._outcome = ("cancelled", None)
        except BaseException as exc:  # every error reaches the user, never the event loop
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self._outcome = ("failed", exc)
        else:
            self._outcome = ("cancelled", None) if sink.cancelled() else ("done", result)

    # ------------------------------------------------------------------ GUI side
    def _on_thread_finished(self) -> None:
        kind, value = getattr(self, "_outcome", ("failed", RuntimeError("worker ended without a result")))
        self._outcome = None
        self._state = kind
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.deleteLater()
        self.fn = None  # the function and its closure (datasets, models, images) are freed
        if kind == "done":
            self.done.emit(value)
        elif kind == "failed":
            self.error = value
            self.failed.emit(value)
        else:
            self.cancelled.emit()
        del value  # the result travelled by signal; the task keeps none of it
        self.finished.emit()

    def _remember_progress(self, fraction: float) -> None:
        self.fraction = fraction

    def _remember_status(self, text: str) -> None:
        self.status = text


class TaskSlot(QObject):
    """Holds at most one task: starting a new one cancels the old (a view's current job)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.task: Task | None = None

    def start(self, task: Task, manager=None) -> Task:
        """Cancel the current task, then start ``task`` (through ``manager`` when given)."""
        self.cancel()
        self.task = task
        task.finished.connect(lambda t=task: self._forget(t, owned=manager is None))
        return manager.submit(task) if manager is not None else task.start()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _forget(self, task: Task, owned: bool) -> None:
        if self.task is task:
            self.task = None
        if owned:  # started here, not by a manager (which deletes its own)
            task.deleteLater()
