"""One image's heatmaps for a viewer, and readying a predictor.

    hm = sample_heatmaps(predictor, image)              # one image: heatmaps + decoded 2D (image px)
    rgba = colourise(heatmap_picture(hm.heatmaps, image.shape[:2], hm.input_size, joint=None))

A heatmap model sees the letterboxed S x S input; its 2D is mapped back to the image, and
:func:`heatmap_picture` maps a heatmap onto the image the same way. torch loads on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError

# An "inferno"-like colour map: anchors at 0, 0.25, 0.5, 0.75, 1 (RGB 0-255).
_ANCHORS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], np.float64)


def takes_images(predictor) -> bool:
    return "image" in predictor.family.inputs


def lifts_2d(predictor) -> bool:
    """A model that takes 2D joints (and no image): a lifter."""
    return not takes_images(predictor) and "pose2d" in predictor.family.inputs


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
    from hpe_core.datasets.transforms import unletterbox_joints

    if not has_heatmaps(predictor):
        raise InputError(f"this {predictor.family.name} model makes no heatmaps")
    x = predictor.preprocess(image)[None]
    pred = predictor.predict_inputs({"image": x, "heatmaps": True})
    h, w = image.shape[:2]
    j2 = unletterbox_joints(pred.joints_2d[0], h, w, predictor.image_size).astype(np.float32)
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
