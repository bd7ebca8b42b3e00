"""Scoring report columns: each model (a checkpoint or a prediction file) on the same samples.

A column is a :class:`~hpe_core.predictions.Prediction` plus a name; every number comes from
:func:`hpe_core.inference.evaluate.score_prediction` (the scorer of ``hpe evaluate``), overall and once
per action on that action's samples. A prediction with 2D joints next to 3D ones is scored in 2D
too (the same scorer, on the 2D field alone); one with ``hypotheses`` gets the mean and the
best-of-K MPJPE over its K poses (:func:`hpe_core.metrics.mpjpe`, per sample).

Each column is read by one error measure, the GUI's (:mod:`hpe_core.error_measure`): PA-MPJPE for a
checkpoint whose head was trained with a rotation-aligned loss (its raw MPJPE, N-MPJPE, PCK and AUC
measure a rotation it was never asked to get right: :data:`UNALIGNED` marks them not meaningful),
MPJPE for every other checkpoint and for prediction files (as the GUI reads them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hpe_core.error_measure import MPJPE, ErrorMeasure
from hpe_core.errors import InputError
from hpe_core.predictions import Prediction
from hpe_core.protocols import PROTOCOLS as NAMED_PROTOCOLS

#: metrics taken without a rotation: not meaningful for a model read by a rotation-aligned measure
UNALIGNED = ("mpjpe", "n_mpjpe", "pck3d", "auc3d")
#: how :func:`hpe_core.metrics.pjpe` takes each measure's per-joint errors (as metric_report does)
MEASURE_ERRORS = {"mpjpe": {"root": "auto"}, "pa_mpjpe": {"align": "similarity"}}

#: protocols ``--protocol`` accepts: what the numbers mean (the table of hpe_core.protocols)
PROTOCOLS = {name: protocol.definition() for name, protocol in NAMED_PROTOCOLS.items()}


@dataclass
class Column:
    """One model of the report: its name, where it came from and its scores."""

    name: str
    source: str  # a checkpoint or prediction file path
    kind: str  # "checkpoint" | "file"
    prediction: Prediction
    overall: dict = field(default_factory=dict)  # score_prediction(..., per_sample=True)
    per_action: dict = field(default_factory=dict)  # action name -> score_prediction(...) or None
    two_d: dict | None = None
    hypotheses: dict | None = None  # {"mean_of_k": mm, "best_of_k": mm, "k": K}
    skipped: int = 0
    measure: ErrorMeasure = MPJPE  # the one error this model is read by (the GUI's)
    by_measure: dict = field(default_factory=dict)  # {"pck3d", "auc3d"} of the measure's errors

    def not_meaningful(self, metric: str) -> bool:
        """Whether ``metric`` of this model measures what it was not trained for (shown greyed)."""
        return self.measure.rotation_aligned and metric in UNALIGNED

    @property
    def error(self) -> float | None:
        """The value of this model's error measure over all its scored samples."""
        return self.overall.get("metrics", {}).get(self.measure.key)


def check_protocol(name: str) -> str:
    if name not in PROTOCOLS:
        raise InputError(f"--protocol {name}: unknown protocol; expected one of {', '.join(PROTOCOLS)}")
    return name


def column_names(sources: list[str]) -> list[str]:
    """Short distinct names: file stems, made unique with the parent folder or a number."""
    stems = [Path(s).stem for s in sources]
    out = []
    for k, stem in enumerate(stems):
        name = stem if stems.count(stem) == 1 else f"{Path(sources[k]).parent.name}/{stem}"
        while name in out:
            name = f"{name}-{k + 1}"
        out.append(name)
    return out


def action_groups(dataset, rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """``(action name, its rows among rows)`` in action order, for actions with samples."""
    if not dataset.has("action"):
        return []
    values, names = dataset.labels("action")
    sel = values[rows]
    return [(names[a] if a < len(names) else str(a), rows[sel == a]) for a in np.unique(sel)]


def score_column(column: Column, dataset, rows: np.ndarray) -> Column:
    """Fill ``column``'s scores on ``rows`` of ``dataset`` (see the module docstring)."""
    from hpe_core.inference.evaluate import score_prediction

    pred, src = column.prediction, column.source
    column.overall = score_prediction(pred, dataset, rows, src, per_sample=True)
    if column.overall.get("dims") == 3:
        for action, action_rows in action_groups(dataset, rows):
            try:
                column.per_action[action] = score_prediction(pred, dataset, action_rows, src)
            except InputError:  # no predicted sample of this action
                column.per_action[action] = None
        if pred.joints_2d is not None and np.isfinite(pred.joints_2d).any():
            flat = pred.replace(joints_3d=None, hypotheses=None)
            column.two_d = score_prediction(flat, dataset, rows, src)
        if pred.hypotheses is not None:
            column.hypotheses = score_hypotheses(pred, dataset, rows, src)
        column.by_measure = score_by_measure(column, dataset)
    return column


def score_by_measure(column: Column, dataset) -> dict:
    """3D PCK at 150 mm and AUC over 0-150 mm of the per-joint errors of ``column``'s error
    measure (for an MPJPE model, its ordinary PCK and AUC; the report's PCK curve draws them)."""
    from hpe_core.metrics import AUC_THRESHOLDS, PCK3D_THRESHOLD

    pred, gt, visible, _ = scored_arrays(column, dataset)
    errors = measure_errors(column, pred, gt, visible, dataset.skeleton)
    return {"pck3d": float(pck_curve(errors, [PCK3D_THRESHOLD])[0]),
            "auc3d": float(pck_curve(errors, AUC_THRESHOLDS).mean())}


def scored_arrays(column: Column, dataset):
    """``(pred (n,J,3), gt, visible, rows)`` of the samples ``column`` was scored on."""
    from hpe_core.inference.evaluate import match_rows

    rows = np.asarray(column.overall["rows"], np.int64)
    index = match_rows(column.prediction, dataset, column.source)
    where = {int(r): k for k, r in enumerate(index)}
    pick = np.array([where[int(r)] for r in rows], np.int64)
    pred = column.prediction.joints_3d[pick].astype(np.float64)
    return pred, np.asarray(dataset.joints_3d)[rows].astype(np.float64), np.asarray(dataset.visible)[rows], rows


def score_hypotheses(pred: Prediction, dataset, rows: np.ndarray, source: str) -> dict:
    """Mean over K and best-of-K MPJPE (root-centred, pooled per sample then averaged)."""
    from hpe_core.inference.evaluate import match_rows
    from hpe_core.metrics import mpjpe

    index = match_rows(pred, dataset, source)
    keep = np.flatnonzero(np.isin(index, rows))
    hyp = pred.hypotheses[keep].astype(np.float64)  # (n, K, J, 3)
    gt = np.asarray(dataset.joints_3d)[index[keep]].astype(np.float64)
    visible = np.asarray(dataset.visible)[index[keep]]
    per = np.stack([mpjpe(hyp[:, k], gt, visible, root="auto", skeleton=dataset.skeleton, per_sample=True)
                    for k in range(hyp.shape[1])], axis=1)  # (n, K)
    ok = np.isfinite(per).all(axis=1)
    return {"k": int(hyp.shape[1]), "mean_of_k": float(per[ok].mean()),
            "best_of_k": float(per[ok].min(axis=1).mean())}


def load_columns(sources: list[str], dataset, rows: np.ndarray, units: str | None, device: str,
                 precision: str, batch_size: int, progress) -> list[Column]:
    """A :class:`Column` per source (checkpoints predicted on ``rows`` through the Predictor,
    prediction files read and checked against the dataset), in order, not yet scored."""
    from hpe_core.inference.evaluate import check_joint_count, match_rows
    from hpe_core.inference.files import read_prediction_file
    from hpe_core.progress import check_cancelled, stage

    columns, names = [], column_names(sources)
    for k, (source, name) in enumerate(zip(sources, names)):
        check_cancelled(progress)
        progress.set_status(f"{name}: predicting" if _is_checkpoint(source) else f"{name}: reading")
        sub = stage(progress, k / len(sources), (k + 1) / len(sources))
        if _is_checkpoint(source):
            from hpe_core.inference import Predictor, collect, predict

            predictor = Predictor(source, device, precision, batch_size)
            if predictor.num_joints != dataset.skeleton.num_joints:
                raise InputError(f"{source}: the model predicts {predictor.num_joints} joints "
                                 f"({predictor.skeleton}), the dataset has {dataset.skeleton.num_joints} "
                                 f"({dataset.skeleton.name})")
            hypotheses = 10 if "hypotheses" in predictor.family.outputs else 0
            run = collect(predict(predictor, dataset, rows, hypotheses=hypotheses, progress=sub), predictor)
            columns.append(Column(name, source, "checkpoint", run.prediction, skipped=run.skipped,
                                  measure=checkpoint_measure(source)))
        else:
            from hpe_core.predictions import is_prediction_file

            ours = source.lower().endswith(".npz") and is_prediction_file(source)
            pred = read_prediction_file(source, None if ours else units)
            check_joint_count(pred, dataset, source)
            match_rows(pred, dataset, source)
            columns.append(Column(name, source, "file", pred))
    return columns


def checkpoint_measure(source: str) -> ErrorMeasure:
    """The error measure the GUI reads the checkpoint ``source`` by."""
    from hpe_core.error_measure import checkpoint_error_measure
    from hpe_core.models import inspect_checkpoint

    return checkpoint_error_measure(inspect_checkpoint(source))


def measure_errors(column: Column, pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, skeleton) -> np.ndarray:
    """``(n, J)`` per-joint errors of ``pred`` under ``column``'s error measure (root-centred for
    MPJPE, after the best similarity for PA-MPJPE): their pooled mean is the measure's value."""
    from hpe_core.metrics import pjpe

    return pjpe(pred, gt, visible, skeleton=skeleton, **MEASURE_ERRORS[column.measure.key])


def pck_curve(errors: np.ndarray, thresholds) -> np.ndarray:
    """The fraction of finite ``errors`` within each threshold (a 3D PCK curve; its mean is the AUC)."""
    errors = np.asarray(errors, np.float64)
    count = np.isfinite(errors).sum()
    return np.array([(errors <= t).sum() / count for t in thresholds])


def measure_label(columns: list[Column]) -> str | None:
    """``"PA-MPJPE"`` when every model is read by it, else None (each by its own)."""
    names = {c.measure.name for c in columns}
    return names.pop() if len(names) == 1 else None


def best_column(columns: list[Column]) -> Column | None:
    """The model with the lowest value of its error measure (None without a 3D score)."""
    scored = [c for c in columns if c.error is not None and np.isfinite(c.error)]
    return min(scored, key=lambda c: c.error) if scored else None


def _is_checkpoint(source: str) -> bool:
    from hpe_core.file_kinds import classify_file

    return classify_file(source) == "checkpoint"
