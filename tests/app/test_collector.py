"""Cyclic garbage is freed on the GUI thread, never by a worker that happens to allocate (the
suite's autouse fixture and the app's start both run a MainThreadCollector)."""

from __future__ import annotations

import gc
import threading

from app.workers.collector import MainThreadCollector


class _Cycle:
    """A cycle whose finaliser records the thread that freed it."""

    freed_on: list[int] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.get_ident())


def _allocate(out: list) -> None:
    out.append([[i] for i in range(20_000)])  # containers kept alive: gen 0's count passes its threshold


def _allocate_in_a_worker() -> list:
    """Allocate on another thread while this one waits in ``join`` (no event loop runs, so
    the collector's timer cannot fire meanwhile); the allocations, still alive."""
    out: list = []
    worker = threading.Thread(target=_allocate, args=(out,))
    worker.start()
    worker.join()
    return out


def test_a_worker_allocating_never_frees_the_gui_threads_cycles(qtbot, _collect_on_the_gui_thread):
    assert _collect_on_the_gui_thread.active() and not gc.isenabled()
    _Cycle.freed_on.clear()
    _Cycle()  # garbage now, in generation 0: the next collection of any thread frees it
    kept = _allocate_in_a_worker()
    assert _Cycle.freed_on == []  # the worker's 20,000 allocations collected nothing
    qtbot.waitUntil(lambda: _Cycle.freed_on != [], timeout=5_000)  # the timer's collection did
    assert _Cycle.freed_on == [threading.get_ident()]
    del kept


def test_without_the_collector_the_worker_would_have_freed_it(qtbot, _collect_on_the_gui_thread):
    """The hazard the collector removes, shown with automatic collection back on."""
    _collect_on_the_gui_thread.stop()
    assert gc.isenabled()
    gc.collect()
    _Cycle.freed_on.clear()
    _Cycle()
    _allocate_in_a_worker()
    assert len(_Cycle.freed_on) == 1 and _Cycle.freed_on[0] != threading.get_ident()


def test_check_collects_the_oldest_generation_past_its_threshold(qapp):
    collector = MainThreadCollector(parent=qapp)
    collector.thresholds = (10**9, 10**9, 10**9)
    assert collector.check() == 0  # nothing past a threshold: no collection
    _Cycle.freed_on.clear()
    _Cycle()
    collector.thresholds = (-1, 10**9, 10**9)  # generation 0 is due
    assert collector.check() >= 1
    assert _Cycle.freed_on == [threading.get_ident()]
    collector.deleteLater()
