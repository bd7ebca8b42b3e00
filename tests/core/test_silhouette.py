"""Silhouette: sklearn's definition to 1e-6, a slow reference loop, closed forms, invariances."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_samples as sk_samples

from hpe_core.analysis.silhouette import silhouette, silhouette_samples, silhouette_score
from hpe_core.errors import InputError
from hpe_core.progress import Cancelled, RecordingProgress


def reference_silhouette(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rousseeuw's definition, one sample at a time (sklearn's singleton rule: s = 0)."""
    x = x.astype(np.float64)
    out = np.zeros(len(x))
    for i in range(len(x)):
        d = np.sqrt(((x - x[i]) ** 2).sum(1))
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = d[own].sum() / (own.sum() - 1)
        b = min(d[labels == c].mean() for c in np.unique(labels) if c != labels[i])
        out[i] = (b - a) / max(a, b)
    return out


def _random(seed, n, d, k):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, k, n)


def _blobs(seed, n, d, k, std, box):
    x, y = make_blobs(n, d, centers=k, cluster_std=std, center_box=(-box, box), random_state=seed)
    return x.astype(np.float32), y


CASES = {
    "random-2": lambda: _random(0, 500, 8, 2),
    "random-7": lambda: _random(1, 700, 32, 7),
    "blobs": lambda: _blobs(2, 600, 16, 5, 1.0, 10),
    "tight-far-blobs": lambda: _blobs(3, 600, 64, 4, 0.05, 100),
    "many-small-clusters": lambda: _random(4, 300, 4, 60),
    "one-big-many-small": lambda: _uneven(10),
}


def _uneven(seed):
    """One cluster far larger than a block, beside clusters small enough to share a block."""
    rng = np.random.default_rng(seed)
    sizes = [400, 3, 1, 30, 7, 90, 2]
    y = np.repeat(np.arange(len(sizes)), sizes)
    x = rng.normal(size=(len(y), 12)) + rng.normal(scale=3.0, size=(len(sizes), 12))[y]
    perm = rng.permutation(len(y))
    return x[perm].astype(np.float32), y[perm]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("block, dense", [(64, True), (4096, True), (64, False)])
def test_matches_sklearn(case, block, dense, monkeypatch):
    import importlib

    module = importlib.import_module("hpe_core.analysis.silhouette")  # the module, not the function
    if not dense:  # the path for very many labels: row blocks and a (rows, K) table
        monkeypatch.setattr(module, "DENSE_LIMIT", 0)
    x, y = CASES[case]()
    ref = sk_samples(x.astype(np.float64), y)
    score, per_sample = silhouette(x, y, block=block)
    assert abs(score - ref.mean()) <= 1e-6
    np.testing.assert_allclose(per_sample, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("case", ["random-7", "tight-far-blobs", "one-big-many-small"])
@pytest.mark.parametrize("block", [100, 4096])
def test_matches_sklearn_in_strips(case, block, monkeypatch):
    """Block pairs computed a few rows at a time (32-row strips; a piece with itself as a triangle
    of strips): the same values."""
    import importlib

    module = importlib.import_module("hpe_core.analysis.silhouette")
    monkeypatch.setattr(module, "STRIP_FLOATS", 1)  # the smallest strips: 32 rows
    x, y = CASES[case]()
    ref = sk_samples(x.astype(np.float64), y)
    score, per_sample = silhouette(x, y, block=block)
    assert abs(score - ref.mean()) <= 1e-6
    np.testing.assert_allclose(per_sample, ref, atol=1e-5, rtol=0)


def test_matches_slow_reference_with_singletons_and_string_labels():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3))
    y = np.array(["a"] * 15 + ["b"] * 20 + ["c"] * 4 + ["lonely"])
    ref = reference_silhouette(x, y)
    got = silhouette_samples(x, y, block=16)
    assert got[-1] == 0.0  # a sample alone in its cluster scores 0
    np.testing.assert_allclose(got, ref, atol=1e-6)
    np.testing.assert_allclose(got, sk_samples(x, y), atol=1e-6)


def test_closed_form_two_pairs_on_a_line():
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    y = np.array([0, 0, 1, 1])
    # sample 0: a = 1, b = (10 + 11) / 2 = 10.5; sample 1: a = 1, b = (9 + 10) / 2 = 9.5
    expected = np.array([1 - 1 / 10.5, 1 - 1 / 9.5, 1 - 1 / 9.5, 1 - 1 / 10.5])
    np.testing.assert_allclose(silhouette_samples(x, y), expected, atol=1e-7)


def test_float16_memory_map_input(tmp_path):
    x, y = _blobs(6, 400, 24, 3, 2.0, 10)
    path = tmp_path / "f.npy"
    np.save(path, x.astype(np.float16))
    mm = np.load(path, mmap_mode="r", allow_pickle=False)
    ref = sk_samples(np.asarray(mm, np.float64), y)
    assert abs(silhouette_score(mm, y, block=128) - ref.mean()) <= 1e-6


@pytest.mark.parametrize("transform", ["permute", "rotate-translate", "rename-labels", "scale"])
def test_invariances(transform):
    x, y = _blobs(7, 300, 6, 4, 1.5, 8)
    base = silhouette_samples(x, y, block=64)
    rng = np.random.default_rng(8)
    if transform == "permute":
        perm = rng.permutation(len(x))
        np.testing.assert_allclose(silhouette_samples(x[perm], y[perm], block=64), base[perm], atol=1e-6)
        return
    if transform == "rotate-translate":
        q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
        x2, y2 = x @ q.T + rng.normal(size=6) * 50, y
    elif transform == "rename-labels":
        x2, y2 = x, np.array(["c%d" % (9 - v) for v in y])
    else:
        x2, y2 = x * 1e3, y
    np.testing.assert_allclose(silhouette_samples(x2, y2, block=64), base, atol=1e-5)


@pytest.mark.parametrize("labels, message", [
    (np.zeros(10, int), "between 2 and N - 1"),
    (np.arange(10), "between 2 and N - 1"),
    (np.zeros(9, int), "9 labels for 10 samples"),
])
def test_bad_labels_are_input_errors(labels, message):
    with pytest.raises(InputError, match=message):
        silhouette(np.random.default_rng(0).normal(size=(10, 3)), labels)


def test_nan_features_are_refused():
    x = np.ones((6, 2))
    x[2, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        silhouette(x, [0, 0, 0, 1, 1, 1])


def test_progress_and_cancellation():
    x, y = _random(9, 300, 4, 3)
    rec = RecordingProgress()
    silhouette(x, y, block=64, progress=rec)
    assert rec.fractions[-1] == 1.0 and len(rec.fractions) > 3
    assert rec.fractions == sorted(rec.fractions)
    with pytest.raises(Cancelled):
        silhouette(x, y, block=64, progress=RecordingProgress(cancel_after=2))


@pytest.mark.gpu
@pytest.mark.parametrize("case", ["blobs", "tight-far-blobs", "one-big-many-small"])
def test_cuda_matches_sklearn(case):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x, y = CASES[case]()
    ref = sk_samples(x.astype(np.float64), y)
    score, per_sample = silhouette(x, y, device="cuda", block=128)
    assert abs(score - ref.mean()) <= 1e-6
    np.testing.assert_allclose(per_sample, ref, atol=1e-5, rtol=0)
