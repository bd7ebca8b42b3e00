"""Predictions, video inference and the device: the :class:`~app.workspace.Workspace` half
that runs checkpoints (always in workers, through :class:`hpe_core.inference.Predictor`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.model import messages
from app.model.predictions import PredictionStore
from app.workers import jobs
from app.workers.task import Task


class WorkspacePredictions:
    """Mixed into ``Workspace``; uses its state attributes and signals."""

    # ------------------------------------------------------------------ predictions
    def _store_for(self, ds_key: str, ck_key: str) -> PredictionStore | None:
        loaded, entry = self.checkpoints.get(ck_key), self.datasets.get(ds_key)
        if loaded is None or entry is None or not loaded.has_pose_head:
            return None
        pair = (ds_key, ck_key)
        if pair not in self._predictions:
            metric = "PA-MPJPE" if loaded.rotation_free else "MPJPE"
            self._predictions[pair] = PredictionStore(len(entry.dataset), entry.dataset.skeleton.num_joints, metric)
        return self._predictions[pair]

    def start_predictions(self) -> Task | None:
        """Predict the current dataset with the active checkpoint in the browser's order."""
        if self.current_key is None or self.active_key is None:
            return None
        store = self._store_for(self.current_key, self.active_key)
        if store is None:
            if self.checkpoint is not None:
                self.message.emit("info", messages.NO_POSE_HEAD.format(path=self.checkpoint.path.name))
            return None
        missing = store.missing(self.rows)
        if len(missing) == 0:
            return None
        pair = (self.current_key, self.active_key)
        fn = jobs.predict_dataset_job(self.checkpoint, self.dataset, missing)
        task = Task(fn, name=f"Predict {Path(self.current_key).name}", parent=self)
        task.partial.connect(lambda item, pair=pair: self._on_predictions_partial(pair, item))
        task.done.connect(lambda result: self._on_predictions_done(pair, result))
        return self._predict_slot.start(task, self.tasks)

    def _request_prediction(self, index: int) -> None:
        """Predict the selected row right away when the batch job has not reached it; one such
        task at a time (a newer selection cancels the older request)."""
        store = self.predictions()
        if store is None or store.predicted[index]:
            return
        pair = (self.current_key, self.active_key)
        fn = jobs.predict_dataset_job(self.checkpoint, self.dataset, np.array([index]))
        task = Task(fn, name="_predict_one", parent=self)
        task.partial.connect(lambda item, pair=pair: self._on_predictions_partial(pair, item))
        self._one_slot.start(task, self.tasks)

    def _on_predictions_partial(self, pair, item: dict) -> None:
        store, entry = self._predictions.get(pair), self.datasets.get(pair[0])
        loaded = self.checkpoints.get(pair[1])
        if store is None or entry is None or loaded is None:
            return
        ds, joints = entry.dataset, item["joints"]
        model_sk = loaded.predictor.skeleton
        if model_sk and model_sk != ds.skeleton.name:
            from hpe_core.skeleton import convert_joints

            joints = convert_joints(joints, model_sk, ds.skeleton).astype(np.float32)
        store.add(item["indices"], joints, ds.joints_3d, ds.skeleton.root, ds.visible)
        if pair == (self.current_key, self.active_key):
            self.predictions_changed.emit()
            if self.sort != "index" and not self._resort_timer.isActive():
                self._resort_timer.start()  # re-sort at most once a second, not per batch
            if self.selection in set(item["indices"].tolist()):
                self._rebuild_sample()

    def _on_predictions_done(self, pair, result: dict) -> None:
        store = self._predictions.get(pair)
        if store is not None:
            store.complete = True
        if result.get("skipped"):
            self.message.emit("warning", messages.PREDICTION_SKIPPED.format(count=result["skipped"]))

    # ------------------------------------------------------------------ video jobs
    def run_video(self) -> Task | None:
        loaded = self.checkpoint
        if self.video.info is None:
            self.message.emit("error", messages.NOTHING_TO_EXPORT)
            return None
        if loaded is None or not loaded.has_pose_head:
            self.message.emit("error", messages.NEED_CHECKPOINT)
            return None
        self.set_mode("video")
        return self.video.run(loaded)

    def _on_video_predictions_changed(self, frames: np.ndarray) -> None:
        if self.mode == "video" and self.playback.frame in set(frames.tolist()):
            self._rebuild_sample()

    # ------------------------------------------------------------------ device
    def set_device(self, spec: str, precision: str | None = None) -> None:
        """Use ``spec`` (auto, cpu, cuda:N, mps) for every open and future checkpoint.

        A device this machine lacks is reported and the previous choice stays.
        """
        previous = (self.device_spec, self.precision)
        self.device_spec = spec
        self.precision = precision or self.precision

        def failed(exc) -> None:
            self.device_spec, self.precision = previous
            self.message.emit("error", messages.DEVICE_FAILED.format(spec=spec, why=exc))
            self.device_changed.emit(messages.DEVICE.format(device=self.device_in_use, precision=self.precision))

        for key, loaded in list(self.checkpoints.items()):
            self.run_task(jobs.move_checkpoint_job(loaded, spec, self.precision), f"Move {loaded.path.name} to {spec}",
                          lambda ld, k=key: self._on_checkpoint_moved(k, ld), failed)
        if not self.checkpoints:
            self.device_changed.emit(messages.DEVICE_UNKNOWN.format(spec=spec))

    def _on_checkpoint_moved(self, key: str, loaded: jobs.LoadedCheckpoint) -> None:
        if key in self.checkpoints:
            self.checkpoints[key] = loaded
            self._set_device_in_use(loaded.device)
            self.checkpoints_changed.emit()

    def _set_device_in_use(self, device: str) -> None:
        self.device_in_use = device
        self.device_changed.emit(messages.DEVICE.format(device=device, precision=self.precision))
