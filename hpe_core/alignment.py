"""Alignment of predicted poses to the ground truth before they are scored (:mod:`hpe_core.metrics`),
batched over N samples and fitted only on each sample's evaluated joints.

Modes (:data:`ALIGNMENTS`): ``"none"``; ``"scale"`` (N-MPJPE, the least-squares scale ``s p``);
``"rotation"`` (``R p`` about the origin: root-centre first); ``"rigid"`` (``R p + t``);
``"similarity"`` (``s R p + t``, PA-MPJPE, Protocol #2). Rotations never include a mirror image
(:func:`hpe_core.rotation_fit.best_rotations`). Works on float64 numpy ``(N, J, 3)``.
"""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.rotation_fit import best_rotations, dot_rows, safe_div

ALIGNMENTS = ("none", "scale", "rotation", "rigid", "similarity")
CHUNK = 4096  # samples aligned at once: temporaries stay in cache, memory stays bounded


def align(p: np.ndarray, g: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """``p`` ``(N,J,3)`` aligned to ``g`` by ``mode`` (one of :data:`ALIGNMENTS`), fitted on the
    joints where ``mask`` ``(N,J)`` is True (the others take no part). Returns ``(N,J,3)``."""
    check_alignment(mode)
    if mode == "none":
        return p
    out = np.empty_like(p)
    for sl in chunks(len(p)):
        out[sl] = align_chunk(p[sl], g[sl], mask[sl], mode)
    return out


def chunks(n: int, size: int = CHUNK):
    """Slices of at most ``size`` samples covering ``range(n)``."""
    return (slice(start, start + size) for start in range(0, n, size))


def check_alignment(mode: str) -> None:
    """InputError unless ``mode`` is one of :data:`ALIGNMENTS`."""
    if mode not in ALIGNMENTS:
        raise InputError(f"align: expected one of {', '.join(ALIGNMENTS)}, got {mode!r}")


def align_chunk(p: np.ndarray, g: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """:func:`align` of one chunk of samples (``mode`` checked, not ``"none"``)."""
    full = bool(mask.all())
    w = mask.astype(np.float64)
    p0 = p if full else np.where(mask[..., None], p, 0.0)
    g0 = g if full else np.where(mask[..., None], g, 0.0)
    if mode == "scale":
        s = safe_div(dot_rows(p0, g0).sum(1), dot_rows(p0, p0).sum(1))
        return s[:, None, None] * p
    if mode == "rotation":
        mu_p = mu_g = np.zeros((len(p), 1, 3))
    else:
        count = w.sum(axis=1)[:, None, None]
        mu_p, mu_g = (w[:, None, :] @ p0) / count, (w[:, None, :] @ g0) / count
    pc = p0 - mu_p if full else (p0 - mu_p) * w[..., None]
    H = np.swapaxes(pc, 1, 2) @ g0  # (N,3,3): H[a, b] = sum_j w p_a (g_b - mu_g_b)
    R, trace = best_rotations(H)
    Rt = np.ascontiguousarray(np.swapaxes(R, 1, 2))
    if mode == "similarity":
        Rt *= safe_div(trace, dot_rows(pc, pc).sum(1))[:, None, None]
    out = (pc if full else p - mu_p) @ Rt
    out += mu_g
    return out
