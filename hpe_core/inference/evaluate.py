"""Scoring a :class:`~hpe_core.predictions.Prediction` against a dataset's ground truth.

    report = score_prediction(prediction, dataset, rows, source="pred.npz")

The rows of the prediction are matched to the dataset's samples by ``prediction.index`` when it
has one (our own files), else row ``i`` is sample ``i`` and the counts must agree. 3D joints are
scored with every 3D metric of :func:`hpe_core.metric_report.evaluate` (root-centred on the skeleton's
root, plus the bone length error); a prediction with only 2D joints gets the 2D metrics. A sample
without any predicted joint is left out of the metrics and counted (``unpredicted``).
The same function scores a checkpoint's predictions (``hpe evaluate CKPT``) and a file
(``hpe evaluate --pred FILE``), so both give the same numbers for the same poses.
"""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.inference.files import check_scale
from hpe_core.predictions import Prediction


def match_rows(prediction: Prediction, dataset, source: str) -> np.ndarray:
    """The dataset sample of each prediction row ``(N,)``; InputError naming ``source`` if they
    cannot correspond (a sample count or index outside the dataset)."""
    n = len(dataset)
    if prediction.index is None:
        if len(prediction) != n:
            raise InputError(f"{source}: holds {len(prediction)} samples, but the dataset {dataset.path} "
                             f"has {n}")
        return np.arange(n, dtype=np.int64)
    index = prediction.index
    if len(index) and (index.min() < 0 or index.max() >= n):
        raise InputError(f"{source}: refers to sample {int(index.max() if index.max() >= n else index.min())}, "
                         f"but the dataset {dataset.path} has {n} samples")
    return index


def check_joint_count(prediction: Prediction, dataset, source: str) -> None:
    """InputError naming ``source`` unless the prediction has joints, as many as the dataset's skeleton."""
    want, have = dataset.skeleton.num_joints, prediction.num_joints
    if have is None:
        raise InputError(f"{source}: holds no joints to evaluate (it has {', '.join(prediction.present) or 'nothing'})")
    if have != want:
        raise InputError(f"{source}: {have} joints per sample, but the dataset {dataset.path} has {want} "
                         f"({dataset.skeleton.name})")
    check_scale(prediction, dataset.skeleton, source)  # units: bone lengths against the skeleton's prior


def score_prediction(prediction: Prediction, dataset, rows: np.ndarray | None = None,
                     source: str = "prediction", per_sample: bool = False) -> dict:
    """Metrics of ``prediction`` on the samples ``rows`` of ``dataset`` (default: every row it has).

    Samples whose prediction has no finite joint (a frame where another tool found nobody) are
    left out and counted. Returns :meth:`MetricReport.to_dict` plus ``"unpredicted"`` (that count);
    with ``per_sample`` also each scored sample's metrics and ``"rows"``, the dataset rows scored.
    Memory: the arrays scored and their mask; a prediction of every row in dataset order is scored
    in place against the dataset's columns (memory-mapped where the reader maps them), otherwise
    the scored rows of each are gathered once.
    """
    from hpe_core.metric_report import evaluate
    from hpe_core.skeleton import SKELETONS, get_skeleton

    check_joint_count(prediction, dataset, source)
    index = match_rows(prediction, dataset, source)
    keep = None if rows is None else _selected(index, rows, len(dataset))
    if keep is not None and not keep.any():
        raise InputError(f"{source}: none of its samples is among the selected samples of {dataset.path}")
    three_d = prediction.joints_3d is not None
    joints = prediction.joints_3d if three_d else prediction.joints_2d
    predicted = _has_joint(joints)  # rows with at least one joint
    unpredicted = int((~predicted if keep is None else keep & ~predicted).sum())
    keep = predicted if keep is None else keep & predicted
    if not keep.any():
        raise InputError(f"{source}: none of the selected samples has a predicted joint")
    if not keep.all():
        picked = np.flatnonzero(keep)
        joints, index = joints[picked], index[picked]
    named = prediction.skeleton if prediction.skeleton in SKELETONS else None
    skeleton = get_skeleton(named) if named else dataset.skeleton
    if three_d and dataset.joints_3d is None:
        raise InputError(f"{dataset.path}: has no 3D joints to evaluate against")
    gt = _rows_of(dataset.joints_3d if three_d else dataset.joints_2d, index)
    report = evaluate(joints, gt, _rows_of(dataset.visible, index), skeleton=skeleton, per_sample=per_sample)
    out = {**report.to_dict(per_sample), "unpredicted": unpredicted}
    if per_sample:
        out["rows"] = index.tolist()
    return out


def _selected(index: np.ndarray, rows, n: int) -> np.ndarray:
    """``np.isin(index, rows)`` for sample indices of a dataset of ``n``, through an ``(n,)`` table."""
    rows = np.asarray(rows, np.int64)
    table = np.zeros(n, bool)
    table[rows[(rows >= 0) & (rows < n)]] = True
    return table[index]


def _has_joint(joints: np.ndarray) -> np.ndarray:
    """``(N,)``: whether each sample of ``(N, J, D)`` joints has a finite joint, a chunk at a time."""
    from hpe_core.alignment import chunks

    out = np.empty(len(joints), bool)
    for sl in chunks(len(joints)):
        out[sl] = np.isfinite(joints[sl]).all(axis=-1).any(axis=-1)
    return out


def _rows_of(column, index: np.ndarray) -> np.ndarray:
    """``column[index]``; the column itself (no copy) when ``index`` is every row in order."""
    column = np.asarray(column)
    n = len(column)
    if len(index) == n and index[0] == 0 and index[-1] == n - 1 and bool(np.all(index[1:] > index[:-1])):
        return column
    return column[index]


BH_ALIGNS = {"mpjpe": "none", "n_mpjpe": "scale", "pa_mpjpe": "similarity"}


def evaluate(predictor, dataset, rows=None, *, lift_from=None, hypotheses: int = 0, seed: int = 0,
             progress=None, protocol: str | None = None, joints: int | None = None, sigmas=None) -> dict:
    """Predict ``rows`` of ``dataset`` with :func:`~hpe_core.inference.predict` and score them (see
    :func:`score_prediction`; with a ``protocol`` name, by that protocol and its ``joints`` variant (and
    COCO's ``sigmas``):
    :func:`hpe_core.inference.protocol_scoring.score_protocol`, with its manifest); with ``hypotheses``
    K from a family that outputs them, also ``best_of_k`` = ``{"hypotheses": K, "mpjpe", "n_mpjpe",
    "pa_mpjpe"}`` of the oracle pick per sample (root-centred on the skeleton's root like the mean's
    MPJPE, as seed 003 reports it)."""
    from hpe_core.inference.predict import predict

    if dataset.joints_3d is None:
        raise InputError(f"{dataset.path}: has no 3D joints to evaluate against")
    if predictor.num_joints != dataset.skeleton.num_joints:
        raise InputError(f"the model predicts {predictor.num_joints} joints ({predictor.skeleton}), the dataset "
                         f"has {dataset.skeleton.num_joints} ({dataset.skeleton.name})")
    if protocol is not None:  # before any prediction: a protocol or joint count that does not fit
        _check_protocol(protocol, joints, sigmas, dataset)
    parts, skipped = [], 0
    for batch in predict(predictor, dataset, rows, lift_from=lift_from, hypotheses=hypotheses, seed=seed,
                         progress=progress):
        skipped += len(batch.skipped)
        if batch.prediction is not None:
            parts.append(batch.prediction)
    if not parts:
        raise InputError(f"{dataset.path}: none of the {skipped} selected samples could be predicted")
    prediction = Prediction.concat(parts)
    if protocol is None:
        out = score_prediction(prediction, dataset, None, str(predictor.source))
    else:
        from hpe_core.inference.protocol_scoring import score_protocol

        out = score_protocol(prediction, dataset, None, protocol, joints, str(predictor.source), sigmas=sigmas)
    if prediction.hypotheses is not None:
        out["best_of_k"] = _best_of_k(prediction, dataset, int(hypotheses))
    out.update({"skipped": skipped, "precision": predictor.precision, "device": str(predictor.device)})
    if "crop" in prediction.meta:  # what an image model saw: the person crops or the whole frames
        out["crop"] = prediction.meta["crop"]
    return out


def _check_protocol(protocol: str, joints: int | None, sigmas, dataset) -> None:
    from hpe_core.inference.protocol_scoring import check_protocol, check_sigmas

    check_protocol(protocol, joints, dataset.skeleton.name)
    check_sigmas(sigmas, protocol, dataset.skeleton.num_joints)


def _best_of_k(prediction: Prediction, dataset, k: int) -> dict:
    from hpe_core.metrics import best_hypothesis

    rows = prediction.index
    gt = np.asarray(dataset.joints_3d[rows], dtype=np.float64)
    visible = np.asarray(dataset.visible[rows], bool)
    best = {"hypotheses": k}
    for name, align in BH_ALIGNS.items():
        err, _ = best_hypothesis(prediction.hypotheses, gt, visible, align=align, root=dataset.skeleton.root,
                                 skeleton=dataset.skeleton)
        best[name] = float(np.nanmean(err))
    return best
