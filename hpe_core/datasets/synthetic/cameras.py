"""A ring of cameras around the capture area, like the CMU Panoptic dome (every camera sees
every pose). World frame: y down, floor at ``y = 0``; the person stands near the origin."""

from __future__ import annotations

import numpy as np

from hpe_core.geometry import Camera, look_at

FILL = 1.2  # focal length / image size at 3 m: a standing person spans about two thirds of the height


def camera_ring(count: int, size: int, rng: np.random.Generator) -> dict[int, Camera]:
    """``count`` cameras at azimuths evenly spread (jittered), 2.8-3.4 m away, 0.6-2.2 m high,
    all aimed at the middle of a standing person, square ``size`` px images."""
    cams = {}
    offset = rng.uniform(0, 2 * np.pi)
    for c in range(count):
        azim = offset + 2 * np.pi * c / count + rng.uniform(-0.5, 0.5) * (np.pi / max(count, 2))
        radius = rng.uniform(2800, 3400)
        height = rng.uniform(600, 2200)
        eye = np.array([radius * np.sin(azim), -height, radius * np.cos(azim)])
        target = np.array([rng.uniform(-60, 60), -rng.uniform(880, 1000), rng.uniform(-60, 60)])
        R, t = look_at(eye, target)
        distance = np.linalg.norm(eye - target)
        f = FILL * size * distance / 3000.0 * rng.uniform(0.95, 1.05)
        c0 = (size - 1) / 2.0  # principal point at the centre: a horizontal flip is x -> -x
        K = np.array([[f, 0.0, c0], [0.0, f, c0], [0.0, 0.0, 1.0]])
        cams[c] = Camera(K=K, R=R, t=t, width=size, height=size, name=f"synth_{c:02d}")
    return cams
