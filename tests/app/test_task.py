"""The one thread adapter: results, errors and cancellation arrive as queued signals."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from app.workers.manager import TaskManager
from app.workers.task import Task, TaskSlot
from hpe_core.errors import InputError
from hpe_core.progress import check_cancelled


def counting(n: int, delay: float = 0.0):
    def run(progress):
        for i in range(n):
            check_cancelled(progress)
            progress.set_progress((i + 1) / n)
            progress.partial(i)
            time.sleep(delay)
        return n * 10

    return run


def test_done_delivers_result_partials_in_order_on_the_gui_thread(qtbot):
    task = Task(counting(5), name="count")
    seen, threads = [], []
    results = []
    task.partial.connect(lambda v: (seen.append(v), threads.append(QThread.currentThread())))
    task.done.connect(results.append)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()
    assert task.state == "done" and results == [50]
    assert task.fn is None and not hasattr(task, "result")  # the result travelled by signal only
    assert seen == [0, 1, 2, 3, 4]
    gui = QThread.currentThread()
    assert all(t is gui or t == gui for t in threads)
    assert task.fraction == pytest.approx(1.0)


@pytest.mark.parametrize("exc", [InputError("bad file x.pt"), ZeroDivisionError("boom")])
def test_failure_is_a_signal_with_the_exception_never_a_crash(qtbot, exc):
    def run(progress):
        raise exc

    task = Task(run, name="fail")
    errors = []
    task.failed.connect(errors.append)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()
    assert task.state == "failed" and errors == [exc]
    assert type(exc).__name__ in exc.__traceback_text__


def test_cancel_stops_the_work_at_its_next_check(qtbot):
    started = threading.Event()
    done = []  # iterations completed by the worker

    def run(progress):
        started.set()
        for i in range(1000):
            check_cancelled(progress)
            time.sleep(0.005)
            done.append(i)
        return "finished anyway"

    task = Task(run, name="long")
    cancelled = []
    task.cancelled.connect(lambda: cancelled.append(True))
    task.start()
    assert started.wait(5)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.cancel()
        at_cancel = len(done)
    assert task.state == "cancelled" and cancelled == [True] and task.fn is None
    assert len(done) <= at_cancel + 1  # stopped at the next check, not after the remaining iterations


def test_a_task_starts_only_once(qtbot):
    task = Task(counting(1), name="once")
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()
    with pytest.raises(RuntimeError):
        task.start()


def test_slot_cancels_the_previous_task(qtbot):
    slot = TaskSlot()
    first = Task(counting(400, 0.005), name="first")
    second = Task(counting(3), name="second")
    slot.start(first)
    with qtbot.waitSignals([first.finished, second.finished], timeout=5000):
        slot.start(second)
    assert first.state == "cancelled" and second.state == "done"
    assert slot.task is None


def test_manager_lists_running_tasks_and_shutdown_joins_them(qtbot):
    manager = TaskManager()
    tasks = [manager.submit(Task(counting(1000, 0.005), name=f"job{i}")) for i in range(2)]
    hidden = manager.submit(Task(counting(1000, 0.005), name="internal", hidden=True))
    assert [t.name for t in manager.visible_tasks()] == ["job0", "job1"]
    assert manager.shutdown(5000)
    qtbot.waitUntil(lambda: manager.tasks == [], timeout=5000)
    assert all(t.state == "cancelled" for t in tasks + [hidden])
