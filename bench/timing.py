"""The benchmarks' one timer: the best wall time of several calls, and the last result."""

from __future__ import annotations

import time


def best_of(fn, repeat: int) -> tuple[float, object]:
    """``(best seconds over repeat calls of fn(), the last call's result)``."""
    best, value = float("inf"), None
    for _ in range(max(1, int(repeat))):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value
