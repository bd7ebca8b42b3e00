"""t-SNE's exact nearest neighbours: the same as scikit-learn's, in blocks; the map's quality."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

import hpe_core.analysis.projections as projections
from hpe_core.analysis.projections import nearest_neighbours, project


@pytest.mark.parametrize("n, d, k", [(500, 50, 15), (1200, 8, 90), (300, 3, 299)])
def test_neighbours_equal_sklearns(n, d, k, monkeypatch):
    x = np.random.default_rng(n).normal(size=(n, d)).astype(np.float32) * 10 + 100  # far from the origin
    monkeypatch.setattr(projections, "EXACT_KNN_LIMIT", 10 ** 9)
    idx, dist = nearest_neighbours(x, k)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=k).fit(x.astype(np.float64)).kneighbors()  # self excluded
    assert idx.shape == dist.shape == (n, k)
    assert not (idx == np.arange(n)[:, None]).any()
    # float32 distances: |x|^2 ~ d * 1e4, so about 1e-7 * that of rounding in the squared distance
    tol = 2e-6 * np.sqrt(d * 1e4)
    np.testing.assert_allclose(dist, ref_dist, atol=tol)
    assert np.all(np.diff(dist, axis=1) >= 0)
    same = [len(set(a) & set(b)) / k for a, b in zip(idx, ref_idx)]
    assert np.mean(same) > 0.999  # only exact ties at the k-th place may differ


def test_blocks_do_not_change_the_answer(monkeypatch):
    x = np.random.default_rng(3).normal(size=(700, 6)).astype(np.float32)
    whole = nearest_neighbours(x, 10)
    monkeypatch.setattr(projections, "_KNN_BLOCK_FLOATS", 40 * 700)  # blocks of 40 rows
    blocked = nearest_neighbours(x, 10)
    np.testing.assert_array_equal(whole[0], blocked[0])
    np.testing.assert_array_equal(whole[1], blocked[1])


def test_tsne_on_exact_neighbours_separates_blobs():
    x, y = make_blobs(1500, 20, centers=6, cluster_std=2.0, random_state=1)
    coords = project(x.astype(np.float32), "tsne", 2, seed=0, n_iter=250).coords
    idx = NearestNeighbors(n_neighbors=11).fit(coords).kneighbors(coords, return_distance=False)[:, 1:]
    assert (y[idx] == y[:, None]).mean() > 0.98


def test_the_fft_grid_of_two_units_per_interval_keeps_the_map(monkeypatch):
    """The FFT path with its coarser grid: the same KL divergence within 2% as openTSNE's default
    grid (one interval per unit) and the same separation."""
    x, y = make_blobs(1200, 20, centers=6, cluster_std=2.0, random_state=2)
    x = x.astype(np.float32)
    monkeypatch.setattr(projections, "FFT_FROM", 1000)
    coarse = project(x, "tsne", 2, seed=0, n_iter=150)
    monkeypatch.setattr(projections, "FFT_UNITS_PER_INTERVAL", 1.0)
    fine = project(x, "tsne", 2, seed=0, n_iter=150)
    assert coarse.info["gradient"] == fine.info["gradient"] == "fft"
    assert abs(coarse.info["kl_divergence"] / fine.info["kl_divergence"] - 1) < 0.02
    for got in (coarse, fine):
        idx = NearestNeighbors(n_neighbors=11).fit(got.coords).kneighbors(got.coords, return_distance=False)[:, 1:]
        assert (y[idx] == y[:, None]).mean() > 0.98


def test_threads_only_while_cores_are_idle(monkeypatch):
    import os

    monkeypatch.setattr(projections, "_threads", lambda: 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    assert projections._tsne_threads(50000) == 2 and projections._tsne_threads(5000) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    assert projections._tsne_threads(50000) == 1
