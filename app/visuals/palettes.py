"""Colours of the analysis views: categorical palettes, binned sequential maps, diverging maps."""

from __future__ import annotations

import numpy as np

# Tableau 10 followed by its light companions: distinct on white and on the dark theme.
_QUALITATIVE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
    (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
], dtype=np.uint8)

# viridis at 9 stops (matplotlib's), interpolated for sequential values
_VIRIDIS = np.array([
    (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)], dtype=np.float64)
# a blue-white-red diverging map (ColorBrewer RdBu reversed) at 7 stops
_DIVERGING = np.array([
    (33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247), (253, 219, 199),
    (239, 138, 98), (178, 24, 43)], dtype=np.float64)


def categorical(n: int, alpha: int = 210) -> np.ndarray:
    """(n, 4) uint8 RGBA: Tableau 20 first, then evenly spaced hues."""
    n = max(int(n), 0)
    out = np.empty((n, 4), np.uint8)
    base = min(n, len(_QUALITATIVE))
    out[:base, :3] = _QUALITATIVE[:base]
    for i in range(base, n):
        h = ((i - base) * 0.61803398875) % 1.0
        out[i, :3] = _hsv(h, 0.65, 0.9)
    out[:, 3] = alpha
    return out


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _ramp(stops: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Interpolate (S, 3) colour stops at t (...) in 0..1 -> (..., 3) float."""
    t = np.clip(np.asarray(t, np.float64), 0.0, 1.0) * (len(stops) - 1)
    lo = np.floor(t).astype(int).clip(0, len(stops) - 2)
    f = (t - lo)[..., None]
    return stops[lo] * (1 - f) + stops[lo + 1] * f


def sequential(n: int, alpha: int = 220) -> np.ndarray:
    """(n, 4) uint8 viridis colours from dark (low) to yellow (high)."""
    out = np.empty((n, 4), np.uint8)
    out[:, :3] = np.round(_ramp(_VIRIDIS, np.linspace(0, 1, n)))
    out[:, 3] = alpha
    return out


def binned(values: np.ndarray, bins: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (N,) of ``values`` in ``bins`` equal bins over their 1st..99th percentile
    (NaN -> -1), the (bins, 4) palette and the (bins + 1,) bin edges."""
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return np.full(len(v), -1, np.int64), sequential(bins), np.linspace(0, 1, bins + 1)
    lo, hi = np.percentile(v[ok], [1, 99])
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    codes = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, bins - 1)
    return np.where(ok, codes, -1), sequential(bins), edges


def diverging_lut(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 lookup table for signed values (blue negative, white zero, red positive)."""
    return np.round(_ramp(_DIVERGING, np.linspace(0, 1, n))).astype(np.uint8)


def sequential_lut(n: int = 256) -> np.ndarray:
    """(n, 3) uint8 viridis lookup table."""
    return np.round(_ramp(_VIRIDIS, np.linspace(0, 1, n))).astype(np.uint8)
