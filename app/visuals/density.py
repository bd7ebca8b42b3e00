"""A density image of many points: counts per pixel, coloured by each pixel's majority code.

``density_image(xy (N, 2), codes (N,), palette (K, 4) uint8, transform, width, height)`` bins the
points into the pixels of a ``width`` x ``height`` view (``transform`` = the view's affine map
from data to pixels, ``(m11, m21, dx, m12, m22, dy)`` as ``QTransform`` names them) and returns
``(image (height, width) uint32 ARGB, points in view)``; a 3D view passes its projection as a
(4, 4) homogeneous matrix instead. A pixel takes the colour of the code most
of its points have (code -1 or out of the palette: :data:`UNKNOWN` grey) and an opacity that grows
with the logarithm of its count, from :data:`MIN_ALPHA` for one point to the palette's alpha for
the fullest pixel, so a lone point stays visible and dense cores stay readable (a pixel's count per
code saturates at 65,535, past where the opacity no longer changes visibly). One pass over the
points and one over the pixels, compiled with numba (cached on disk: only the first use on a
machine compiles), so it costs the same however many points fall on one pixel.
"""

from __future__ import annotations

import numpy as np

UNKNOWN = (150, 150, 150, 140)
MIN_ALPHA = 0.35  # the opacity of a pixel with one point, as a share of its colour's alpha

_kernels = None


def _bin(pts, codes, table, m, w, h):  # compiled by numba (see _compile)
    """(h * w, K) uint16 counts per pixel and code, and the points inside, for ``[x y z 1] @ m``."""
    k = table.shape[0]  # the palette and, last, the unknown grey
    counts = np.zeros((h * w, k), np.uint16)  # saturating at 65,535: half the memory traffic of int32
    inside = 0
    three = pts.shape[1] == 3
    flat = not three and m[0, 3] == 0.0 and m[1, 3] == 0.0 and m[3, 3] == 1.0  # 2D affine: no divide
    a00, a10, a30, a01, a11, a31 = m[0, 0], m[1, 0], m[3, 0], m[0, 1], m[1, 1], m[3, 1]
    for i in range(pts.shape[0]):
        x, y = pts[i, 0], pts[i, 1]
        if flat:
            px = x * a00 + y * a10 + a30
            py = x * a01 + y * a11 + a31
        else:
            z = pts[i, 2] if three else 0.0
            q = x * m[0, 3] + y * m[1, 3] + z * m[2, 3] + m[3, 3]  # homogeneous: [x y z 1] @ m
            if not q > 0.0:  # behind the camera (or NaN)
                continue
            px = (x * a00 + y * a10 + z * m[2, 0] + a30) / q
            py = (x * a01 + y * a11 + z * m[2, 1] + a31) / q
        if px >= 0.0 and px < w and py >= 0.0 and py < h:
            c = codes[i]
            if c < 0 or c >= k - 1:
                c = k - 1
            p = int(py) * w + int(px)
            if counts[p, c] < 65535:
                counts[p, c] += 1
            inside += 1
    return counts, inside


def _colour(counts, table, min_alpha):  # compiled by numba (see _compile)
    """(P,) uint32 ARGB: each pixel in its majority code's colour (the lowest code on a tie), its
    opacity from ``min_alpha`` (one point) to the colour's alpha (the fullest pixel), by log count."""
    n_pixels, k = counts.shape
    totals = np.zeros(n_pixels, np.int64)
    for p in range(n_pixels):
        for c in range(k):
            totals[p] += counts[p, c]
    top = max(totals.max(), 1)
    scale = 1.0 / np.log1p(top) if top > 1 else 0.0
    image = np.zeros(n_pixels, np.uint32)
    for p in range(n_pixels):
        if totals[p] == 0:
            continue
        best = 0
        for c in range(1, k):
            if counts[p, c] > counts[p, best]:
                best = c
        share = min_alpha + (1.0 - min_alpha) * np.log1p(totals[p]) * scale if scale > 0 else 1.0
        a = np.uint32(min(255.0, table[best, 3] * share + 0.5))
        image[p] = (a << 24) | (np.uint32(table[best, 0]) << 16) | (np.uint32(table[best, 1]) << 8) \
            | np.uint32(table[best, 2])
    return image


def _compile():
    """The two passes compiled (numba's cache on disk: only the first use on a machine compiles)."""
    global _kernels
    if _kernels is None:
        from hpe_core.analysis.numba_cache import import_numba

        numba = import_numba()
        _kernels = tuple(numba.njit(cache=True, nogil=True)(f) for f in (_bin, _colour))
    return _kernels


def affine_matrix(transform) -> np.ndarray:
    """(4, 4) row-vector matrix of a 2D affine map ``(m11, m21, dx, m12, m22, dy)`` (``QTransform``'s
    names: ``x' = m11 x + m21 y + dx``, ``y' = m12 x + m22 y + dy``)."""
    m11, m21, dx, m12, m22, dy = (float(v) for v in transform)
    return np.array([[m11, m12, 0, 0], [m21, m22, 0, 0], [0, 0, 1, 0], [dx, dy, 0, 1]], np.float64)


def density_image(points: np.ndarray, codes: np.ndarray, palette: np.ndarray, transform, width: int,
                  height: int) -> tuple[np.ndarray, int]:
    """``(image (height, width) uint32 ARGB, points inside the view)``; see the module docstring.

    points: (N, 2) or (N, 3) data coordinates; codes: (N,) int64 (-1: unknown); palette: (K, 4) uint8;
    transform: 6 numbers of a 2D affine map to pixels (:func:`affine_matrix`), or a (4, 4) homogeneous
    matrix applied to row vectors ``[x, y, z, 1] @ M`` then divided by the 4th coordinate (a 3D view's
    projection; points with a 4th coordinate <= 0 are behind the camera and left out).
    """
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] not in (2, 3):
        raise ValueError(f"points: expected (N, 2) or (N, 3), got {pts.shape}")
    pts = np.ascontiguousarray(pts, np.float64)  # one compiled variant (a float32 one would compile again)
    codes = np.ascontiguousarray(codes, np.int64).reshape(-1)
    if len(codes) != len(pts):
        raise ValueError(f"{len(codes)} colour codes for {len(pts)} points")
    m = np.asarray(transform, np.float64)
    m = affine_matrix(m) if m.shape == (6,) else m.reshape(4, 4)
    table = np.vstack([np.asarray(palette, np.uint8).reshape(-1, 4), np.asarray(UNKNOWN, np.uint8)])
    width, height = max(int(width), 1), max(int(height), 1)
    bin_points, colour = _compile()
    table = table.astype(np.int64)
    counts, inside = bin_points(pts, codes, table, m, width, height)
    return colour(counts, table, float(MIN_ALPHA)).reshape(height, width), int(inside)


def warm_up() -> None:
    """Compile (first use on a machine) or load the kernel, e.g. in a thread before the first paint."""
    density_image(np.zeros((1, 2)), np.zeros(1, np.int64), np.zeros((1, 4), np.uint8), (1, 0, 0, 0, 1, 0), 1, 1)
