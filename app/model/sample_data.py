"""What the views show for one sample or video frame, computed from ``hpe_core`` in one place.

``build_sample`` turns a dataset row plus an optional root-relative prediction into a
:class:`SampleData` (placed, optionally Procrustes-aligned, projected, with its metrics).
Views only draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hpe_core.datasets.boxes import image_boxes
from hpe_core.geometry import Camera, procrustes, project
from hpe_core.skeleton import Skeleton

ALIGN_MODES = ("none", "rigid", "similarity")


@dataclass
class SampleData:
    """One thing to draw: an image, its skeleton(s) and metrics. Arrays may be None."""

    index: int
    skeleton: Skeleton
    image: np.ndarray | None = None  # (H, W, 3) uint8 RGB
    gt_2d: np.ndarray | None = None  # (J, 2) px
    pred_2d: np.ndarray | None = None  # (J, 2) px
    gt_3d: np.ndarray | None = None  # (J, 3) mm, camera frame
    pred_3d: np.ndarray | None = None  # (J, 3) mm, camera frame (root on the GT root when known)
    visible: np.ndarray | None = None  # (J,) bool
    camera: Camera | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    title: str = ""
    approximate_overlay: bool = False  # the 2D prediction is a weak-perspective guess
    detected_2d: np.ndarray | None = None  # (J, 2) px: the 2D a model predicted itself (heatmap decoding)
    heatmaps: object = None  # hpe_core.inference.heatmaps.SampleHeatmaps of this image, when the model makes them
    source: str = ""  # what made the prediction, in words ("lifter.pt, lifting the ground-truth 2D")
    metrics_2d: dict[str, float] = field(default_factory=dict)  # EPE (px) and PCK@0.05 of ``detected_2d``
    box: np.ndarray | None = None  # (4,) x0, y0, x1, y1 px: the person's box, when the dataset has boxes
    crop: np.ndarray | None = None  # (4,) x0, y0, x1, y1 px: the square a model sees of it
    other_boxes: np.ndarray | None = None  # (K, 4): the boxes of the other people of the same image


def pose_errors(pred_rel: np.ndarray, gt: np.ndarray, root: int, visible=None) -> dict[str, float]:
    """MPJPE and PA-MPJPE (mm) of one ``(J, 3)`` root-relative prediction against ``(J, 3)`` GT,
    by :mod:`hpe_core.metrics` (root-centred; what cannot be scored is left out)."""
    from hpe_core import metrics

    p, g = np.asarray(pred_rel, np.float64)[None], np.asarray(gt, np.float64)[None]
    vis = None if visible is None else np.asarray(visible, bool)[None]
    err = metrics.mpjpe(p, g, vis, root=root, per_sample=True, empty="nan")[0]
    pa = metrics.pa_mpjpe(p, g, vis, per_sample=True, empty="nan")[0]
    return {name: float(v) for name, v in (("MPJPE", err), ("PA-MPJPE", pa)) if np.isfinite(v)}


def errors_2d(pred: np.ndarray, gt: np.ndarray, visible=None) -> dict[str, float]:
    """EPE (px) and PCK@0.05 of one ``(J, 2)`` predicted 2D pose against ``(J, 2)`` GT, by
    :mod:`hpe_core.metrics` (what cannot be scored is left out)."""
    from hpe_core import metrics
    from hpe_core.errors import InputError

    p, g = np.asarray(pred, np.float64)[None], np.asarray(gt, np.float64)[None]
    vis = None if visible is None else np.asarray(visible, bool)[None]
    try:
        return {"EPE": float(metrics.epe(p, g, vis)), "PCK@0.05": float(metrics.pck2d(p, g, vis))}
    except InputError:  # no joint to score, or a degenerate box
        return {}


def place_prediction(pred_rel: np.ndarray, gt: np.ndarray | None, root: int, align: str) -> np.ndarray:
    """Put a root-relative ``(J, 3)`` prediction on the GT root, aligned to GT by ``align``."""
    if gt is None or not np.isfinite(gt[root]).all():
        return pred_rel
    placed = pred_rel - pred_rel[root] + gt[root]
    if align in ("rigid", "similarity"):
        ok = (np.isfinite(gt).all(axis=1) & np.isfinite(placed).all(axis=1)).astype(float)
        if ok.sum() >= 3:
            placed = procrustes(placed[None], np.nan_to_num(gt)[None], align, weights=ok[None])[0]
    return placed


def weak_perspective(pred_rel: np.ndarray, width: int, height: int, fill: float = 0.8) -> np.ndarray:
    """A ``(J, 2)`` overlay of a root-relative pose for an image without a camera: scaled so
    the pose spans ``fill`` of the image height, centred (the crop a model was trained on)."""
    xy = pred_rel[:, :2]
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return np.full_like(xy, np.nan)
    lo, hi = xy[ok].min(axis=0), xy[ok].max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    scale = fill * min(height / span[1], width / span[0])
    return (xy - (lo + hi) / 2) * scale + np.array([width / 2, height / 2])


def build_sample(dataset, index: int, image, pred_rel: np.ndarray | None, align: str = "none",
                 detected_2d: np.ndarray | None = None, heatmaps=None, source: str = "") -> SampleData:
    """Everything the image and 3D views draw for dataset row ``index``; ``detected_2d`` and
    ``heatmaps`` are a 2D model's own output for it, ``source`` says what predicted it."""
    sk = dataset.skeleton
    gt3 = None if dataset.joints_3d is None else np.asarray(dataset.joints_3d[index], np.float64)
    cam = dataset.cameras.get(int(dataset.camera_id[index])) if dataset.cameras else None
    visible = np.asarray(dataset.visible[index], bool)
    data = SampleData(index=index, skeleton=sk, image=image, visible=visible, camera=cam,
                      gt_2d=np.asarray(dataset.joints_2d[index], np.float64), gt_3d=gt3,
                      title=sample_title(dataset, index), heatmaps=heatmaps, source=source,
                      detected_2d=None if detected_2d is None else np.asarray(detected_2d, np.float64))
    data.box, data.crop, data.other_boxes = image_boxes(dataset, index)
    if data.detected_2d is not None:
        data.metrics_2d = errors_2d(data.detected_2d, data.gt_2d, visible)
    if pred_rel is None or not np.isfinite(pred_rel).any():
        return data
    pred_rel = np.asarray(pred_rel, np.float64)
    data.pred_3d = place_prediction(pred_rel, gt3, sk.root, align)
    if gt3 is not None:
        data.metrics = pose_errors(pred_rel, gt3, sk.root, visible)
    if cam is not None and gt3 is not None:
        data.pred_2d = project(data.pred_3d, cam.K, cam.dist)
    elif image is not None:
        data.pred_2d = weak_perspective(pred_rel, image.shape[1], image.shape[0])
        data.approximate_overlay = True
    return data


def sample_title(dataset, index: int) -> str:
    """``#12 · walking · S1 · cam 3 · frame 40`` from whatever labels the dataset has;
    ``clip.mp4 · frame 41/300`` for a video."""
    if getattr(dataset, "format", "") == "video":
        return f"{dataset.path.name} · frame {int(dataset.frame[index]) + 1}/{len(dataset)}"
    parts = [f"#{index}"]
    for name, arr, names in (("", dataset.action, getattr(dataset, "action_names", None)),
                             ("", dataset.subject, getattr(dataset, "subject_names", None))):
        if arr is None:
            continue
        value = int(arr[index])
        parts.append(names[value] if names and 0 <= value < len(names) else f"{value}")
    if dataset.camera_id is not None:
        parts.append(f"cam {int(dataset.camera_id[index])}")
    if getattr(dataset, "frame", None) is not None:
        parts.append(f"frame {int(dataset.frame[index])}")
    return " · ".join(parts)
