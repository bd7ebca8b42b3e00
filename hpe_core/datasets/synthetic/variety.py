"""Views that differ more: the ``views="varied"`` rendering of the synthetic set (opt-in).

Each camera's view of a pose gets its own light direction, a textured wall (stripes, checks or
grain over the plain wall), 0-2 occluders laid over the person (a bar, a box or a disc), a
colour cast, a brightness and contrast change, sensor noise and sometimes a blur. The pose, the
camera and the person's looks stay shared by all views, so the views of one pose (the positive
pairs of contrastive learning) differ in everything a pose label does not depend on.

Every draw comes from its own stream ``[seed, 5, index]``: the plain rendering (the default)
is unchanged, byte for byte.
"""

from __future__ import annotations

import cv2
import numpy as np

VIEWS = ("plain", "varied")


def rng_for(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, 5, index])


def light(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A light direction of this view: ``base`` turned by a random amount, still from above."""
    v = base + rng.normal(0.0, 0.8, 3)
    v[1] = -abs(v[1]) - 0.2
    return v / np.linalg.norm(v)


def texture(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The wall with a high-frequency pattern laid over it (in place on a copy)."""
    size = img.shape[0]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    kind = int(rng.integers(3))
    amp = rng.uniform(15, 50)
    if kind == 0:  # stripes at a random angle and period
        a, period = rng.uniform(0, np.pi), rng.uniform(3, 12)
        pattern = np.sign(np.sin((xx * np.cos(a) + yy * np.sin(a)) * 2 * np.pi / period))
    elif kind == 1:  # checks
        period = rng.uniform(4, 14)
        pattern = np.sign(np.sin(xx * np.pi / period) * np.sin(yy * np.pi / period))
    else:  # grain
        pattern = rng.normal(0, 0.7, (size, size)).astype(np.float32)
    tint = rng.uniform(0.3, 1.0, 3).astype(np.float32)
    out = img.astype(np.float32) + amp * pattern[..., None] * tint
    return np.clip(out, 0, 255).astype(np.uint8)


def occlude(img: np.ndarray, uv: np.ndarray, rng: np.random.Generator) -> None:
    """Draw 0-2 occluders (bars, boxes, discs) over the person's box (``uv``: its 2D joints)."""
    size = img.shape[0]
    ok = np.isfinite(uv).all(-1)
    if not ok.any():
        return
    lo, hi = uv[ok].min(0), uv[ok].max(0)
    for _ in range(int(rng.choice(3, p=(0.35, 0.45, 0.2)))):
        cx, cy = rng.uniform(lo, hi)
        colour = tuple(int(c) for c in rng.uniform(0, 255, 3))
        kind = int(rng.integers(3))
        if kind == 0:  # a bar across the image (a pole, a rail)
            w = int(rng.uniform(0.04, 0.09) * size)
            if rng.random() < 0.5:
                cv2.rectangle(img, (int(cx) - w, 0), (int(cx) + w, size), colour, -1)
            else:
                cv2.rectangle(img, (0, int(cy) - w), (size, int(cy) + w), colour, -1)
        elif kind == 1:  # a box
            w, h = rng.uniform(0.1, 0.25, 2) * size
            cv2.rectangle(img, (int(cx - w / 2), int(cy - h / 2)), (int(cx + w / 2), int(cy + h / 2)), colour, -1)
        else:  # a disc
            cv2.circle(img, (int(cx), int(cy)), int(rng.uniform(0.06, 0.14) * size), colour, -1, cv2.LINE_AA)


def camera_effects(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A colour cast, brightness and contrast, sensor noise and sometimes a blur."""
    x = img.astype(np.float32)
    mean = x.mean()
    x = (x - mean) * rng.uniform(0.6, 1.3) + mean * rng.uniform(0.6, 1.3)
    x *= rng.uniform(0.75, 1.25, 3).astype(np.float32)
    x += rng.normal(0, rng.uniform(0, 10), x.shape).astype(np.float32)
    out = np.clip(x, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.6, 1.4))
    return out
