"""UniHPE's inference paths from one checkpoint, scored separately, and its cross-modal figures.

    report = evaluate_paths(predictor, dataset, rows, progress=None)
    report["paths"]["image_to_3d"]      # {"mpjpe", "pa_mpjpe", ...} mm
    report["paths"]["pose2d_to_3d"]     # lifting from the ground-truth 2D joints
    report["paths"]["image_to_2d"]      # {"pck2d" (at 0.05 x box), "epe" (px of the dataset's images)}
    report["crossmodal"]                # cos_<a>_<b>, cos_mean, top1/top5 over the whole set

3D metrics are those of :func:`hpe_core.metrics.evaluate` (root-centred on the skeleton's root);
Every path runs through :func:`hpe_core.inference.predict` (its 2D in the image's pixels).
"""

from __future__ import annotations

import numpy as np
import torch

from hpe_core.errors import InputError


def check_dataset(model, dataset, need: str) -> None:
    """One InputError unless ``dataset`` has the 2D and 3D joints of ``model``'s skeleton;
    ``need`` says what for."""
    if dataset.joints_3d is None or not dataset.has("joints_2d"):
        raise InputError(f"{dataset.path}: {need}; this {dataset.format} dataset lacks "
                         f"{'3D' if dataset.joints_3d is None else '2D'} joints")
    if model.num_joints != dataset.skeleton.num_joints:
        raise InputError(f"the model has {model.num_joints} joints ({model.skeleton}), the dataset "
                         f"{dataset.skeleton.num_joints} ({dataset.skeleton.name})")


def evaluate_paths(predictor, dataset, rows: np.ndarray, progress=None) -> dict:
    """Every inference path of a model that shares one space between modalities (a ``unihpe``
    :class:`~hpe_core.inference.Predictor`) on ``rows`` of ``dataset`` (see the module docstring),
    each through :func:`hpe_core.inference.predict`: the images with the 2D and 3D joints (the image
    paths and the three embeddings), then the 2D joints alone (lifting)."""
    from hpe_core.inference import collect, predict
    from hpe_core.metric_report import evaluate
    from hpe_core.metrics import epe, pck2d
    from hpe_core.progress import NullProgress, stage
    from hpe_core.training.crossmodal import cross_modal_sums, means

    progress = progress or NullProgress()
    check_dataset(predictor.model, dataset, "UniHPE's paths are scored against 2D and 3D joints")
    seen = collect(predict(predictor, dataset, rows, progress=stage(progress, 0.0, 0.8),
                           inputs={"image", "pose2d", "pose3d"}), predictor)
    if not len(seen):
        raise InputError(f"{dataset.path}: no readable sample among the {len(rows)} selected")
    index = np.asarray(seen.frames, np.int64)
    lifted = collect(predict(predictor, dataset, index, progress=stage(progress, 0.8, 1.0), inputs={"pose2d"}),
                     predictor).prediction
    image = seen.prediction
    visible = np.asarray(dataset.visible)[index].astype(bool)
    gt3 = predictor.model.pose3d_target(np.asarray(dataset.joints_3d)[index].astype(np.float64))  # canonical for fk
    visible3 = visible & np.isfinite(gt3).all(-1)
    paths = {"image_to_3d": _summary(evaluate(image.joints_3d, gt3, visible3, skeleton=dataset.skeleton)),
             "pose2d_to_3d": _summary(evaluate(_rows_of(lifted, index).joints_3d, gt3, visible3,
                                               skeleton=dataset.skeleton))}
    gt2 = np.asarray(dataset.joints_2d)[index].astype(np.float64)
    pred2 = image.joints_2d.astype(np.float64)
    ok = (visible & np.isfinite(gt2).all(-1)).sum(1) >= 2
    paths["image_to_2d"] = {"pck2d": float(pck2d(pred2[ok], gt2[ok], visible[ok], fraction=0.05)),
                            "epe": float(epe(pred2[ok], gt2[ok], visible[ok]))}
    emb = {k: torch.from_numpy(image.embeddings[k]) for k in ("image", "pose2d", "pose3d")}
    progress.set_progress(1.0)
    return {"samples": int(len(index)), "skipped": int(seen.skipped), "paths": paths,
            "crossmodal": means(cross_modal_sums(emb))}


def _rows_of(prediction, index: np.ndarray):
    """``prediction``'s rows of the dataset rows ``index`` (all of them must be there)."""
    where = {int(r): k for k, r in enumerate(prediction.index)}
    missing = [int(r) for r in index if int(r) not in where]
    if missing:
        raise InputError(f"sample #{missing[0]}: its 2D joints could not be lifted ({len(missing)} samples)")
    return prediction.take([where[int(r)] for r in index])


def _summary(report) -> dict:
    d = report.to_dict()
    return {k: v for k, v in d["metrics"].items() if isinstance(v, (int, float))}
