"""The browser's error column follows the chosen protocol (issue 28): a prediction store ranks by
the protocol's per-sample measure on its default joints where the protocol scores the dataset's
joint set, by the checkpoint's own measure otherwise, and the cache re-ranks every store it holds."""

from __future__ import annotations

import numpy as np

from app.model.predictions import PredictionCache
from hpe_core.skeleton import H36M17


def _pa(p, g):
    """Per-sample PA-MPJPE (Umeyama, no mirror) of (J, 3) poses."""
    x, y = p - p.mean(0), g - g.mean(0)
    u, s, vt = np.linalg.svd(x.T @ y)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(vt.T @ u.T))])
    aligned = (np.trace(np.diag(s) @ d) / (x ** 2).sum()) * x @ (vt.T @ d @ u.T).T + g.mean(0)
    return np.linalg.norm(aligned - g, axis=1).mean()


def test_a_store_ranks_by_the_chosen_protocols_measure_where_it_applies():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (8, 17, 3)).astype(np.float32)
    pred = (gt + rng.normal(0, 40, gt.shape)).astype(np.float32)
    cache = PredictionCache()
    seen = []
    cache.changed.connect(lambda pair, rows: seen.append((pair, len(rows))))
    store = cache.store("ds", "ckpt", 8, 17, "MPJPE", "h36m17")
    other = cache.store("ds", "panoptic", 8, 19, "MPJPE", "panoptic19")
    cache.add(("ds", "ckpt"), np.arange(6), pred[:6], gt, H36M17.root)
    assert store.ranking is store.error and store.ranking_label == "MPJPE"
    cache.set_protocol("h36m-p2")
    assert store.ranking_label == "PA-MPJPE (h36m-p2, 17 joints)" and other.ranking_label == "MPJPE"
    p, g = pred.astype(np.float64), gt.astype(np.float64)
    assert np.allclose(store.ranking[:6], [_pa(p[i], g[i]) for i in range(6)], atol=1e-3)  # float32 storage
    assert np.isnan(store.ranking[6:]).all() and (("ds", "ckpt"), 6) in seen
    cache.add(("ds", "ckpt"), np.arange(6, 8), pred[6:], gt, H36M17.root)  # later rows: scored as they come
    assert np.allclose(store.ranking[6:], [_pa(p[i], g[i]) for i in (6, 7)], atol=1e-3)
    cache.set_protocol("h36m-p1")
    assert store.ranking_label == "MPJPE (h36m-p1, 17 joints)"
    assert np.allclose(store.ranking, np.linalg.norm((p - p[:, :1]) - (g - g[:, :1]), axis=2).mean(1), atol=1e-3)
    assert not store.set_protocol("3dhp") and store.ranking is store.error  # another joint set: its own measure
    assert cache.store("ds", "new", 8, 17, "MPJPE", "h36m17").ranking_label == "MPJPE (h36m-p1, 17 joints)"
