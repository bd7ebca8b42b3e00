"""Looks of the synthetic people and their surroundings: skin, hair, clothing, backgrounds.

Clothing of the upper and lower body always differs in hue or brightness, and nothing is
coloured by body side: left and right must be told apart from the body itself (the face,
the feet, the chest print, which limb hides which).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

SKIN = ((255, 224, 196), (241, 194, 167), (224, 172, 138), (198, 134, 97), (160, 104, 70),
        (120, 76, 50), (87, 56, 38))
HAIR = ((20, 18, 18), (60, 40, 25), (110, 75, 40), (200, 170, 110), (150, 60, 30), (170, 170, 170))
SHOES = ((25, 25, 28), (60, 45, 35), (235, 235, 235), (120, 30, 30), (40, 60, 110))


@dataclass(frozen=True)
class Look:
    """Colours (RGB 0-255) of one subject and which garments cover what."""

    skin: tuple
    hair: tuple
    shirt: tuple
    print_: tuple  # the chest print, on the front only
    pants: tuple
    shoes: tuple
    long_sleeves: bool
    long_pants: bool


def _hsv(h: float, s: float, v: float) -> tuple:
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def make_look(rng: np.random.Generator) -> Look:
    shirt_h = rng.random()
    shirt = _hsv(shirt_h, rng.uniform(0.35, 0.9), rng.uniform(0.45, 0.95))
    if rng.random() < 0.35:  # jeans, khaki or black trousers
        pants = (((40, 60, 110), (190, 170, 120), (30, 30, 35), (90, 90, 95))[rng.integers(4)])
    else:
        pants = _hsv(shirt_h + rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.8), rng.uniform(0.25, 0.7))
    if abs(np.mean(shirt) - np.mean(pants)) < 35 and rng.random() < 0.5:
        pants = tuple(int(c * 0.5) for c in pants)
    print_ = _hsv(shirt_h + 0.5, rng.uniform(0.0, 0.6), 1.0 - 0.7 * (np.mean(shirt) > 150))
    return Look(skin=SKIN[rng.integers(len(SKIN))], hair=HAIR[rng.integers(len(HAIR))], shirt=shirt,
                print_=print_, pants=pants, shoes=SHOES[rng.integers(len(SHOES))],
                long_sleeves=bool(rng.random() < 0.5), long_pants=bool(rng.random() < 0.75))


def background(rng: np.random.Generator, size: int) -> tuple[np.ndarray, tuple]:
    """(size, size, 3) uint8 wall (gradient + low-frequency texture + a few shapes), floor colour."""
    top = rng.uniform(40, 235, 3)
    bottom = np.clip(top * rng.uniform(0.6, 1.2) + rng.uniform(-40, 40, 3), 0, 255)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    img = (top * (1 - ramp) + bottom * ramp) * np.ones((1, size, 1), np.float32)
    import cv2

    cells = int(rng.integers(3, 7))
    texture = rng.normal(0, rng.uniform(4, 18), (cells, cells, 3)).astype(np.float32)
    img += cv2.resize(texture, (size, size), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 4))):
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 10, size // 3, 2)
        colour = tuple(int(c) for c in np.clip(top + rng.uniform(-70, 70, 3), 0, 255))
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + w), int(y0 + h)), colour, -1)
    floor = tuple(int(c) for c in np.clip(rng.uniform(50, 210, 3) * rng.uniform(0.7, 1.0), 0, 255))
    return img, floor
