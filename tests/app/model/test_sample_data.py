"""What the views draw: errors against a slow reference, alignment, placement, sorting."""

from __future__ import annotations

import numpy as np
import pytest

from app.model.browsing import sequence_rows, sort_rows
from app.model.predictions import PredictionStore
from app.model.sample_data import place_prediction, pose_errors, weak_perspective
from hpe_core.geometry import random_rotations


def reference_mpjpe(pred_rel, gt, root):
    gt_rel = gt - gt[root]
    return sum(np.sqrt(sum((pred_rel[j][a] - gt_rel[j][a]) ** 2 for a in range(3)))
               for j in range(len(gt))) / len(gt)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mpjpe_matches_a_slow_reference_and_pa_mpjpe_ignores_similarity(seed):
    rng = np.random.default_rng(seed)
    gt = rng.normal(0, 300, (19, 3)) + [0, 0, 4000]
    pred = gt - gt[0] + rng.normal(0, 20, (19, 3))
    pred[0] = 0
    errs = pose_errors(pred, gt, root=0)
    assert errs["MPJPE"] == pytest.approx(reference_mpjpe(pred, gt, 0))
    R = random_rotations(1, rng)[0]
    similar = 1.7 * (gt - gt[0]) @ R.T
    assert pose_errors(similar, gt, root=0)["PA-MPJPE"] == pytest.approx(0.0, abs=1e-6)
    assert pose_errors(similar, gt, root=0)["MPJPE"] > 100


def test_store_errors_equal_per_sample_errors_and_skip_invisible_joints():
    rng = np.random.default_rng(3)
    gt = rng.normal(0, 300, (5, 19, 3))
    pred = gt - gt[:, :1] + rng.normal(0, 30, (5, 19, 3))
    visible = rng.random((5, 19)) > 0.2
    visible[:, 0] = True  # the root: both poses are centred on it (as ``hpe evaluate`` does)
    store = PredictionStore(6, 19)
    gt6 = np.concatenate([gt, np.full_like(gt[:1], np.nan)])
    store.add(np.arange(6), np.concatenate([pred, pred[:1]]).astype(np.float32), gt6, 0,
              np.concatenate([visible, visible[:1]]))
    for i in range(5):
        want = np.linalg.norm((pred[i] - pred[i, 0]) - (gt[i] - gt[i, 0]), axis=1)[visible[i]].mean()
        assert store.error[i] == pytest.approx(want, rel=1e-5)
    assert np.isnan(store.error[5]) and np.isnan(store.pa_error[5])  # no ground truth: no score, no error


def test_store_pa_errors_equal_the_per_sample_ones():
    rng = np.random.default_rng(5)
    gt = rng.normal(0, 300, (6, 19, 3))
    pred = (gt - gt[:, :1]) @ random_rotations(1, rng)[0].T + rng.normal(0, 25, (6, 19, 3))
    store = PredictionStore(6, 19, "PA-MPJPE")
    store.add(np.arange(6), pred.astype(np.float32), gt, 0)
    want = [pose_errors(pred[i].astype(np.float32), gt[i], 0)["PA-MPJPE"] for i in range(6)]
    np.testing.assert_allclose(store.pa_error, want, rtol=1e-5)
    assert np.all(store.ranking == store.pa_error) and np.all(store.pa_error < store.error)  # rotation removed


@pytest.mark.parametrize("align", ["none", "rigid", "similarity"])
def test_placed_prediction_sits_on_the_ground_truth_root_and_alignment_only_reduces_error(align):
    rng = np.random.default_rng(4)
    gt = rng.normal(0, 300, (19, 3)) + [100, -200, 4000]
    pred_rel = (gt - gt[0]) @ random_rotations(1, rng)[0].T * 0.9
    placed = place_prediction(pred_rel, gt, 0, align)
    unaligned = place_prediction(pred_rel, gt, 0, "none")
    np.testing.assert_allclose(unaligned[0], gt[0])
    assert np.linalg.norm(placed - gt) <= np.linalg.norm(unaligned - gt) + 1e-9
    if align == "similarity":
        np.testing.assert_allclose(placed, gt, atol=1e-6)


def test_weak_perspective_overlay_fills_and_centres_the_image():
    pose = np.array([[0, -800, 0], [0, 900, 0], [-300, 0, 0], [300, 0, 0]], float)
    xy = weak_perspective(pose, 200, 100, fill=0.8)
    assert xy[:, 1].max() - xy[:, 1].min() == pytest.approx(80)
    assert xy[:, 0].mean() == pytest.approx(100) and (xy[:, 1].max() + xy[:, 1].min()) / 2 == pytest.approx(50)


def test_sorting_by_error_puts_unknown_errors_last():
    error = np.array([5.0, np.nan, 1.0, 9.0, np.nan], np.float32)
    rows = np.arange(5)
    assert sort_rows(rows, error, "error_desc").tolist() == [3, 0, 2, 1, 4]
    assert sort_rows(rows, error, "error_asc").tolist() == [2, 0, 3, 1, 4]
    assert sort_rows(rows, error, "index").tolist() == [0, 1, 2, 3, 4]


def test_prediction_store_fills_in_batches_and_lists_what_is_missing():
    store = PredictionStore(6, 2)
    gt = np.zeros((6, 2, 3))
    store.add(np.array([4, 1]), np.array([[[0, 0, 0], [3, 4, 0]]] * 2, np.float32), gt, root=0)
    assert store.count == 2 and store.get(4) is not None and store.get(0) is None
    assert store.error[1] == pytest.approx(2.5)  # (0 + 5) / 2
    assert store.missing(np.array([5, 4, 3, 2, 1, 0])).tolist() == [5, 3, 2, 0]


class _Seq:
    sequence = np.array([0, 1, 0, 0, 1])
    camera_id = np.array([0, 0, 0, 1, 0])
    frame = np.array([7, 1, 3, 3, 0])

    def __len__(self):
        return 5


def test_sequence_rows_are_one_sequence_of_one_camera_in_frame_order():
    assert sequence_rows(_Seq(), 0).tolist() == [2, 0]
    assert sequence_rows(_Seq(), 1).tolist() == [4, 1]
