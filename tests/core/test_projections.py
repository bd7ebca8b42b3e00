"""Projections (PCA, LDA, UMAP, t-SNE) and k-means against scikit-learn and closed forms."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import KNeighborsClassifier

from hpe_core.analysis.clustering import kmeans
from hpe_core.analysis.projections import pca_fit, project
from hpe_core.errors import InputError
from hpe_core.progress import Cancelled, RecordingProgress


@pytest.fixture(scope="module")
def blobs():
    x, y = make_blobs(400, 20, centers=5, cluster_std=1.0, random_state=0)
    return x.astype(np.float32), y


def _knn_accuracy(coords, y):
    """Leave-one-out 5-NN accuracy: how well the projection keeps the classes apart."""
    knn = KNeighborsClassifier(6).fit(coords, y)
    neighbours = knn.kneighbors(coords, return_distance=False)[:, 1:]
    votes = np.array([np.bincount(y[n], minlength=y.max() + 1).argmax() for n in neighbours])
    return float((votes == y).mean())


@pytest.mark.parametrize("dims", [2, 3])
def test_pca_matches_sklearn_up_to_sign(blobs, dims):
    x, _ = blobs
    got = project(x, "pca", dims)
    ref = PCA(dims).fit(x.astype(np.float64))
    coords = ref.transform(x.astype(np.float64))
    signs = np.sign((got.coords * coords).sum(0))
    np.testing.assert_allclose(got.coords, coords * signs, atol=1e-3)
    np.testing.assert_allclose(got.info["explained_variance_ratio"], ref.explained_variance_ratio_, rtol=1e-6)


def test_pca_closed_form_axis_of_a_line():
    t = np.linspace(-5, 5, 50)
    x = np.stack([t, 2 * t, np.zeros_like(t)], 1) + np.array([1.0, 2.0, 3.0])
    mean, axes, ratio = pca_fit(x, 1)
    np.testing.assert_allclose(mean, [1, 2, 3], atol=1e-12)
    np.testing.assert_allclose(axes[0], np.array([1, 2, 0]) / np.sqrt(5), atol=1e-9)  # largest loading positive
    assert ratio[0] == pytest.approx(1.0)


@pytest.mark.parametrize("dims", [2, 3])
def test_lda_matches_sklearn(blobs, dims):
    x, y = blobs
    got = project(x, "lda", dims, labels=y)
    ref = LinearDiscriminantAnalysis(n_components=dims).fit(x, y).transform(x)
    np.testing.assert_allclose(got.coords, ref, atol=1e-3)
    assert _knn_accuracy(got.coords, y) == 1.0


@pytest.mark.parametrize("labels, message", [
    (None, "LDA needs class labels"),
    (np.zeros(400, int), "at least 2 classes"),
    (np.arange(400) % 3, "at most classes - 1 = 2 axes"),
])
def test_lda_refuses_too_few_classes(blobs, labels, message):
    with pytest.raises(InputError, match=message):
        project(blobs[0], "lda", 3, labels=labels)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "mds"}, "unknown projection 'mds'; valid: pca, lda, umap, tsne"),
    ({"method": "pca", "dims": 4}, "2D or 3D"),
])
def test_bad_method_or_dims(blobs, kwargs, message):
    with pytest.raises(InputError, match=message):
        project(blobs[0], **kwargs)


@pytest.mark.parametrize("dims", [2, 3])
def test_tsne_separates_blobs_and_is_seeded(blobs, dims):
    x, y = blobs
    x, y = x[:240], y[:240]
    first = project(x, "tsne", dims, seed=3, perplexity=20, n_iter=150)
    again = project(x, "tsne", dims, seed=3, perplexity=20, n_iter=150)
    assert first.coords.shape == (240, dims)
    np.testing.assert_allclose(first.coords, again.coords, atol=1e-4)
    assert _knn_accuracy(first.coords, y) >= 0.98


def test_umap_separates_blobs(blobs):
    x, y = blobs
    got = project(x[:200], "umap", 2, seed=0, n_neighbors=10)
    assert got.coords.shape == (200, 2) and np.isfinite(got.coords).all()
    assert _knn_accuracy(got.coords, y[:200]) >= 0.98


def test_tsne_reports_its_map_so_far_and_can_be_cancelled(blobs):
    rec = RecordingProgress()
    project(blobs[0][:100], "tsne", 2, n_iter=100, progress=rec)
    assert len(rec.partials) == 7  # (250 + 100) / 50 callbacks
    assert all(p.shape == (100, 2) and p.dtype == np.float32 for p in rec.partials)
    with pytest.raises(Cancelled):
        project(blobs[0], "tsne", 2, progress=RecordingProgress(cancel_after=1))


@pytest.mark.parametrize("seed", [0, 1])
def test_kmeans_recovers_blobs(blobs, seed):
    x, y = blobs
    result = kmeans(x, 5, seed=seed)
    assert adjusted_rand_score(y, result.labels) == 1.0
    # inertia is the sum of squared distances to the assigned centre
    direct = ((x.astype(np.float64) - result.centers[result.labels]) ** 2).sum()
    assert result.inertia == pytest.approx(direct, rel=1e-4)


def test_kmeans_inertia_no_worse_than_sklearn_on_unstructured_data():
    x = np.random.default_rng(0).normal(size=(600, 6)).astype(np.float32)
    ours = kmeans(x, 8, seed=0, n_init=4).inertia
    ref = KMeans(8, n_init=4, random_state=0).fit(x.astype(np.float64)).inertia_
    assert ours <= ref * 1.02


def test_kmeans_is_deterministic_and_a_fixed_point():
    x = np.random.default_rng(1).normal(size=(300, 3))
    a, b = kmeans(x, 4, seed=7), kmeans(x, 4, seed=7)
    np.testing.assert_array_equal(a.labels, b.labels)
    # Lloyd's fixed point: each centre is the mean of its members
    for c in range(4):
        np.testing.assert_allclose(a.centers[c], x[a.labels == c].mean(0), atol=1e-4)


@pytest.mark.parametrize("k, message", [(11, "11 clusters asked for but there are only 10 samples"),
                                        (0, "at least 1 cluster")])
def test_kmeans_bad_k(k, message):
    with pytest.raises(InputError, match=message):
        kmeans(np.zeros((10, 2)), k)
