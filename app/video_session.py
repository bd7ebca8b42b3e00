"""The open video: its frames (decoded on demand), the prediction job and its results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.workers import jobs
from app.workers.manager import TaskManager
from app.workers.task import Task


class VideoReader:
    """Random access to RGB frames; sequential reads do not seek."""

    def __init__(self, path: Path) -> None:
        import cv2

        self._cv2 = cv2
        self._cap = cv2.VideoCapture(str(path))
        self._next = 0
        self._last: tuple[int, np.ndarray] | None = None

    def read(self, index: int) -> np.ndarray | None:
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if index != self._next:
            self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = self._cap.read()
        self._next = index + 1
        if not ok:
            return None
        rgb = self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2RGB)
        self._last = (index, rgb)
        return rgb

    def close(self) -> None:
        self._cap.release()


class VideoSession(QObject):
    video_changed = Signal(object)  # VideoInfo | None
    predictions_changed = Signal()
    running_changed = Signal(bool)

    def __init__(self, tasks: TaskManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.info: jobs.VideoInfo | None = None
        self.joints: np.ndarray | None = None  # (T, J, 3) root-relative mm, NaN until predicted
        self.skeleton: str | None = None
        self.checkpoint: Path | None = None
        self.task: Task | None = None
        self._reader: VideoReader | None = None

    @property
    def running(self) -> bool:
        return self.task is not None

    def set_video(self, info: jobs.VideoInfo | None) -> None:
        self.cancel()
        if self._reader is not None:
            self._reader.close()
        self.info, self.joints, self._reader = info, None, None
        if info is not None:
            self._reader = VideoReader(info.path)
        self.video_changed.emit(info)

    def frame(self, index: int) -> np.ndarray | None:
        return None if self._reader is None else self._reader.read(index)

    def prediction(self, index: int) -> np.ndarray | None:
        if self.joints is None or not 0 <= index < len(self.joints):
            return None
        pose = self.joints[index]
        return pose if np.isfinite(pose).any() else None

    def run(self, loaded: jobs.LoadedCheckpoint, precision: str) -> Task:
        """Predict every frame with ``loaded`` in a worker; results stream into ``joints``."""
        self.cancel()
        model = loaded.model
        self.skeleton = getattr(model, "skeleton", None)
        self.checkpoint = loaded.path
        self.joints = np.full((self.info.frames, model.num_joints, 3), np.nan, np.float32)
        task = Task(jobs.predict_video_job(loaded, self.info, precision), name=f"Video {self.info.path.name}")
        task.partial.connect(self._on_task_partial)
        task.finished.connect(lambda t=task: self._on_task_finished(t))
        self.task = task
        self.tasks.submit(task)
        self.running_changed.emit(True)
        return task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def export(self, path: str | Path) -> Path:
        done = np.isfinite(self.joints).all(axis=(1, 2)) if self.joints is not None else None
        if done is None or not done.any():
            from hpe_core.errors import InputError
            from app import messages

            raise InputError(messages.NOTHING_TO_EXPORT)
        meta = {"video": str(self.info.path), "fps": self.info.fps, "checkpoint": str(self.checkpoint),
                "frames_predicted": int(done.sum())}
        return jobs.export_predictions(path, self.joints, self.skeleton or "", meta)

    def _on_task_partial(self, item: dict) -> None:
        start, joints = item["start"], item["joints"]
        if self.joints is not None:
            stop = min(start + len(joints), len(self.joints))
            self.joints[start:stop] = joints[: stop - start]
            self.predictions_changed.emit()

    def _on_task_finished(self, task: Task) -> None:
        if self.task is task:
            self.task = None
            self.running_changed.emit(False)
