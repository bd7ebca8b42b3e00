"""What the image and 3D views show: the :class:`~app.workspace.Workspace` half that loads the
selected sample's image in a worker and builds its :class:`~app.model.sample_data.SampleData` (a dataset
row, or a video frame), following the playback cursor."""

from __future__ import annotations

import numpy as np

from app.model import browsing
from app.model.sample_data import SampleData, build_sample, weak_perspective
from app.workers.task import Task
from hpe_core.errors import InputError


class WorkspaceSamples:
    """Mixed into ``Workspace``; uses its state attributes and signals."""

    # ------------------------------------------------------------------ samples
    def _update_sequence(self, index: int) -> None:
        self._sequence = browsing.sequence_rows(self.dataset, index)
        self.playback.set_range(len(self._sequence))
        pos = np.flatnonzero(self._sequence == index)
        self.playback.frame = int(pos[0]) if len(pos) else 0
        self.playback.range_changed.emit(self.playback.count)

    def _on_playback_frame_changed(self, frame: int) -> None:
        if self.mode == "video":
            self._rebuild_sample()
        elif 0 <= frame < len(self._sequence):
            self.select(int(self._sequence[frame]))

    def _load_sample(self, index: int) -> None:
        if self._image_cache is not None and self._image_cache[0] == index:
            self._rebuild_sample()
            return
        ds = self.dataset

        def load(progress):
            try:
                return index, ds.load_image(index)
            except (InputError, OSError):  # unreadable image: show the skeleton without it
                return index, None

        task = Task(load, name="_sample", parent=self)
        task.done.connect(self._on_sample_loaded)
        self._sample_slot.start(task, self.tasks)
        self._request_prediction(index)

    def _on_sample_loaded(self, result) -> None:
        index, image = result
        if index == self.selection:
            self._image_cache = (index, image)
            self._rebuild_sample()

    def _rebuild_sample(self) -> None:
        if self.mode == "video":
            self._emit_sample(self._video_sample(self.playback.frame))
            return
        ds = self.dataset
        if ds is None or self.selection < 0 or self._image_cache is None \
                or self._image_cache[0] != self.selection:
            return
        store = self.predictions()
        pred = None if store is None else store.get(self.selection)
        self._emit_sample(build_sample(ds, self.selection, self._image_cache[1], pred,
                                       self.options.get("align", "none")))

    def _video_sample(self, frame: int) -> SampleData | None:
        info = self.video.info
        if info is None:
            return None
        from hpe_core.skeleton import get_skeleton

        image = self.video.frame(frame)
        pred = self.video.prediction(frame)
        sk_name = self.video.skeleton or (self.checkpoint.predictor.skeleton if self.checkpoint
                                          and self.checkpoint.has_pose_head else None)
        sample = SampleData(index=frame, skeleton=get_skeleton(sk_name or "panoptic19"), image=image,
                            title=f"{info.path.name} · frame {frame + 1}/{info.frames}")
        if pred is not None:
            sample.pred_3d = pred.astype(np.float64)
            sample.pred_2d = weak_perspective(sample.pred_3d, info.width, info.height)
            sample.approximate_overlay = True
        return sample

    def _emit_sample(self, sample: SampleData | None) -> None:
        self.sample = sample
        self.sample_changed.emit(sample)
