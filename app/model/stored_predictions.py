"""A predictions file in the place of a model: :class:`StoredPredictor` has what the GUI reads of
an :class:`hpe_core.inference.Predictor` (``batch_size``, ``skeleton``, ``precision``, ``device``)
and, instead of a model to run, ``stored_rows``: the stored rows of a
:class:`~hpe_core.predictions.Prediction` (read by :func:`hpe_core.inference.files.read_prediction_file`),
matched to the dataset's samples by :func:`hpe_core.inference.evaluate.match_rows` (the rule of
``hpe evaluate --pred``). A file that does not fit the dataset open when it is read (sample or
joint count) is refused then (:func:`load_predictions`); one that does not fit a dataset opened
later raises one :class:`~hpe_core.errors.InputError` when predicted; later calls on the same
dataset return nothing, so the user reads the reason once and the GUI keeps working."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError
from hpe_core.predictions import Prediction
from hpe_core.progress import NullProgress, check_cancelled


class StoredPredictor:
    batch_size = 256
    precision = "stored"
    device = "file"

    def __init__(self, prediction: Prediction, source: str | Path) -> None:
        if prediction.joints_3d is None:
            raise InputError(f"{source}: holds no 3D joints (it has {', '.join(prediction.present) or 'nothing'})")
        self.prediction, self.source = prediction, str(source)
        self.skeleton = prediction.skeleton
        self.num_joints = int(prediction.num_joints)
        self._told: set[int] = set()
        self._lock = threading.Lock()

    def rows_of(self, dataset) -> np.ndarray:
        """``(len(dataset),)`` the prediction row of each dataset sample, -1 where it has none."""
        from hpe_core.inference.evaluate import check_joint_count, match_rows

        check_joint_count(self.prediction, dataset, self.source)
        index = match_rows(self.prediction, dataset, self.source)
        rows = np.full(len(dataset), -1, np.int64)
        rows[index] = np.arange(len(index))
        return rows

    def stored_rows(self, dataset, indices=None, progress=None, on_frame=None):
        """The stored rows of samples ``indices`` (default all) as a :class:`PredictionRun`."""
        from hpe_core.inference.run import PredictionRun

        progress = progress or NullProgress()
        run = PredictionRun(skeleton=self.skeleton, num_joints=self.num_joints, source=self.source,
                            precision=self.precision, device=self.device, checkpoint=self.prediction.checkpoint)
        try:
            rows = self.rows_of(dataset)
        except InputError:
            with self._lock:
                first = id(dataset) not in self._told
                self._told.add(id(dataset))
            if first:
                raise
            return run
        idx = np.arange(len(dataset)) if indices is None else np.asarray(indices, np.int64)
        idx = idx[rows[idx] >= 0]
        for start in range(0, len(idx), self.batch_size):
            check_cancelled(progress)
            chunk = idx[start:start + self.batch_size]
            part = self.prediction.take(rows[chunk])
            names = [dataset.sample_name(int(i)) for i in chunk]
            run.add_prediction(chunk.tolist(), names, part.replace(index=None), 0.0)
            if on_frame is not None:
                for k, i in enumerate(chunk.tolist()):
                    on_frame({"frame": i, "name": names[k], "prediction": part.take([k]),
                              "joints_3d": part.joints_3d[k], "time_ms": 0.0})
            progress.set_progress(min((start + len(chunk)) / max(len(idx), 1), 0.999))
        progress.set_progress(1.0)
        return run


def load_predictions(path: str | Path, units: str | None = None, dataset=None):
    """A :class:`~app.model.catalog.PredictionsEntry` of the file (``units`` for foreign files);
    with ``dataset`` (the one it will be shown with), a file that does not fit it (sample or joint
    count) raises the one :class:`~hpe_core.errors.InputError` here, before it joins any list."""
    from app.model.catalog import PredictionsEntry
    from hpe_core.inference.files import read_prediction_file
    from hpe_core.predictions import is_prediction_file

    path = Path(path).expanduser()
    ours = path.suffix.lower() == ".npz" and path.is_file() and is_prediction_file(path)
    prediction = read_prediction_file(path, None if ours else units)
    predictor = StoredPredictor(prediction, path)
    if dataset is not None:
        predictor.rows_of(dataset)
    return PredictionsEntry(path, predictor, None if ours else units)
