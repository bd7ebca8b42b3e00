"""Scoring report columns: each model (a checkpoint or a prediction file) on the same samples.

A column is a :class:`~hpe_core.predictions.Prediction` plus a name; every number comes from
:func:`hpe_core.inference.evaluate.score_prediction` (the scorer of ``hpe evaluate``), overall and once
per action on that action's samples. A prediction with 2D joints next to 3D ones is scored in 2D
too (the same scorer, on the 2D field alone); one with ``hypotheses`` gets the mean and the
best-of-K MPJPE over its K poses (:func:`hpe_core.metrics.mpjpe`, per sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError
from hpe_core.predictions import Prediction
from hpe_core.protocols import PROTOCOLS as NAMED_PROTOCOLS

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
    return column


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
            columns.append(Column(name, source, "checkpoint", run.prediction, skipped=run.skipped))
        else:
            from hpe_core.predictions import is_prediction_file

            ours = source.lower().endswith(".npz") and is_prediction_file(source)
            pred = read_prediction_file(source, None if ours else units)
            check_joint_count(pred, dataset, source)
            match_rows(pred, dataset, source)
            columns.append(Column(name, source, "file", pred))
    return columns


def _is_checkpoint(source: str) -> bool:
    from hpe_core.file_kinds import classify_file

    return classify_file(source) == "checkpoint"
