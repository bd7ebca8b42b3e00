"""A density image of many points: counts per pixel, coloured by each pixel's majority code.

``density_image(xy (N, 2), codes (N,), palette (K, 4) uint8, transform, width, height)`` bins the
points into the pixels of a ``width`` x ``height`` view (``transform`` = the view's affine map
from data to pixels, ``(m11, m21, dx, m12, m22, dy)`` as ``QTransform`` names them) and returns
``(image (height, width) uint32 ARGB, points in view)``. A pixel takes the colour of the code most
of its points have (code -1 or out of the palette: :data:`UNKNOWN` grey) and an opacity that grows
with the logarithm of its count, from :data:`MIN_ALPHA` for one point to the palette's alpha for
the fullest pixel, so a lone point stays visible and dense cores stay readable. One pass over the
points and one over the pixels, compiled with numba (cached on disk: only the first use on a
machine compiles), so it costs the same however many points fall on one pixel.
"""

from __future__ import annotations

import numpy as np

UNKNOWN = (150, 150, 150, 140)
MIN_ALPHA = 0.35  # the opacity of a pixel with one point, as a share of its colour's alpha

_kernel = None


def _compile():
    global _kernel
    if _kernel is not None:
        return _kernel
    from hpe_core.analysis.numba_cache import import_numba

    numba = import_numba()

    @numba.njit(cache=True, nogil=True)
    def kernel(xy, codes, table, m, w, h, min_alpha):  # pragma: no cover - compiled
        k = table.shape[0]  # the palette and, last, the unknown grey
        counts = np.zeros((h * w, k), np.int32)
        inside = 0
        for i in range(xy.shape[0]):
            px = m[0] * xy[i, 0] + m[1] * xy[i, 1] + m[2]
            py = m[3] * xy[i, 0] + m[4] * xy[i, 1] + m[5]
            if px >= 0.0 and px < w and py >= 0.0 and py < h:
                c = codes[i]
                if c < 0 or c >= k - 1:
                    c = k - 1
                counts[int(py) * w + int(px), c] += 1
                inside += 1
        totals = counts.sum(axis=1)
        top = max(totals.max(), 1)
        scale = 1.0 / np.log1p(top) if top > 1 else 0.0
        image = np.zeros(h * w, np.uint32)
        for p in range(h * w):
            n = totals[p]
            if n == 0:
                continue
            best = 0
            for c in range(1, k):
                if counts[p, c] > counts[p, best]:
                    best = c
            share = min_alpha + (1.0 - min_alpha) * np.log1p(n) * scale if scale > 0 else 1.0
            a = np.uint32(min(255.0, table[best, 3] * share + 0.5))
            image[p] = (a << 24) | (np.uint32(table[best, 0]) << 16) | (np.uint32(table[best, 1]) << 8) \
                | np.uint32(table[best, 2])
        return image.reshape(h, w), inside

    _kernel = kernel
    return kernel


def density_image(xy: np.ndarray, codes: np.ndarray, palette: np.ndarray, transform, width: int,
                  height: int) -> tuple[np.ndarray, int]:
    """``(image (height, width) uint32 ARGB, points inside the view)``; see the module docstring.

    xy: (N, 2) float64 data coordinates; codes: (N,) int64 (-1: unknown); palette: (K, 4) uint8;
    transform: 6 numbers (m11, m21, dx, m12, m22, dy) mapping data to pixel coordinates.
    """
    xy = np.ascontiguousarray(xy, np.float64).reshape(-1, 2)
    codes = np.ascontiguousarray(codes, np.int64).reshape(-1)
    if len(codes) != len(xy):
        raise ValueError(f"{len(codes)} colour codes for {len(xy)} points")
    table = np.vstack([np.asarray(palette, np.uint8).reshape(-1, 4), np.asarray(UNKNOWN, np.uint8)])
    width, height = max(int(width), 1), max(int(height), 1)
    image, inside = _compile()(xy, codes, table.astype(np.int64), np.asarray(transform, np.float64), width, height,
                               float(MIN_ALPHA))
    return image, int(inside)


def warm_up() -> None:
    """Compile (first use on a machine) or load the kernel, e.g. in a thread before the first paint."""
    density_image(np.zeros((1, 2)), np.zeros(1, np.int64), np.zeros((1, 4), np.uint8), (1, 0, 0, 0, 1, 0), 1, 1)
