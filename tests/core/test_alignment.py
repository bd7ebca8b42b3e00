"""The alignment before scoring: the vectorised Kabsch/Horn kernel against LAPACK's SVD on
degenerate cases (planar, collinear, mirrored, zero, symmetric), proper and optimal rotations,
a known similarity undone exactly."""

import numpy as np
import pytest

from hpe_core import rotation_fit as RF
from hpe_core.alignment import align
from hpe_core.geometry import procrustes, random_rotations, rotation_matrix
from hpe_core.rotation_fit import best_rotations
from pose_pairs import poses


def degenerate_pairs():
    rng = np.random.default_rng(20)
    base = rng.normal(size=(6, 17, 3)) * 200
    planar = base.copy()
    planar[:, :, 2] = 0
    line = np.linspace(-1, 1, 17)[None, :, None] * rng.normal(size=(6, 1, 3)) * 300
    near_planar = planar + rng.normal(scale=1e-7, size=planar.shape)
    mirror = base * np.array([1.0, 1.0, -1.0])
    R = random_rotations(6, rng)
    rotated = np.einsum("nab,njb->nja", R, base)
    return {"random": (base + rng.normal(size=base.shape) * 50, base), "identical": (base, base),
            "rotated": (rotated, base), "planar": (planar @ R[0], planar), "near_planar": (near_planar, planar),
            "collinear": (line, line @ R[1]), "mirror": (mirror, base), "zero": (0 * base, base),
            "symmetric": (np.tile(np.eye(3), (6, 1, 1)) @ R, np.tile(np.eye(3), (6, 1, 1)))}


@pytest.mark.parametrize("case", sorted(degenerate_pairs()))
@pytest.mark.parametrize("mode", ["rotation", "rigid", "similarity"])
def test_vectorised_alignment_equals_lapack_svd(case, mode):
    p, g = degenerate_pairs()[case]
    mask = np.ones(p.shape[:2], bool)
    fast = align(p, g, mask, mode)
    slow = procrustes(p, g, mode=mode)
    scale = max(np.abs(g).max(), 1.0)
    np.testing.assert_allclose(fast, slow, atol=1e-7 * scale)


@pytest.mark.parametrize("case", sorted(degenerate_pairs()))
def test_best_rotations_are_proper_and_optimal(case):
    p, g = degenerate_pairs()[case]
    H = np.swapaxes(p, 1, 2) @ g
    R, trace = best_rotations(H)
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.tile(np.eye(3), (len(R), 1, 1)), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)
    best = np.einsum("nba,nab->n", RF._svd_rotations(H), H)
    np.testing.assert_allclose(trace, best, atol=1e-9 * max(1.0, np.abs(H).max()))
    np.testing.assert_allclose(np.einsum("nba,nab->n", R, H), best, atol=1e-9 * max(1.0, np.abs(H).max()))


def test_known_rotation_is_undone_exactly():
    _, gt = poses(n=1, j=17)
    R = rotation_matrix([1.0, 2.0, 0.5], 2.5)
    pred = 0.8 * gt @ R.T + 100.0
    aligned = align(pred, gt, np.ones((1, 17), bool), "similarity")
    np.testing.assert_allclose(aligned, gt, atol=1e-9)


def test_fallback_catches_repeated_eigenvalues():
    pairs = degenerate_pairs()
    for case, expect in (("collinear", False), ("zero", False), ("random", True), ("planar", True)):
        p, g = pairs[case]
        H = np.swapaxes(p, 1, 2) @ g
        K = RF._horn_matrix(H)
        _, ok = RF._adjugate_eigenvector(K, RF._largest_eigenvalue(K, H))
        assert ok.tolist() == [expect] * len(H), case


@pytest.mark.parametrize("eps", [1e-2, 1e-5, 1e-8, 1e-11, 0.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_nearly_repeated_singular_values_stay_optimal(eps, sign):
    """sigma = (1, eps, sign * eps): Horn's top eigenvalues 1 + eps + sign*eps and 1 - eps -
    sign*eps nearly tie for mirror-like H; the rotation found must still be optimal."""
    R = random_rotations(2, np.random.default_rng(int(eps * 1e12) % 97))
    H = R[:1] @ np.diag([1.0, eps, sign * eps]) @ R[1:]
    rot, trace = best_rotations(H)
    best = np.einsum("nba,nab->n", RF._svd_rotations(H), H)
    assert np.linalg.det(rot[0]) == pytest.approx(1.0)
    assert trace[0] == pytest.approx(best[0], abs=1e-12)
    assert np.einsum("ba,ab->", rot[0], H[0]) == pytest.approx(best[0], abs=1e-12)
