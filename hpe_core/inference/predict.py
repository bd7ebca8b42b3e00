"""The one way to predict: any model over any dataset, in batches.

    for batch in predict(predictor, dataset, rows, lift_from=heatmaps, hypotheses=10, progress=bar):
        batch.indices        (B,) dataset rows predicted
        batch.prediction     their Prediction rows (``index`` = the rows); 2D in the stored image's px
        batch.skipped        ((row, name, reason), ...) rows that could not be predicted (row -1: a
                             file the dataset left out when opened, said in the first batch)

The family's declared inputs decide what is read. An image family gets each row's image, read,
cropped to the row's person box when the dataset has boxes (:mod:`hpe_core.datasets.boxes`; else the
whole frame) and letterboxed to the model's size in a prefetch thread (a video's frames in its decode
thread), and its 2D comes back in the pixels of the image as stored; ``prediction.meta["crop"]`` says
which (a row whose box is missing is skipped, and said). A family that takes 2D joints (and no
image) gets the dataset's 2D -- or ``lift_from``'s predicted 2D of the same rows -- mapped onto its
joint set; ``hypotheses=K`` asks a family that outputs hypotheses for K seeded samples (one
generator per call, seeded ``seed``). ``Family.predict`` is the only code that knows a network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from hpe_core.errors import DatasetError, InputError
from hpe_core.predictions import Prediction
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

__all__ = ["Batch", "POSE_BATCH", "predict"]

POSE_BATCH = 1024  # rows per batch for models that read no image


@dataclass(frozen=True)
class Batch:
    """One batch of :func:`predict`: the rows predicted and the rows skipped, with the reason."""

    indices: np.ndarray  # (B,) int64 dataset rows
    prediction: Prediction | None  # B rows, ``index`` = ``indices``; None when every row was skipped
    names: tuple[str, ...] = ()  # the rows' sample names
    skipped: tuple[tuple[int, str, str], ...] = ()  # (row, name, reason)
    time_ms: float = 0.0  # model time per predicted row

    def __len__(self) -> int:
        return len(self.indices)


def predict(predictor, source, rows=None, *, lift_from=None, hypotheses: int = 0, seed: int = 0,
            progress: ProgressSink | None = None, inputs=None) -> Iterator[Batch]:
    """Batches of ``predictor``'s predictions of ``rows`` (default all) of the dataset ``source``
    (see the module docstring). ``lift_from``: a predictor whose 2D a pose2d model lifts.
    ``inputs``: which of the family's declared inputs to feed (default: the image when it takes
    one, else the 2D joints); the dataset's 2D / 3D joints go with an image when asked for, with
    the joints not visible as NaN (a model of several modalities embeds each)."""
    progress = progress or NullProgress()
    unreadable = tuple((-1, str(name), str(why)) for name, why in getattr(source, "unreadable", None) or ()
                       if rows is None)  # files a folder left out when it was opened: no rows, said once
    rows = np.arange(len(source), dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
    declared = predictor.family.inputs
    inputs = frozenset(inputs or ({"image"} if "image" in declared else {"pose2d"} & declared))
    if int(hypotheses) < 0:
        raise InputError(f"--hypotheses: must be 0 or more, got {hypotheses}")
    if not inputs or not inputs <= declared:
        raise InputError(f"this {predictor.family.name} model takes {', '.join(sorted(declared))}: "
                         f"not {', '.join(sorted(inputs)) or 'images or 2D joints'}")
    if "image" in inputs:
        batches = _image_batches(predictor, source, rows, progress, inputs - {"image"})
    elif "pose2d" in inputs:
        batches = _pose_batches(predictor, source, rows, lift_from, int(hypotheses), int(seed), progress,
                                "pose3d" in inputs)
    else:
        raise InputError(f"this {predictor.family.name} model: {', '.join(sorted(inputs))} alone is no input "
                         "to predict from")
    return _counted(batches, len(rows), progress, unreadable)


def _counted(batches: Iterator[Batch], total: int, progress, unreadable: tuple = ()) -> Iterator[Batch]:
    if unreadable:
        yield Batch(np.zeros(0, np.int64), None, (), unreadable)
    done = 0
    for batch in batches:
        done += len(batch) + len(batch.skipped)
        progress.set_progress(min(done / total, 0.999) if total else 0.0)
        progress.set_status(f"{done} of {total} samples")
        yield batch
    progress.set_progress(1.0)


# ---------------------------------------------------------------------- images
def _image_batches(predictor, dataset, rows: np.ndarray, progress, columns=frozenset()) -> Iterator[Batch]:
    from hpe_core.inference.images import letterboxed

    batch: list[tuple] = []
    skipped: list[tuple[int, str, str]] = []
    with letterboxed(dataset, rows, predictor.image_size, predictor.queue_size * predictor.batch_size) as stream:
        for row, name, image, region, reason in stream:
            check_cancelled(progress)
            if image is None:
                skipped.append((row, name, reason or "unreadable"))
            else:
                batch.append((row, name, image, region))
            if len(batch) == predictor.batch_size:
                yield _run_images(predictor, dataset, batch, skipped, columns)
                batch, skipped = [], []
    if batch or skipped:
        yield _run_images(predictor, dataset, batch, skipped, columns)


def _run_images(predictor, dataset, batch: list, skipped: list, columns=frozenset()) -> Batch:
    from hpe_core.datasets.boxes import crop_note
    from hpe_core.datasets.transforms import uncrop_joints

    if not batch:
        return Batch(np.zeros(0, np.int64), None, (), tuple(skipped))
    indices = np.array([row for row, _, _, _ in batch], np.int64)
    t0 = time.perf_counter()
    regions = [region for _, _, _, region in batch]
    pred = predictor.predict_batch(predictor.batch_tensor([image for _, _, image, _ in batch]),
                                   _masked_columns(predictor, dataset, indices, columns, regions))
    ms = (time.perf_counter() - t0) * 1000.0 / len(batch)
    if pred.joints_2d is not None:  # the model's input px -> the stored image's px
        size = predictor.image_size
        j2 = [uncrop_joints(j, region, size) for j, region in zip(pred.joints_2d, regions)]
        pred = pred.replace(joints_2d=np.stack(j2).astype(np.float32))
    pred = pred.replace(index=indices, meta={**pred.meta, "crop": crop_note(dataset)})
    return Batch(indices, pred, tuple(n for _, n, _, _ in batch), tuple(skipped), ms)


def _masked_columns(predictor, dataset, rows: np.ndarray, inputs, regions=None) -> dict:
    """The dataset's ``joints_2d`` / ``joints_3d`` of ``rows`` for the ``inputs`` pose2d / pose3d, as
    float32 tensors with the joints not visible set to NaN (2D in the model's space: see
    :func:`_model_space_2d`; ``regions`` what the model sees of the rows' images, when known)."""
    import torch

    out = {}
    visible = _visible(dataset, rows)
    for name, column in (("pose2d", "joints_2d"), ("pose3d", "joints_3d")):
        if name in inputs:
            if not dataset.has(column):
                raise InputError(f"{dataset.path}: has no {column} for this {name} input")
            values = np.array(getattr(dataset, column)[rows], np.float32)
            if column == "joints_2d":
                values = _model_space_2d(predictor, dataset, rows, values, regions)
            if visible is not None:
                values[~visible] = np.nan
            out[column] = torch.from_numpy(values)
    return out


def _model_space_2d(predictor, dataset, rows: np.ndarray, joints_2d: np.ndarray, regions=None) -> np.ndarray:
    """2D joints as the model reads them: a model that also sees images (UniHPE) was trained on 2D in
    its S x S input (the row's crop, letterboxed), so each row's image px are mapped there; a lifter
    reads image px."""
    from hpe_core.datasets.boxes import model_joints

    if "image" not in predictor.family.inputs:
        return joints_2d
    return model_joints(dataset, rows, joints_2d, predictor.image_size, regions)


# ---------------------------------------------------------------------- 2D joints
def _pose_batches(predictor, dataset, rows: np.ndarray, lift_from, hypotheses: int, seed: int,
                  progress, with_3d: bool = False) -> Iterator[Batch]:
    import torch

    generator = torch.Generator().manual_seed(seed)  # its own: no other thread's draws interleave
    for batch in _source_2d(predictor, dataset, rows, lift_from, progress):
        check_cancelled(progress)
        yield _lift(predictor, dataset, batch, hypotheses, generator, seed, with_3d)


def _source_2d(predictor, dataset, rows: np.ndarray, lift_from, progress) -> Iterator[Batch]:
    """Batches whose ``prediction.joints_2d`` holds the 2D to lift: ``lift_from``'s, else the dataset's."""
    if lift_from is not None:
        if lift_from.num_joints != predictor.num_joints:
            raise InputError(f"the 2D source predicts {lift_from.num_joints} joints ({lift_from.skeleton}), the "
                             f"lifter takes {predictor.num_joints} ({predictor.skeleton})")
        yield from _image_batches(lift_from, dataset, rows, progress)
        return
    if not dataset.has("joints_2d"):
        raise InputError(f"{dataset.path}: has no 2D joints for this {predictor.family.name} model to lift")
    joints, notes = _mapped_2d(predictor, dataset)
    for a in range(0, len(rows), POSE_BATCH):
        chunk = rows[a:a + POSE_BATCH]
        names = tuple(dataset.sample_name(int(i)) for i in chunk)
        yield Batch(chunk, Prediction(joints_2d=np.asarray(joints[chunk], np.float32), index=chunk,
                                      meta={"notes": notes}), names)


def _mapped_2d(predictor, dataset):
    """The dataset's (N, J, 2) joints on the model's joint set, and the notes of what was derived."""
    from hpe_core.skeleton import map_joints

    joint_set = dataset.extra.get("joint_set", dataset.skeleton.name)
    if predictor.skeleton is None or joint_set == predictor.skeleton:  # no joint set declared: as they are
        return dataset.joints_2d, []
    return map_joints(np.asarray(dataset.joints_2d, np.float64), joint_set, predictor.skeleton, str(dataset.path))


def _lift(predictor, dataset, source: Batch, hypotheses: int, generator, seed: int,
          with_3d: bool = False) -> Batch:
    """Lift ``source``'s 2D rows; a row with a missing joint the model needs is skipped."""
    import torch

    if source.prediction is None:
        return source
    j2 = source.prediction.joints_2d
    visible = _visible(dataset, source.indices)
    if visible is not None and visible.shape[1] != j2.shape[1]:  # the dataset's joint set, not the model's
        visible = None
    needed = getattr(predictor.model, "input_joints", None)
    needed = list(range(j2.shape[1])) if needed is None else list(needed)
    ok = np.isfinite(j2[:, needed]).all(axis=(1, 2))
    skipped = source.skipped + tuple((int(r), n, "a 2D joint the model needs is missing")
                                     for r, n in zip(source.indices[~ok], np.array(source.names, object)[~ok]))
    if not ok.any():
        return Batch(np.zeros(0, np.int64), None, (), skipped)
    seen = _model_space_2d(predictor, dataset, source.indices[ok], np.ascontiguousarray(j2[ok], np.float32))
    inputs = {"joints_2d": torch.from_numpy(seen), "hypotheses": hypotheses, "generator": generator}
    if visible is not None:
        inputs["visible"] = torch.from_numpy(visible[ok])
    if with_3d:
        inputs.update(_masked_columns(predictor, dataset, source.indices[ok], {"pose3d"}))
    t0 = time.perf_counter()
    pred = predictor.predict_inputs(inputs)
    ms = (time.perf_counter() - t0) * 1000.0 / int(ok.sum())
    indices = source.indices[ok]
    meta = {**pred.meta, **({"seed": seed} if hypotheses else {}),
            **{k: source.prediction.meta[k] for k in ("notes", "crop") if source.prediction.meta.get(k)}}
    pred = pred.replace(index=indices, joints_2d=j2[ok].astype(np.float32), meta=meta)
    names = tuple(n for n, keep in zip(source.names, ok) if keep)
    return Batch(indices, pred, names, skipped, ms)


def _visible(dataset, rows: np.ndarray) -> np.ndarray | None:
    try:
        visible = dataset.visible
    except (DatasetError, KeyError, AttributeError):
        return None
    return None if visible is None else np.asarray(visible[rows], bool)
