"""The GUI state of seed 001, without Qt: a store of a 2D-only model (heatmaps), of a lifter's 3D
with its errors, the one sample's heatmaps it keeps, and where a lifter's 2D comes from."""

from __future__ import annotations

import numpy as np

from app.model.predictions import LiftSource, PredictionCache
from hpe_core import metrics


def test_a_2d_only_model_fills_2d_and_no_error():
    cache = PredictionCache()
    store = cache.store("ds", "heatmap", 5, 3)
    seen = []
    cache.changed.connect(lambda pair, rows: seen.append((pair, rows.tolist())))
    j2 = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    cache.add(("ds", "heatmap"), [1, 3], None, np.zeros((5, 3, 3)), joints_2d=j2)
    assert seen == [(("ds", "heatmap"), [1, 3])] and store.count == 2
    np.testing.assert_array_equal(store.get_2d(3), j2[1])
    assert store.get_2d(0) is None and np.isnan(store.get(1)).all() and np.isnan(store.error).all()


def test_a_lifters_error_is_the_mpjpe_of_its_3d():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (4, 3, 3))
    lifted = (gt + rng.normal(0, 40, gt.shape)).astype(np.float32)
    cache = PredictionCache()
    store = cache.store("ds", "lifter", 4, 3)
    cache.add(("ds", "lifter"), np.arange(4), lifted, gt, root=0)
    ref = metrics.mpjpe(lifted.astype(np.float64), gt, None, root=0, per_sample=True)
    np.testing.assert_allclose(store.ranking, ref, rtol=1e-5)
    assert store.get_2d(0) is None  # a lifter on ground-truth 2D has no 2D of its own


def test_the_store_keeps_the_last_samples_heatmaps_only():
    cache = PredictionCache()
    store = cache.store("ds", "heatmap", 5, 3)
    seen = []
    cache.changed.connect(lambda pair, rows: seen.append(rows.tolist()))
    first, second = object(), object()
    cache.add_heatmaps(("ds", "heatmap"), 2, first)
    assert store.get_heatmaps(2) is first and seen == [[2]]
    cache.add_heatmaps(("ds", "heatmap"), 4, second)
    assert store.get_heatmaps(2) is None and store.get_heatmaps(4) is second
    cache.add_heatmaps(("ds", "other"), 1, first)  # no such store: nothing kept, nothing said
    assert seen == [[2], [4]]


def test_lift_source_announces_its_key():
    lift, seen = LiftSource(), []
    lift.events.key.connect(seen.append)
    lift.key = "/ckpt/heatmap2d.pt"
    lift.key = None
    assert seen == ["/ckpt/heatmap2d.pt", None]
