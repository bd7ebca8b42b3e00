"""UniHPE's inference paths from one checkpoint, scored separately, and its cross-modal figures.

    report = evaluate_paths(model, dataset, rows, batch_size=64, progress=None)
    report["paths"]["image_to_3d"]      # {"mpjpe", "pa_mpjpe", ...} mm
    report["paths"]["pose2d_to_3d"]     # lifting from the ground-truth 2D joints
    report["paths"]["image_to_2d"]      # {"pck2d" (at 0.05 x box), "epe" (px of the dataset's images)}
    report["crossmodal"]                # cos_<a>_<b>, cos_mean, top1/top5 over the whole set

3D metrics are those of :func:`hpe_core.metric_report.evaluate` (root-centred on the skeleton's root);
2D predictions are mapped from the model's letterboxed input back to the image's pixels.
"""

from __future__ import annotations

import numpy as np
import torch

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, check_cancelled


def unletterbox_joints(joints: np.ndarray, height: int, width: int, size: int) -> np.ndarray:
    """The inverse of :func:`hpe_core.datasets.transforms.letterbox_joints`."""
    from hpe_core.datasets.transforms import letterbox_params

    new_w, new_h, ox, oy = letterbox_params(height, width, size)
    scale = np.array([new_w / width, new_h / height])
    return (np.asarray(joints, np.float64) - np.array([ox, oy]) + 0.5) / scale - 0.5


def check_dataset(model, dataset, need: str) -> None:
    """One InputError unless ``dataset`` has the 2D and 3D joints of ``model``'s skeleton;
    ``need`` says what for."""
    if dataset.joints_3d is None or not dataset.has("joints_2d"):
        raise InputError(f"{dataset.path}: {need}; this {dataset.format} dataset lacks "
                         f"{'3D' if dataset.joints_3d is None else '2D'} joints")
    if model.num_joints != dataset.skeleton.num_joints:
        raise InputError(f"the model has {model.num_joints} joints ({model.skeleton}), the dataset "
                         f"{dataset.skeleton.num_joints} ({dataset.skeleton.name})")


@torch.no_grad()
def evaluate_paths(model, dataset, rows: np.ndarray, batch_size: int = 64, device="cpu",
                   progress=None) -> dict:
    """Every inference path of a ``unihpe`` model on ``rows`` of ``dataset`` (see module doc)."""
    from hpe_core.datasets.torch_data import PoseImageDataset, make_loader
    from hpe_core.metric_report import evaluate
    from hpe_core.metrics import epe, pck2d
    from hpe_core.models.families.unihpe import predict_paths
    from hpe_core.training.crossmodal import cross_modal_sums, means
    from hpe_core.training.tasks.unihpe import _image_hw

    progress = progress or NullProgress()
    check_dataset(model, dataset, "UniHPE's paths are scored against 2D and 3D joints")
    size = model.image_size
    items = PoseImageDataset(dataset, rows, image_size=size)
    loader = make_loader(items, batch_size=batch_size, shuffle=False)
    model = model.to(device).eval()
    parts: dict[str, list] = {}
    for k, batch in enumerate(loader):
        check_cancelled(progress)
        hide = ~batch["visible"].bool()[..., None]
        j2 = batch["joints_2d"].masked_fill(hide, float("nan")).to(device)
        j3 = batch["joints_3d"].masked_fill(hide, float("nan")).to(device)
        out = predict_paths(model, batch["image"].to(device), j2, j3)
        for key, value in out.items():
            parts.setdefault(key, []).append(value.float().cpu())
        parts.setdefault("index", []).append(batch["index"])
        progress.set_progress(min(0.999, (k + 1) * batch_size / max(len(items), 1)))
    if not parts:
        raise InputError(f"{dataset.path}: no readable sample among the {len(rows)} selected")
    cat = {key: torch.cat(value).numpy() for key, value in parts.items()}
    index = cat["index"].astype(np.int64)
    visible = np.asarray(dataset.visible)[index].astype(bool)
    gt3 = model.pose3d_target(np.asarray(dataset.joints_3d)[index].astype(np.float64))  # canonical for fk
    visible3 = visible & np.isfinite(gt3).all(-1)
    paths = {}
    for path in ("image_to_3d", "pose2d_to_3d"):
        paths[path] = _summary(evaluate(cat[path], gt3, visible3, skeleton=dataset.skeleton))
    gt2 = np.asarray(dataset.joints_2d)[index].astype(np.float64)
    pred2 = np.stack([unletterbox_joints(p, *_image_hw(dataset, int(i)), size)
                      for p, i in zip(cat["image_to_2d"], index)])
    ok = (visible & np.isfinite(gt2).all(-1)).sum(1) >= 2
    paths["image_to_2d"] = {"pck2d": float(pck2d(pred2[ok], gt2[ok], visible[ok], fraction=0.05)),
                            "epe": float(epe(pred2[ok], gt2[ok], visible[ok]))}
    emb = {k: torch.from_numpy(cat[k]) for k in ("image", "pose2d", "pose3d")}
    crossmodal = means(cross_modal_sums(emb))
    progress.set_progress(1.0)
    return {"samples": int(len(index)), "skipped": int(items.skipped_count), "paths": paths,
            "crossmodal": crossmodal}


def _summary(report) -> dict:
    d = report.to_dict()
    return {k: v for k, v in d["metrics"].items() if isinstance(v, (int, float))}
