"""Encoding a rendered view, or the planted fault that replaces it.

- ``green``: an entirely green frame (saturated green channel, a faint trace of the scene), as
  seed 000 found in CMU Panoptic;
- ``black``: an almost black frame;
- ``truncated``: the real JPEG cut short, as an interrupted copy leaves it.
"""

from __future__ import annotations

import cv2
import numpy as np


def encode(image: np.ndarray, quality: int, fault: str | None, rng: np.random.Generator) -> bytes:
    """JPEG bytes of ``image`` (H, W, 3) RGB, or of the fault ``fault`` planted instead."""
    if fault == "green":  # saturated green with a faint trace of the scene
        gray = image.mean(axis=2)
        image = np.zeros_like(image)
        image[..., 1] = np.clip(222 + gray * 33 / 255 + rng.normal(0, 1.5, gray.shape), 0, 255)
        image[..., 0] = np.clip(gray * 0.12 + rng.integers(0, 6, gray.shape), 0, 255)
        image[..., 2] = np.clip(gray * 0.08 + rng.integers(0, 6, gray.shape), 0, 255)
    elif fault == "black":
        image = rng.integers(0, 4, image.shape).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 RGB image
        raise RuntimeError("JPEG encoding failed")
    data = buf.tobytes()
    if fault == "truncated":
        data = data[: int(len(data) * rng.uniform(0.3, 0.7))]
    return data
