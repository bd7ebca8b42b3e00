"""Lifters on a dataset's 2D joints: predictions with K hypotheses, and their evaluation.

``predict_lifter(model, dataset, rows, hypotheses=K)`` runs a ``pose2d`` family (``vae_lifter``)
over the rows' 2D joints in batches, all K latent samples of a batch decoded in one pass, and
returns one :class:`~hpe_core.predictions.Prediction` (``joints_3d`` of the mean hypothesis,
``hypotheses`` (N, K, J, 3), ``latent``). ``evaluate_lifter`` adds the metrics of
:func:`hpe_core.metrics.evaluate` for the mean hypothesis and the best of the K ("BH", an oracle
pick per sample, as seed 003 reports it). The latent draws are seeded, so a run repeats.
"""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

BH_ALIGNS = {"mpjpe": "none", "n_mpjpe": "scale", "pa_mpjpe": "similarity"}


def is_lifter(family: str) -> bool:
    """Whether the model family takes 2D poses (and no image)."""
    from hpe_core.models.families import FAMILIES

    cls = FAMILIES.get(family)
    return cls is not None and "pose2d" in cls.inputs and "image" not in cls.inputs


def pose_batches(dataset, idx: np.ndarray, batch_size: int):
    """Yield ``(positions (B,), 2D joints (B, J, 2) px with NaN where not visible, [])``, the
    counterpart of :func:`hpe_core.analysis.features.image_batches` for a lifter."""
    import torch

    for start in range(0, len(idx), batch_size):
        pos = np.asarray(idx[start:start + batch_size], dtype=np.int64)
        j2 = np.asarray(dataset.joints_2d[pos], dtype=np.float32).copy()
        j2[~np.asarray(dataset.visible[pos], bool)] = np.nan
        yield pos, torch.from_numpy(j2), []


def predict_lifter(model, dataset, rows, hypotheses: int = 10, batch_size: int = 1024, seed: int = 0,
                   progress: ProgressSink | None = None):
    """A :class:`Prediction` of ``rows`` (dataset positions) from their 2D joints (see the module)."""
    import torch

    from hpe_core.models.families import family_of
    from hpe_core.predictions import Prediction

    if int(hypotheses) < 0:
        raise InputError(f"--hypotheses: must be 0 or more, got {hypotheses}")
    if model.num_joints != dataset.skeleton.num_joints:
        raise InputError(f"the model lifts {model.num_joints} joints ({model.skeleton}), the dataset "
                         f"has {dataset.skeleton.num_joints} ({dataset.skeleton.name})")
    family, progress = family_of(model), progress or NullProgress()
    rows = np.asarray(rows, dtype=np.int64)
    parts = []
    model.eval()
    generator = torch.Generator().manual_seed(int(seed))  # its own: no other thread's draws interleave
    with torch.no_grad():
        for start in range(0, len(rows), batch_size):
            check_cancelled(progress)
            chunk = rows[start:start + batch_size]
            batch = {"joints_2d": np.asarray(dataset.joints_2d[chunk], np.float32),
                     "visible": np.asarray(dataset.visible[chunk], bool), "hypotheses": int(hypotheses),
                     "generator": generator}
            parts.append(family.predict(model, batch))
            progress.set_progress(min(1.0, (start + len(chunk)) / max(len(rows), 1)))
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts]) if parts and getattr(parts[0], name) is not None else None  # noqa: E731
    return Prediction(joints_3d=cat("joints_3d"), frame="root_relative", hypotheses=cat("hypotheses"),
                      latent=cat("latent"), index=rows, skeleton=model.skeleton,
                      meta={"hypotheses": int(hypotheses), "seed": int(seed)})


def evaluate_lifter(model, dataset, rows, hypotheses: int = 10, batch_size: int = 1024, seed: int = 0,
                    progress: ProgressSink | None = None, source: str = "lifter") -> dict:
    """The report of :func:`hpe_core.evaluation.score_prediction` for the mean hypothesis, plus
    ``best_of_k`` = ``{"hypotheses": K, "mpjpe", "n_mpjpe", "pa_mpjpe"}`` of the oracle pick
    (root-centred on the skeleton's root like the mean's MPJPE)."""
    from hpe_core.evaluation import score_prediction
    from hpe_core.metrics import best_hypothesis

    if dataset.joints_3d is None:
        raise InputError(f"{dataset.path}: has no 3D joints to evaluate against")
    pred = predict_lifter(model, dataset, rows, hypotheses, batch_size, seed, progress)
    out = score_prediction(pred, dataset, None, source)
    if pred.hypotheses is not None:
        rows = pred.index
        gt = np.asarray(dataset.joints_3d[rows], dtype=np.float64)
        visible = np.asarray(dataset.visible[rows], bool)
        best = {"hypotheses": int(hypotheses)}
        for name, align in BH_ALIGNS.items():
            err, _ = best_hypothesis(pred.hypotheses, gt, visible, align=align, root=dataset.skeleton.root,
                                     skeleton=dataset.skeleton)
            best[name] = float(np.nanmean(err))
        out["best_of_k"] = best
    out.update({"skipped": 0, "precision": "fp32", "device": str(next(model.parameters()).device)})
    return out
