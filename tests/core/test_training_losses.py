"""Training objectives against slow references from the papers, closed forms and invariances."""

import math

import numpy as np
import pytest
import torch

from hpe_core.geometry import procrustes, random_rotations
from hpe_core.training.losses import nt_xent, pose_errors, rotation_aligned_mse, simsiam_loss

torch.set_default_dtype(torch.float32)


def nt_xent_reference(z1, z2, tau):
    """SimCLR eq. (1), one anchor at a time, averaged over all 2N anchors."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        denom = sum(math.exp(z[i] @ z[k] / tau) for k in range(n2) if k != i)
        total += -math.log(math.exp(z[i] @ z[j] / tau) / denom)
    return total / n2


@pytest.mark.parametrize("n, d, tau", [(2, 3, 0.5), (5, 8, 0.1), (8, 16, 1.0)])
def test_nt_xent_matches_reference(n, d, tau):
    rng = np.random.default_rng(n * 100 + d)
    z1, z2 = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    ours = nt_xent(torch.tensor(z1), torch.tensor(z2), tau)
    assert float(ours) == pytest.approx(nt_xent_reference(z1, z2, tau), rel=1e-5)


def test_nt_xent_closed_form_orthonormal_pairs():
    e = torch.eye(2)
    tau = 0.5
    expected = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 2))
    assert float(nt_xent(e, e.clone(), tau)) == pytest.approx(expected, rel=1e-6)


def test_nt_xent_invariances():
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    base = nt_xent(z1, z2, 0.2)
    q = torch.tensor(random_rotations(1, np.random.default_rng(0))[0], dtype=torch.float32)
    q5 = torch.eye(5)
    q5[:3, :3] = q
    perm = torch.randperm(6, generator=g)
    scale = torch.rand(6, 1, generator=g) + 0.5
    assert float(nt_xent(z1 @ q5, z2 @ q5, 0.2)) == pytest.approx(float(base), rel=1e-5)  # rotation
    assert float(nt_xent(z1[perm], z2[perm], 0.2)) == pytest.approx(float(base), rel=1e-5)  # pair order
    assert float(nt_xent(z1 * scale, z2 * 3, 0.2)) == pytest.approx(float(base), rel=1e-5)  # norms
    assert float(nt_xent(z2, z1, 0.2)) == pytest.approx(float(base), rel=1e-5)  # view order


def test_simsiam_reference_closed_form_and_stop_gradient():
    rng = np.random.default_rng(1)
    p1, p2, z1, z2 = (rng.normal(size=(4, 6)) for _ in range(4))

    def cos(a, b):
        return np.mean([x @ y / np.linalg.norm(x) / np.linalg.norm(y) for x, y in zip(a, b)])

    ref = -0.5 * cos(p1, z2) - 0.5 * cos(p2, z1)
    t = [torch.tensor(a, requires_grad=True) for a in (p1, p2, z1, z2)]
    loss = simsiam_loss(*t)
    assert float(loss.detach()) == pytest.approx(ref, rel=1e-6)
    loss.backward()
    assert t[0].grad is not None and t[2].grad is None and t[3].grad is None  # stop-gradient on z
    z = torch.randn(3, 4)
    assert float(simsiam_loss(z * 2, z, z, z)) == pytest.approx(-1.0, abs=1e-6)


# ----------------------------------------------------------------------------- pose losses
def _poses(n=6, j=19, seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=300.0, size=(n, j, 3))
    gt -= gt[:, :1]
    pred = gt + rng.normal(scale=80.0, size=gt.shape)
    pred -= pred[:, :1]
    return pred, gt


def rotation_mse_reference(pred, gt, unit):
    """Seed 000 section 3.1 pose by pose: Kabsch about the root with the determinant check, then MSE."""
    total = []
    for p, g in zip(pred, gt):
        u, _, vt = np.linalg.svd(p.T @ g)
        d = np.sign(np.linalg.det(u @ vt))
        r = (u @ np.diag([1, 1, d]) @ vt).T  # rotates p onto g: g ~ p @ r.T
        total.append(np.mean(((p @ r.T - g) / unit) ** 2))
    return float(np.mean(total))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rotation_aligned_mse_matches_reference(seed):
    pred, gt = _poses(seed=seed)
    ours = rotation_aligned_mse(torch.tensor(pred), torch.tensor(gt), unit_mm=100.0)
    assert float(ours) == pytest.approx(rotation_mse_reference(pred, gt, 100.0), rel=1e-6)


def test_rotation_aligned_mse_is_rotation_invariant_and_zero_on_rotated_truth():
    pred, gt = _poses(seed=4)
    rots = random_rotations(len(pred), np.random.default_rng(5))
    rotated = np.einsum("nab,njb->nja", rots, pred)
    a = rotation_aligned_mse(torch.tensor(pred), torch.tensor(gt))
    b = rotation_aligned_mse(torch.tensor(rotated), torch.tensor(gt))
    assert float(a) == pytest.approx(float(b), rel=1e-6)
    exact = np.einsum("nab,njb->nja", rots, gt)
    assert float(rotation_aligned_mse(torch.tensor(exact), torch.tensor(gt))) == pytest.approx(0.0, abs=1e-12)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])  # a reflection is never fitted
    assert float(rotation_aligned_mse(torch.tensor(mirrored), torch.tensor(gt))) > 0.1


def test_rotation_aligned_gradient_equals_gradient_through_the_svd():
    """Envelope theorem: holding the optimal rotation fixed gives the exact gradient."""
    pred, gt = _poses(seed=7)
    p1 = torch.tensor(pred, requires_grad=True)
    rotation_aligned_mse(p1, torch.tensor(gt)).backward()
    p2 = torch.tensor(pred, requires_grad=True)
    aligned = procrustes(p2, torch.tensor(gt), mode="rotation")  # gradients flow through the SVD
    (((aligned - torch.tensor(gt)) / 100.0) ** 2).mean().backward()
    assert torch.allclose(p1.grad, p2.grad, rtol=1e-6, atol=1e-12)


def test_masked_joints_are_ignored():
    pred, gt = _poses(seed=8)
    visible = np.ones(gt.shape[:2], bool)
    visible[:, 5] = False
    spoiled = gt.copy()
    spoiled[:, 5] = np.nan
    a = rotation_aligned_mse(torch.tensor(pred), torch.tensor(spoiled), torch.tensor(visible))
    keep = [i for i in range(19) if i != 5]
    assert float(a) == pytest.approx(rotation_mse_reference(pred[:, keep], gt[:, keep], 100.0), rel=1e-6)


def test_pose_errors_closed_forms():
    _, gt = _poses(seed=9)
    t = torch.tensor(gt)
    rots = torch.tensor(random_rotations(len(gt), np.random.default_rng(1)))
    rotated = torch.einsum("nab,njb->nja", rots, t)
    e = pose_errors(rotated * 1.5, t)
    assert e["n"] == len(gt)
    assert e["pa_mpjpe"] == pytest.approx(0.0, abs=1e-6)  # similarity undoes rotation and scale
    assert e["mean_distance"] > 1.0 and e["mpjpe"] > e["mean_distance"]
    shifted = t + torch.tensor([10.0, 0.0, 0.0])
    shifted[:, 0] = 0.0
    e = pose_errors(shifted, t)
    assert e["mpjpe"] == pytest.approx(10.0 * 18 / 19 * len(gt), rel=1e-9)  # sum over poses
