"""A video file as a dataset of its frames (for inference): frames decode lazily, in order when
read in order, with a seek otherwise. Opening decodes the first frame only, to fail early."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from hpe_core.datasets.base import PoseDataset
from hpe_core.errors import DatasetError
from hpe_core.skeleton import PANOPTIC19


class VideoFrames:
    """Frames of one video file; each process opens its own decoder."""

    def __init__(self, path: Path, count: int) -> None:
        self.file, self.count = Path(path), count
        self._cap, self._next, self._pid = None, 0, None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"file": self.file, "count": self.count}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["file"], state["count"])

    def path(self, row: int) -> Path | None:
        return None

    def name(self, row: int) -> str:
        return f"{self.file.name}#frame={row}"

    def _capture(self):
        import cv2

        if self._cap is None or self._pid != os.getpid():
            self._cap = cv2.VideoCapture(str(self.file))
            self._next, self._pid = 0, os.getpid()
            if not self._cap.isOpened():
                raise DatasetError(f"{self.file}: cannot open the video")
        return self._cap

    def load(self, row: int) -> np.ndarray:
        import cv2

        with self._lock:
            cap = self._capture()
            if row != self._next:
                cap.set(cv2.CAP_PROP_POS_FRAMES, row)
            ok, frame = cap.read()
            self._next = row + 1 if ok else -1
        if not ok or frame is None:
            raise DatasetError(f"{self.file}: frame {row} does not decode")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def probe_video(path: Path) -> tuple[int, int, int, float]:
    """``(frames, width, height, fps)``; :class:`DatasetError` if the file does not decode."""
    import cv2

    if not path.is_file():
        raise DatasetError(f"{path}: no such video file")
    cap = cv2.VideoCapture(str(path))
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            raise DatasetError(f"{path}: not a video that can be decoded (OpenCV could not read a frame)")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if count <= 0:  # some containers do not say: count by grabbing
            count = 1
            while cap.grab():
                count += 1
        return count, frame.shape[1], frame.shape[0], fps
    finally:
        cap.release()


def read_video(path: str | Path) -> PoseDataset:
    path = Path(path)
    count, width, height, fps = probe_video(path)
    return PoseDataset(path=path, format="video", skeleton=PANOPTIC19, size=count,
                       columns={"frame": np.arange(count, dtype=np.int64)},
                       images=VideoFrames(path, count),
                       extra={"image_size": [width, height], "fps": fps})
