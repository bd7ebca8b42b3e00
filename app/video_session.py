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
    predictions_changed = Signal(object)  # the frames (np.ndarray) that just got predictions
    running_changed = Signal(bool)

    def __init__(self, tasks: TaskManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.info: jobs.VideoInfo | None = None
        self.joints: np.ndarray | None = None  # (T, J, 3) root-relative mm, NaN until predicted
        self.skeleton: str | None = None
        self.checkpoint: Path | None = None
        self.task: Task | None = None
        self.result = None  # hpe_core.inference.Predictions, filled as frames arrive
        self._reader: VideoReader | None = None

    @property
    def running(self) -> bool:
        return self.task is not None

    def set_video(self, info: jobs.VideoInfo | None) -> None:
        self.cancel()
        if self._reader is not None:
            self._reader.close()
        self.info, self.joints, self.result, self._reader = info, None, None, None
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

    def run(self, loaded: jobs.LoadedCheckpoint) -> Task:
        """Predict every frame with ``loaded`` in a worker; results stream into ``joints``."""
        from hpe_core.inference import Predictions

        self.cancel()
        predictor = loaded.predictor
        self.skeleton = predictor.skeleton
        self.checkpoint = loaded.path
        self.joints = np.full((self.info.frames, predictor.num_joints, 3), np.nan, np.float32)
        self.result = Predictions(skeleton=predictor.skeleton, num_joints=predictor.num_joints,
                                  source=str(self.info.path), precision=predictor.precision,
                                  device=str(predictor.device))
        task = Task(jobs.predict_video_job(loaded, self.info), name=f"Video {self.info.path.name}")
        task.partial.connect(self._on_task_partial)
        task.finished.connect(lambda t=task: self._on_task_finished(t))
        self.task = task
        self.tasks.submit(task)
        self.running_changed.emit(True)
        return task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def frames_done(self) -> int:
        return 0 if self.result is None else len(self.result)

    def export(self, path: str | Path) -> Path:
        """Save the predictions made so far (.npz, .json or .csv, by suffix)."""
        if self.result is None or len(self.result) == 0:
            from app.model import messages
            from hpe_core.errors import InputError

            raise InputError(messages.NOTHING_TO_EXPORT)
        return self.result.save(path)

    def _on_task_partial(self, item: dict) -> None:
        frames, joints = item["indices"], item["joints"]
        if self.joints is None:
            return
        if frames.max() >= len(self.joints):  # the container under-counted its frames
            grown = np.full((int(frames.max()) + 1, *self.joints.shape[1:]), np.nan, np.float32)
            grown[: len(self.joints)] = self.joints
            self.joints = grown
        self.joints[frames] = joints
        for f, j in zip(frames.tolist(), joints):
            self.result.add(f, f"frame {f}", j, 0.0)
        self.predictions_changed.emit(frames)

    def _on_task_finished(self, task: Task) -> None:
        if self.task is task:
            self.task = None
            self.running_changed.emit(False)
