"""The owner of every running task: keeps them alive, lists them for the jobs view,
cancels and joins them on shutdown."""

from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import QObject, Signal

from app.workers.task import Task


def when_all_finished(tasks: Iterable[Task], callback: Callable[[], None]) -> None:
    """Call ``callback`` once every running task of ``tasks`` finished (at once if none runs)."""
    remaining = {id(t): t for t in tasks if t is not None and t.is_running()}
    if not remaining:
        callback()
        return

    def one_finished(key: int) -> None:
        if remaining.pop(key, None) is not None and not remaining:
            callback()

    for key, task in list(remaining.items()):
        task.finished.connect(lambda key=key: one_finished(key))


class TaskManager(QObject):
    """Starts tasks, and forgets and deletes them when they finish; ``tasks_changed`` on both."""

    tasks_changed = Signal()
    task_failed = Signal(object, object)  # task, exception

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: list[Task] = []
        self.closed = False

    @property
    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def visible_tasks(self) -> list[Task]:
        """Tasks worth showing to the user (thumbnail loading is not)."""
        return [t for t in self._tasks if not t.hidden]

    def submit(self, task: Task) -> Task:
        """Start ``task`` and keep it until it finishes; after :meth:`shutdown` it is never started."""
        if self.closed:
            return task
        self._tasks.append(task)
        task.finished.connect(lambda t=task: self._on_task_finished(t))
        task.failed.connect(lambda exc, t=task: self.task_failed.emit(t, exc))
        task.start()
        self.tasks_changed.emit()
        return task

    def cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    def cancel_visible(self) -> None:
        for task in self.visible_tasks():
            task.cancel()

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Cancel everything and wait for the threads; True when all ended. No task starts after."""
        self.closed = True
        self.cancel_all()
        return all(task.wait(msecs) for task in list(self._tasks))

    def _on_task_finished(self, task: Task) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        task.deleteLater()
        self.tasks_changed.emit()
