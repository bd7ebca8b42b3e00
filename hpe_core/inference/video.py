"""Video frames decoded in a thread of their own, ready for the model, so decoding overlaps it.

    frames, total = decode_video("clip.mp4", size=128, stride=1, max_frames=None)
    for frame, name, image in frames:   # image: (size, size, 3) uint8 RGB, letterboxed; None: undecodable
        ...

- The decode thread reads frames with OpenCV and letterboxes them to ``size`` there: the resize
  runs on the decoded BGR frame and the colour conversion on the small result, which gives exactly
  ``letterbox(cvtColor(frame, BGR2RGB), size)`` (both steps act on each channel alike) at a
  fraction of the cost, and leaves the model's process only the normalisation to do.
- It is one thread and stays one: the capture is opened with a single decoder thread
  (``CAP_PROP_N_THREADS``) and OpenCV's own thread pool is pinned to one thread while any stream
  runs (``cv2.setNumThreads(1)``, restored when the last one ends), so decoding does not fight the
  model's threads for the cores.
- Frames are handed over by reference (the arrays the thread made, never copied) through a
  bounded queue, at most ``queue_size`` frames ahead.
- Leaving the loop, ``close()`` or dropping the iterator stops the thread and joins it; an error
  raised while decoding is raised in the consumer, with its traceback.
- A frame that fails to decode while a later one decodes is reported (``None``) so it is skipped
  and counted; failures at the very end are the end of the stream.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from hpe_core.errors import InputError

_pin_lock = threading.Lock()
_pin_state = {"users": 0, "previous": None}


@contextmanager
def pinned_cv2_threads(threads: int = 1):
    """Hold OpenCV's thread pool at ``threads`` while the block runs (process-wide: the first of
    overlapping holders saves the previous setting, the last one restores it)."""
    import cv2

    with _pin_lock:
        if _pin_state["users"] == 0:
            _pin_state["previous"] = cv2.getNumThreads()
            cv2.setNumThreads(int(threads))
        _pin_state["users"] += 1
    try:
        yield
    finally:
        with _pin_lock:
            _pin_state["users"] -= 1
            if _pin_state["users"] == 0:
                cv2.setNumThreads(int(_pin_state["previous"]))


def open_capture(path: Path):
    """A ``cv2.VideoCapture`` with one decoder thread (when the backend takes the setting)."""
    import cv2

    try:
        cap = cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
    except (cv2.error, TypeError):  # an OpenCV without open parameters
        cap = cv2.VideoCapture(str(path))
    return cap


def decode_video(path: str | Path, size: int, stride: int = 1, max_frames: int | None = None,
                 queue_size: int = 64) -> tuple["DecodedVideo", int]:
    """``(frames, frame count estimate)``: see the module docstring. ``InputError`` for a missing
    file, a bad ``stride`` or a file OpenCV cannot open."""
    import cv2

    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{path}: no such video file")
    if int(stride) < 1:
        raise InputError(f"--stride: must be at least 1, got {stride}")
    cap = open_capture(path)
    try:
        if not cap.isOpened():
            raise InputError(f"{path}: OpenCV cannot open this video")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    total = (count + stride - 1) // stride if count > 0 else 0
    if max_frames is not None:
        total = min(total, int(max_frames)) if total else int(max_frames)
    return DecodedVideo(path, int(size), int(stride), max_frames, queue_size), total


class DecodedVideo:
    """Iterable of ``(frame, name, image or None)``; one decode thread (a :class:`prefetch` of
    :meth:`_frames`), started when iterated."""

    def __init__(self, path: Path, size: int, stride: int = 1, max_frames: int | None = None,
                 queue_size: int = 64) -> None:
        self.path, self.size, self.stride, self.max_frames = Path(path), int(size), int(stride), max_frames
        self.queue_size = max(1, int(queue_size))
        self._stream = None

    def __iter__(self) -> Iterator[tuple[int, str, np.ndarray | None]]:
        from hpe_core.inference.run import prefetch

        if self._stream is not None:
            raise RuntimeError("a DecodedVideo is iterated once")
        self._stream = prefetch(self._pinned(), self.queue_size, name="hpe-video-decode")
        try:
            yield from self._stream
        finally:
            self.close()

    def close(self) -> None:
        """Stop the decode thread and wait for it."""
        if self._stream is not None:
            self._stream.close()

    # ------------------------------------------------------------------ the decode thread
    def _pinned(self):
        with pinned_cv2_threads(1):
            yield from self._frames()

    def _frames(self, patience: int = 50):
        import cv2

        from hpe_core.datasets.transforms import fit, letterbox

        cap = open_capture(self.path)
        pending: list[int] = []  # wanted frames that failed; reported once a later frame decodes
        emitted, index, fails = 0, -1, 0
        try:
            while self.max_frames is None or emitted < self.max_frames:  # a stop ends it at a yield
                index += 1
                ok = cap.grab()
                wanted = index % self.stride == 0
                if ok and wanted:
                    ok, bgr = cap.retrieve()
                    ok = ok and bgr is not None and bgr.size > 0
                if not ok:
                    fails += 1
                    if fails > patience:
                        return
                    if wanted:
                        pending.append(index)
                    continue
                fails = 0
                for bad in pending:
                    yield bad, f"frame {bad}", None
                    emitted += 1
                pending.clear()
                if wanted:
                    small = cv2.cvtColor(fit(bgr, self.size), cv2.COLOR_BGR2RGB)
                    yield index, f"frame {index}", letterbox(small, self.size)
                    emitted += 1
        finally:
            cap.release()
