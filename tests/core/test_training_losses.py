"""The pose objective and errors of the regression task, against slow references from seed 000,
closed forms and invariances (the losses themselves are tested in test_losses.py)."""

import numpy as np
import pytest
import torch

from hpe_core import metrics
from hpe_core.geometry import random_rotations
from hpe_core.training.losses import pose_error_sums, pose_loss


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


def _t(*arrays):
    return [torch.tensor(a) for a in arrays]


@pytest.mark.parametrize("seed, unit", [(0, 100.0), (1, 1.0), (2, 1000.0)])
def test_rotation_loss_matches_reference_in_its_unit(seed, unit):
    pred, gt = _poses(seed=seed)
    visible = torch.ones(gt.shape[:2], dtype=torch.bool)
    ours = pose_loss(*_t(pred, gt), visible, "rotation_mse", unit)
    assert float(ours) == pytest.approx(rotation_mse_reference(pred, gt, unit), rel=1e-5)


def test_plain_mse_closed_form():
    pred, gt = _poses(seed=3)
    visible = torch.ones(gt.shape[:2], dtype=torch.bool)
    ours = pose_loss(*_t(pred, gt), visible, "mse", 100.0)
    assert float(ours) == pytest.approx(np.mean(((pred - gt) / 100.0) ** 2), rel=1e-5)


def test_rotation_loss_is_rotation_invariant_and_zero_on_rotated_truth():
    pred, gt = _poses(seed=4)
    visible = torch.ones(gt.shape[:2], dtype=torch.bool)
    rots = random_rotations(len(pred), np.random.default_rng(5))
    rotated = np.einsum("nab,njb->nja", rots, pred)
    a = pose_loss(*_t(pred, gt), visible)
    b = pose_loss(*_t(rotated, gt), visible)
    assert float(a) == pytest.approx(float(b), rel=1e-5)
    exact = np.einsum("nab,njb->nja", rots, gt)
    assert float(pose_loss(*_t(exact, gt), visible)) == pytest.approx(0.0, abs=1e-9)


def test_invisible_and_nan_joints_are_ignored():
    pred, gt = _poses(seed=8)
    visible = np.ones(gt.shape[:2], bool)
    visible[:, 5] = False
    spoiled = gt.copy()
    spoiled[:, 5] = np.nan
    a = pose_loss(*_t(pred, spoiled), torch.tensor(visible))
    keep = [i for i in range(19) if i != 5]
    assert float(a) == pytest.approx(rotation_mse_reference(pred[:, keep], gt[:, keep], 100.0), rel=1e-5)


def test_gradient_flows_to_the_prediction_only():
    pred, gt = _poses(seed=9)
    p = torch.tensor(pred, requires_grad=True)
    loss = pose_loss(p, torch.tensor(gt), torch.ones(gt.shape[:2], dtype=torch.bool))
    loss.backward()
    assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_error_sums_give_the_pooled_metrics(seed):
    pred, gt = _poses(n=7, seed=seed)
    visible = np.random.default_rng(seed).random(gt.shape[:2]) > 0.2
    visible[:, 0] = True
    sums = pose_error_sums(*_t(pred, gt), torch.tensor(visible))
    assert sums["joints"] == visible.sum()
    assert sums["mpjpe"] / sums["joints"] == pytest.approx(metrics.mpjpe(pred, gt, visible), rel=1e-9)
    assert sums["pa_mpjpe"] / sums["joints"] == pytest.approx(metrics.pa_mpjpe(pred, gt, visible), rel=1e-9)
    assert sums["mean_distance"] / sums["joints"] == pytest.approx(
        metrics.mean_distance(pred, gt, visible, root=0), rel=1e-9)


def test_error_sums_closed_forms_and_empty_samples():
    _, gt = _poses(seed=9)
    t = torch.tensor(gt)
    rots = torch.tensor(random_rotations(len(gt), np.random.default_rng(1)))
    rotated = torch.einsum("nab,njb->nja", rots, t)
    visible = torch.ones(gt.shape[:2], dtype=torch.bool)
    e = pose_error_sums(rotated * 1.5, t, visible)
    assert e["pa_mpjpe"] == pytest.approx(0.0, abs=1e-6)  # similarity undoes rotation and scale
    assert e["mean_distance"] > 1.0 and e["mpjpe"] > e["mean_distance"]
    shifted = t + torch.tensor([10.0, 0.0, 0.0])
    shifted[:, 0] = 0.0
    e = pose_error_sums(shifted, t, visible)
    assert e["mpjpe"] / e["joints"] == pytest.approx(10.0 * 18 / 19, rel=1e-9)
    visible[2] = False  # a pose with nothing visible is left out, not an error
    assert pose_error_sums(shifted, t, visible)["joints"] == 19 * (len(gt) - 1)


def test_cross_view_retrieval_counts_same_pose_and_ignores_the_query_image():
    from hpe_core.training.tasks.contrastive import _cross_view_hits

    image = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1.0, 0], [0, 0.9, 0.1]])  # poses 7, 7, 8, 8
    batch = {"index": torch.tensor([0, 1, 2, 3]), "index2": torch.tensor([1, 0, 3, 2]),
             "pose_id": torch.tensor([7, 7, 8, 8])}
    # view 2 of item j is image index2[j]; each query's best match is its own image, which is left out
    feats = torch.cat([image, image[batch["index2"]]])
    assert _cross_view_hits(feats, batch).tolist() == [True, True, True, True]
    misleading = torch.tensor([[0, 1.0, 0], [0, 1.0, 0], [1.0, 0, 0], [1.0, 0, 0]])  # look like the other pose
    other = {**batch, "index2": torch.tensor([9, 9, 9, 9])}
    assert _cross_view_hits(torch.cat([image, misleading]), other).tolist() == [False] * 4


def test_cross_view_retrieval_never_scores_the_query_image_itself():
    from hpe_core.training.tasks.contrastive import _cross_view_hits

    image = torch.tensor([[1.0, 0, 0], [0, 0, 1.0], [0.8, 0.2, 0], [0, 1.0, 0]])  # poses 7, 7, 8, 8
    batch = {"index": torch.tensor([0, 1, 2, 3]), "index2": torch.tensor([1, 0, 3, 2]),
             "pose_id": torch.tensor([7, 7, 8, 8])}
    hits = _cross_view_hits(torch.cat([image, image[batch["index2"]]]), batch)
    assert not hits[0]  # its own image (column 1, pose 7) would match exactly; the next best is pose 8
