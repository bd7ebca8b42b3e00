"""Placing K hypotheses where the mean is drawn: the mean itself lands where ``place_prediction``
puts it, and the alignment is one rigid (or similarity) transform for all, so spreads are kept."""

from __future__ import annotations

import numpy as np
import pytest

from app.model.hypotheses import Hypotheses, HypothesisSet, place_hypotheses
from app.model.sample_data import place_prediction
from hpe_core.geometry import random_rotations


def make_set(seed: int = 0, k: int = 5) -> tuple[HypothesisSet, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.normal(0, 300, (19, 3)) + [100, -200, 4000]
    mean = (gt - gt[0]) @ random_rotations(1, rng)[0].T * 0.8 + rng.normal(0, 20, (19, 3))
    mean -= mean[0]
    joints = mean + rng.normal(0, 40, (k, 19, 3))
    joints -= joints[:, :1]
    joints[0] = mean  # one hypothesis is the mean
    return HypothesisSet("d", "c", 3, 0, joints, mean), gt


@pytest.mark.parametrize("align", ["none", "rigid", "similarity"])
def test_the_mean_lands_where_place_prediction_puts_it(align):
    hyps, gt = make_set()
    placed = place_hypotheses(hyps, gt, 0, align)
    assert placed.shape == (5, 19, 3)
    np.testing.assert_allclose(placed[0], place_prediction(hyps.mean, gt, 0, align), atol=1e-6)


@pytest.mark.parametrize("align", ["none", "rigid"])
def test_one_rigid_transform_keeps_every_distance_to_the_mean(align):
    hyps, gt = make_set(1)
    placed = place_hypotheses(hyps, gt, 0, align)
    before = np.linalg.norm(hyps.joints - hyps.mean, axis=-1)
    after = np.linalg.norm(placed - placed[0], axis=-1)
    np.testing.assert_allclose(after, before, atol=1e-6)
    assert np.allclose(placed[:, 0], gt[0]) or align == "rigid"  # unaligned: every root on the GT root


def test_no_ground_truth_no_placement_and_the_part_announces_its_set():
    hyps, _ = make_set()
    assert place_hypotheses(hyps, None, 0, "none") is None
    part, seen = Hypotheses(), []
    part.changed.connect(seen.append)
    part.show(hyps)
    part.show(None)
    assert seen == [hyps, None] and part.current is None and hyps.k == 5
