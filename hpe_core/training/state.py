"""What a resumable run keeps besides the weights: RNG states, and the stop request.

RNG states are stored as plain containers and tensors so checkpoints stay loadable with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import random
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict:
    """The global RNG states of Python, NumPy and torch (CPU and CUDA)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": _tuples_to_lists(random.getstate()),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    random.setstate(_lists_to_tuples(state["python"]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples_to_lists(value):
    if isinstance(value, tuple):
        return [_tuples_to_lists(v) for v in value]
    return value


def _lists_to_tuples(value):
    if isinstance(value, list):
        return tuple(_lists_to_tuples(v) for v in value)
    return value


@contextmanager
def forked_rng(seed: int) -> Iterator[None]:
    """Run a block with Python's and torch's (CPU) global RNGs seeded by ``seed``; restore them after.

    NumPy's global RNG is left alone (saving it costs 20x more than the rest): the datasets'
    augmentations draw from torch's generator, as per-sample randomness should.
    """
    py, tch = random.getstate(), torch.get_rng_state()
    random.seed(seed)
    torch.default_generator.manual_seed(seed)  # the CPU generator only; CUDA's is left alone
    try:
        yield
    finally:
        random.setstate(py)
        torch.set_rng_state(tch)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-mixed 63-bit seed for one sample of one epoch (SplitMix64 of the triple)."""
    x = (seed * 0x9E3779B97F4A7C15 + epoch * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & (2**64 - 1)
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & (2**64 - 1)
    return (x ^ (x >> 31)) >> 1


class StopFlag:
    """Set by SIGINT / SIGTERM / SIGUSR1 (or by hand); the loop stops at the next step boundary."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None

    def request(self, why: str = "stop requested") -> None:
        self.requested = True
        self.signal_name = why


@contextmanager
def stop_on_signals(flag: StopFlag) -> Iterator[StopFlag]:
    """SIGINT, SIGTERM and SIGUSR1 (a scheduler's "time limit near", see
    :mod:`hpe_core.training.cluster`) set ``flag``; a second SIGINT interrupts at once
    (KeyboardInterrupt).

    Only the main thread may install handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag.request(signal.Signals(signum).name)

    wanted = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGUSR1] if hasattr(signal, "SIGUSR1") else [])
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
