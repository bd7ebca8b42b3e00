"""Batched best rotations for Kabsch/Procrustes alignment, fast on many small problems.

``best_rotations(H)`` returns, for each (3, 3) cross-covariance ``H``, the proper rotation
(``det = +1``: a mirror image is never fitted) maximising ``tr(R H)``, via Horn's
quaternion method (the largest eigenvalue of a 4x4 symmetric matrix, found by Newton steps on
its characteristic polynomial, eigenvector from the adjugate). Degenerate cases (collinear or
zero poses) fall back to LAPACK's SVD. Used by :mod:`hpe_core.metrics`.
"""

from __future__ import annotations

import numpy as np


def dot_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot products over the last axis of ``(..., 3)`` arrays (fast for tiny axes)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a), where=np.abs(b) > 1e-300)


def best_rotations(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kabsch with the reflection fix, batched: proper rotations ``R`` ``(N,3,3)`` maximising
    ``tr(R H)`` for ``H = sum_j p_j g_j^T`` ``(N,3,3)``, so that ``R p ~ g``; and ``tr(R H)`` ``(N,)``
    (for the scale of a similarity).

    Horn's quaternion method, vectorised: the largest eigenvalue of Horn's 4x4 matrix by Newton
    on its characteristic polynomial (Theobald's QCP), the eigenvector from the adjugate. Samples
    whose eigen-gap is too small to trust it (e.g. collinear joints) fall back to LAPACK's SVD.
    """
    K = _horn_matrix(H)
    lam = _largest_eigenvalue(K, H)
    q, ok = _adjugate_eigenvector(K, lam)
    R = _quaternion_to_matrix(q)
    bad = np.flatnonzero(~ok)
    if bad.size:
        R[bad] = _svd_rotations(H[bad])
    return R, (np.swapaxes(R, 1, 2) * H).reshape(-1, 9).sum(1)


def _horn_matrix(H: np.ndarray) -> np.ndarray:
    xx, xy, xz, yx, yy, yz, zx, zy, zz = H.reshape(-1, 9).T
    rows = ((xx + yy + zz, yz - zy, zx - xz, xy - yx),
            (yz - zy, xx - yy - zz, xy + yx, zx + xz),
            (zx - xz, xy + yx, -xx + yy - zz, yz + zy),
            (xy - yx, zx + xz, yz + zy, -xx - yy + zz))
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _largest_eigenvalue(K: np.ndarray, H: np.ndarray, iterations: int = 100) -> np.ndarray:
    """Largest root ``(N,)`` of ``det(lam I - K) = lam^4 + c2 lam^2 + c1 lam + c0``: Newton from
    the upper bound ``sqrt(3) |H|_F`` decreases monotonically onto it (all roots are real)."""
    c2 = -2.0 * (H * H).reshape(-1, 9).sum(1)
    c1 = -8.0 * _det3(H)
    c0 = _adjugate4(K)[1]
    lam = np.sqrt(-1.5 * c2) * (1 + 1e-9)
    done = False
    for _ in range(iterations):
        lam2 = lam * lam
        step = safe_div((lam2 + c2) * lam2 + c1 * lam + c0, (4.0 * lam2 + 2.0 * c2) * lam + c1)
        lam -= step
        if done:  # one more step after 1e-10: quadratic convergence reaches round-off
            break
        done = bool(np.all(np.abs(step) <= 1e-10 * np.abs(lam)))
    return lam


def _det3(m: np.ndarray) -> np.ndarray:
    """Determinants of ``(N, 3, 3)`` matrices, written out (faster than LAPACK for tiny ones)."""
    return (m[:, 0, 0] * (m[:, 1, 1] * m[:, 2, 2] - m[:, 1, 2] * m[:, 2, 1])
            - m[:, 0, 1] * (m[:, 1, 0] * m[:, 2, 2] - m[:, 1, 2] * m[:, 2, 0])
            + m[:, 0, 2] * (m[:, 1, 0] * m[:, 2, 1] - m[:, 1, 1] * m[:, 2, 0]))


def _adjugate4(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjugates ``(N,4,4)`` and determinants ``(N,)`` of ``(N,4,4)`` matrices from 2x2 minors."""
    (a00, a01, a02, a03), (a10, a11, a12, a13), (a20, a21, a22, a23), (a30, a31, a32, a33) = (
        [A[:, r, c] for c in range(4)] for r in range(4))
    s0, s1, s2 = a00 * a11 - a10 * a01, a00 * a12 - a10 * a02, a00 * a13 - a10 * a03
    s3, s4, s5 = a01 * a12 - a11 * a02, a01 * a13 - a11 * a03, a02 * a13 - a12 * a03
    c0, c1, c2 = a20 * a31 - a30 * a21, a20 * a32 - a30 * a22, a20 * a33 - a30 * a23
    c3, c4, c5 = a21 * a32 - a31 * a22, a21 * a33 - a31 * a23, a22 * a33 - a32 * a23
    adj = np.stack([
        a11 * c5 - a12 * c4 + a13 * c3, -a01 * c5 + a02 * c4 - a03 * c3,
        a31 * s5 - a32 * s4 + a33 * s3, -a21 * s5 + a22 * s4 - a23 * s3,
        -a10 * c5 + a12 * c2 - a13 * c1, a00 * c5 - a02 * c2 + a03 * c1,
        -a30 * s5 + a32 * s2 - a33 * s1, a20 * s5 - a22 * s2 + a23 * s1,
        a10 * c4 - a11 * c2 + a13 * c0, -a00 * c4 + a01 * c2 - a03 * c0,
        a30 * s4 - a31 * s2 + a33 * s0, -a20 * s4 + a21 * s2 - a23 * s0,
        -a10 * c3 + a11 * c1 - a12 * c0, a00 * c3 - a01 * c1 + a02 * c0,
        -a30 * s3 + a31 * s1 - a32 * s0, a20 * s3 - a21 * s1 + a22 * s0,
    ], axis=1).reshape(-1, 4, 4)
    det = s0 * c5 - s1 * c4 + s2 * c3 + s3 * c2 - s4 * c1 + s5 * c0
    return adj, det


def _adjugate_eigenvector(K: np.ndarray, lam: np.ndarray, tol: float = 1e-6):
    """Unit eigenvectors ``(N,4)`` of symmetric ``K`` for the simple eigenvalue ``lam``: the
    largest column of ``adj(K - lam I)`` (rank one, ``~ q q^T``); ``ok`` ``(N,)`` is False where
    that column is too small against ``|K|^3`` to be trusted (a near-repeated eigenvalue)."""
    adj, _ = _adjugate4(K - lam[:, None, None] * np.eye(4))
    diag = np.abs(np.diagonal(adj, axis1=1, axis2=2))
    q = adj[np.arange(len(K)), :, diag.argmax(axis=1)]
    norm = np.sqrt((q * q).sum(1))
    ok = np.isfinite(norm) & (diag.max(axis=1) > tol * (K * K).reshape(-1, 16).sum(1) ** 1.5)
    return q / np.where(ok, norm, 1.0)[:, None], ok


def _quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(N,3,3)`` of unit quaternions ``(w, x, y, z)`` ``(N,4)``."""
    w, x, y, z = q.T
    return np.stack([
        w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z,
    ], axis=1).reshape(-1, 3, 3)


def _svd_rotations(H: np.ndarray) -> np.ndarray:
    """Kabsch by LAPACK SVD with the reflection fix: ``R = V diag(1, 1, d) U^T``."""
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(U @ Vt))
    d[d == 0] = 1.0
    V = np.swapaxes(Vt, 1, 2).copy()
    V[:, :, 2] *= d[:, None]
    return V @ np.swapaxes(U, 1, 2)
