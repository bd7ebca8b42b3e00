"""Projections at scale: PCA by a randomised SVD agrees with the exact one; UMAP / t-SNE fitted on
landmarks place every other row out of sample, grow the map in snapshots, say how the map was
made and stop on cancel."""

from __future__ import annotations

import numpy as np
import pytest

from hpe_core.analysis import projections
from hpe_core.analysis.projections import pca_fit, project
from hpe_core.progress import Cancelled, RecordingProgress


def low_rank(n=6000, d=40, seed=0):
    """Three strong directions (singular values ~ 10, 7, 5 per sample sd) over unit noise."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, 3)))[0].T
    return (rng.normal(size=(n, 3)) * [10.0, 7.0, 5.0]) @ basis + rng.normal(size=(n, d)) + 3.0


def test_randomised_pca_matches_the_exact_axes(monkeypatch):
    x = low_rank()
    mean, exact_axes, exact_ratio = pca_fit(x, 3)
    monkeypatch.setattr(projections, "RANDOMISED_FROM", 0)
    mean2, axes, ratio = pca_fit(x.astype(np.float16), 3)  # a float16 memory map's dtype too
    # float16 features: ~5e-4 relative rounding; the gap s_4 / s_3 ~ 1/5 with 2 power iterations
    # leaves ~ (1/5)^5 = 3e-4 of the next axis in each: cosines within 1e-3 of 1
    assert np.abs((axes * exact_axes).sum(1)).min() > 1 - 1e-3
    assert np.allclose(ratio, exact_ratio, rtol=1e-2) and np.allclose(mean2, mean, atol=1e-2)
    info = project(x, "pca", 2).info
    assert info["solver"].startswith("randomised")


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_landmark_maps_place_every_row_and_grow_in_snapshots(method, monkeypatch):
    from hpe_core.analysis import landmarks

    monkeypatch.setattr(landmarks, "CHUNK", 700)
    monkeypatch.setattr(landmarks, "SNAPSHOT_SECONDS", 0.0)
    rng = np.random.default_rng(1)
    codes = np.arange(2400) % 4
    x = (rng.normal(0, 1, (2400, 10)) + rng.normal(0, 6, (4, 10))[codes]).astype(np.float32)
    progress = RecordingProgress()
    options = {"n_iter": 100} if method == "tsne" else {"n_neighbors": 10}
    proj = project(x, method, 2, seed=0, progress=progress, landmarks=600, **options)
    assert np.isfinite(proj.coords).all() and proj.coords.shape == (2400, 2)
    assert proj.info["how"].startswith("landmarks: fitted on 600 seeded samples, the other 1,800 placed by")
    snaps = [p for p in progress.partials if isinstance(p, np.ndarray) and len(p) == 2400]
    placed = [int(np.isfinite(s[:, 0]).sum()) for s in snaps]
    assert placed[0] >= 600 and placed[-1] == 2400 and placed == sorted(placed) and len(set(placed)) >= 3
    # the out-of-sample rows land with their own cluster: nearest landmark centroid is their own
    centres = np.stack([proj.coords[codes == c].mean(0) for c in range(4)])
    nearest = np.argmin(((proj.coords[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == codes).mean() > 0.95


def test_small_sets_are_fitted_whole_and_a_cancel_stops_the_placing():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    assert project(x, "tsne", 2, n_iter=50).info["how"] == "all samples"
    with pytest.raises(Cancelled):
        project(np.tile(x, (8, 1)), "tsne", 2, n_iter=50, landmarks=300, progress=RecordingProgress(cancel_after=8))
