"""Predicting dataset rows for a viewer, in the dataset's own pixels: one checkpoint's
:class:`~hpe_core.inference.Predictor`, or a heatmap network whose 2D a lifter lifts.

    for batch in predict_rows(predictor, dataset, rows, progress, source=heatmap_predictor):
        batch["indices"]     (B,) dataset rows
        batch["joints_3d"]   (B, J, 3) root-relative mm, or None (a 2D-only model)
        batch["joints_2d"]   (B, J, 2) px of the dataset's images, the model's own 2D, or None
        batch["prediction"]  the family's Prediction rows (heatmaps dropped)
        batch["skipped"]     rows whose image could not be read
    hm = sample_heatmaps(predictor, image)              # one image: heatmaps + decoded 2D (image px)
    rgba = colourise(heatmap_picture(hm.heatmaps, image.shape[:2], hm.input_size, joint=None))

Image models see letterboxed S x S inputs; their 2D is mapped back to the image
(:func:`~hpe_core.training.tasks.pipeline.unletterbox_joints`), and :func:`heatmap_picture`
maps a heatmap onto the image the same way. A pose2d model (lifter) lifts ``source``'s 2D
when a source predictor is given, else the dataset's ground-truth 2D; a row whose 2D is not
finite gets NaN 3D. torch loads on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, check_cancelled

COLUMN_BATCH = 512  # rows per batch for models that read no image
# An "inferno"-like colour map: anchors at 0, 0.25, 0.5, 0.75, 1 (RGB 0-255).
_ANCHORS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float64)


def takes_images(predictor) -> bool:
    return "image" in predictor.family.inputs


def lifts_2d(predictor) -> bool:
    """A model that takes 2D joints (and no image): a lifter."""
    return not takes_images(predictor) and "pose2d" in predictor.family.inputs


def _image_batches(predictor, dataset, rows: np.ndarray, progress) -> Iterator[tuple]:
    """(rows read, their image (h, w), Prediction rows, rows skipped) per batch of images."""
    from hpe_core.errors import DatasetError
    from hpe_core.inference_io import prefetch

    def read():
        for i in rows.tolist():
            try:
                image = dataset.load_image(int(i))
                yield int(i), image.shape[:2], predictor.preprocess(image)
            except (DatasetError, InputError, OSError):
                yield int(i), None, None

    stream = prefetch(read(), predictor.queue_size * predictor.batch_size)
    batch, skipped = [], []
    try:
        for item in stream:
            check_cancelled(progress)
            if item[1] is None:
                skipped.append(item[0])
            else:
                batch.append(item)
            if len(batch) == predictor.batch_size:
                yield _run_images(predictor, batch, skipped)
                batch, skipped = [], []
        if batch or skipped:
            yield _run_images(predictor, batch, skipped) if batch else (np.zeros(0, np.int64), [], None, skipped)
    finally:
        stream.close()


def _run_images(predictor, batch: list, skipped: list) -> tuple:
    import torch

    pred = predictor.predict_batch(torch.stack([t for _, _, t in batch]))
    return np.array([i for i, _, _ in batch], np.int64), [hw for _, hw, _ in batch], pred, list(skipped)


def _to_image_px(joints_2d, shapes, size: int) -> np.ndarray | None:
    from hpe_core.training.tasks.pipeline import unletterbox_joints

    if joints_2d is None:
        return None
    return np.stack([unletterbox_joints(j, h, w, size) for j, (h, w) in zip(joints_2d, shapes)]).astype(np.float32)


def _lift(predictor, joints_2d: np.ndarray, visible: np.ndarray | None):
    """(B, J, 2) px -> ((B, J, 3) mm with NaN where the 2D is not finite, Prediction of the finite rows)."""
    import torch

    out = np.full(joints_2d.shape[:2] + (3,), np.nan, np.float32)
    ok = np.isfinite(joints_2d).all(axis=(1, 2))
    if not ok.any():
        return out, None
    batch = {"joints_2d": torch.from_numpy(np.ascontiguousarray(joints_2d[ok], np.float32))}
    if visible is not None:
        batch["visible"] = torch.from_numpy(np.asarray(visible[ok], bool))
    pred = predictor.predict_inputs(batch)
    out[ok] = pred.joints_3d
    return out, pred


def predict_rows(predictor, dataset, rows, progress=None, source=None) -> Iterator[dict]:
    """Batches of predictions of ``rows`` of ``dataset`` (see the module docstring); ``source``:
    a predictor whose 2D a lifter lifts (ignored for other models)."""
    progress = progress or NullProgress()
    rows = np.asarray(rows, np.int64)
    total, done = max(len(rows), 1), 0
    source = source if lifts_2d(predictor) else None
    if source is not None and source.num_joints != predictor.num_joints:
        raise InputError(f"the 2D source predicts {source.num_joints} joints ({source.skeleton}), the lifter "
                         f"takes {predictor.num_joints} ({predictor.skeleton})")
    if takes_images(predictor) or source is not None:
        image_model = source or predictor
        for read, shapes, pred, skipped in _image_batches(image_model, dataset, rows, progress):
            j2 = None if pred is None else _to_image_px(pred.joints_2d, shapes, image_model.image_size)
            j3 = None if pred is None else pred.joints_3d
            if source is not None and j2 is not None:
                vis = None if dataset.visible is None else np.asarray(dataset.visible)[read]
                j3, pred = _lift(predictor, j2, vis)
            done += len(read) + len(skipped)
            progress.set_progress(min(done / total, 0.999))
            yield {"indices": read, "joints_3d": j3, "joints_2d": j2, "skipped": skipped,
                   "prediction": None if pred is None else pred.replace(heatmaps=None)}
        return
    if not lifts_2d(predictor):
        raise InputError(f"this {predictor.family.name} model takes {', '.join(sorted(predictor.family.inputs))}: "
                         "neither images nor 2D joints")
    if getattr(dataset, "joints_2d", None) is None:
        raise InputError(f"{dataset.path}: has no 2D joints for the lifter to lift")
    for a in range(0, len(rows), COLUMN_BATCH):
        check_cancelled(progress)
        chunk = rows[a:a + COLUMN_BATCH]
        gt2 = np.asarray(dataset.joints_2d[chunk], np.float32)
        vis = None if dataset.visible is None else np.asarray(dataset.visible[chunk], bool)
        j3, pred = _lift(predictor, gt2, vis)
        done += len(chunk)
        progress.set_progress(min(done / total, 0.999))
        yield {"indices": chunk, "joints_3d": j3, "joints_2d": None, "skipped": [], "prediction": pred}


@dataclass(frozen=True)
class SampleHeatmaps:
    """One image's heatmaps (J, h, w) over the S x S letterboxed input, the decoded 2D (J, 2) in
    the image's px, the peak scores (J,), the input size S and the image's (height, width)."""

    heatmaps: np.ndarray
    joints_2d: np.ndarray
    scores: np.ndarray | None
    input_size: int
    image_hw: tuple[int, int]


def has_heatmaps(predictor) -> bool:
    return predictor is not None and "heatmaps" in predictor.family.outputs


def sample_heatmaps(predictor, image: np.ndarray) -> SampleHeatmaps:
    """``image`` (H, W, 3) uint8 through a heatmap model (heatmap2d, multitask)."""
    if not has_heatmaps(predictor):
        raise InputError(f"this {predictor.family.name} model makes no heatmaps")
    x = predictor.preprocess(image)[None]
    pred = predictor.predict_inputs({"image": x, "heatmaps": True})
    h, w = image.shape[:2]
    j2 = _to_image_px(pred.joints_2d, [(h, w)], predictor.image_size)[0]
    return SampleHeatmaps(np.asarray(pred.heatmaps[0], np.float32), j2,
                          None if pred.scores is None else np.asarray(pred.scores[0], np.float32),
                          int(predictor.image_size), (int(h), int(w)))


def heatmap_picture(heatmaps: np.ndarray, image_hw: tuple[int, int], input_size: int, joint: int | None = None,
                    max_side: int = 256) -> np.ndarray:
    """(h', w') float32 in [0, 1] over the whole image (at most ``max_side`` px on its long side):
    the maximum over joints of ``heatmaps`` (J, h, w), or joint ``joint`` alone, scaled so its peak
    is 1 and mapped from the letterboxed S x S input onto the image (pixel centres kept)."""
    import cv2

    from hpe_core.datasets.transforms import letterbox_params

    maps = np.asarray(heatmaps, np.float32)
    if maps.ndim != 3:
        raise InputError(f"heatmaps: expected (J, h, w), got {maps.shape}")
    if joint is not None and not 0 <= joint < len(maps):
        raise InputError(f"joint {joint}: the heatmaps have {len(maps)} joints")
    m = np.clip(maps.max(axis=0) if joint is None else maps[joint], 0.0, None)
    peak = float(m.max()) if m.size else 0.0
    m = m / peak if peak > 0 else np.zeros_like(m)
    height, width = int(image_hw[0]), int(image_hw[1])
    size = int(input_size)
    square = cv2.resize(m, (size, size), interpolation=cv2.INTER_LINEAR)
    new_w, new_h, ox, oy = letterbox_params(height, width, size)
    crop = square[oy:oy + new_h, ox:ox + new_w]
    scale = min(1.0, max_side / max(height, width))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    return np.clip(cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def colourise(values: np.ndarray, max_alpha: float = 0.75, floor: float = 0.05) -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 4) uint8 RGBA: an inferno-like colour map, alpha growing with
    the value (transparent below ``floor``)."""
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    pos = v * (len(_ANCHORS) - 1)
    lo = np.minimum(pos.astype(np.int64), len(_ANCHORS) - 2)
    t = (pos - lo)[..., None]
    rgb = _ANCHORS[lo] * (1 - t) + _ANCHORS[lo + 1] * t
    alpha = np.where(v < floor, 0.0, max_alpha * np.sqrt(v)) * 255.0
    return np.ascontiguousarray(np.concatenate([rgb, alpha[..., None]], -1).round().astype(np.uint8))


def warm_up(predictor) -> None:
    """One small pass of each input kind, so the first real prediction does not pay set-up costs."""
    import torch

    if takes_images(predictor):
        blank = predictor.preprocess(np.zeros((predictor.image_size, predictor.image_size, 3), np.uint8))
        predictor.predict_batch(blank[None])
        predictor.predict_batch(torch.stack([blank] * predictor.batch_size))
    elif lifts_2d(predictor):
        grid = np.stack(np.meshgrid(np.arange(predictor.num_joints), [0.0]), -1).reshape(-1, 2)
        predictor.predict_inputs({"joints_2d": torch.from_numpy(np.repeat(grid[None], 2, 0).astype(np.float32))})
