"""The sampled silhouette: exact rows, an interval that holds the exact value (at 200,000 samples,
against a closed-form count over the distinct points) and is calibrated over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from hpe_core.analysis.silhouette import silhouette
from hpe_core.analysis.silhouette_estimate import silhouette_estimate
from hpe_core.errors import InputError


def repeated_points(n: int, distinct: int = 60, k: int = 4, d: int = 16, seed: int = 0):
    """``n`` rows that are copies of ``distinct`` points (each point one cluster), with the exact
    silhouette of all ``n`` rows from the distinct points and their multiplicities (float64):
    ``a = sum_q w_q d(p, q) [q in c] / (n_c - 1)`` (copies of p sit at distance 0),
    ``b = min_c' sum_q w_q d(p, q) [q in c'] / n_c'``, the score ``sum_p w_p s_p / n``."""
    rng = np.random.default_rng(seed)
    points = rng.normal(0, 1, (distinct, d)) + rng.normal(0, 1.5, (k, d))[np.arange(distinct) % k]
    label = np.arange(distinct) % k
    weights = rng.multinomial(n - distinct, rng.dirichlet(np.ones(distinct))) + 1
    dist = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    sizes = np.bincount(label, weights=weights)
    to_cluster = np.stack([(dist * (weights * (label == c))[None]).sum(1) for c in range(k)], 1)
    a = to_cluster[np.arange(distinct), label] / (sizes[label] - 1)
    means = to_cluster / sizes[None]
    means[np.arange(distinct), label] = np.inf
    b = means.min(1)
    s = (b - a) / np.maximum(a, b)
    exact = float((weights * s).sum() / n)
    rows = np.repeat(np.arange(distinct), weights)
    rng.shuffle(rows)
    return points[rows].astype(np.float32), label[rows], exact


def test_the_closed_form_reference_is_the_silhouette():
    x, y, exact = repeated_points(2000)
    # float32 products: two copies of one point sit at sqrt(rounding of |x|^2 ~ 50) ~ 3e-3 instead of
    # 0 (distances are ~8), and copies are ~1/15 of a cluster: a(i) is off by ~2e-5 of itself
    assert silhouette(x, y)[0] == pytest.approx(exact, abs=1e-4)


def test_scoring_every_row_is_the_exact_silhouette():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (1500, 8)) + rng.normal(0, 2, (5, 8))[np.arange(1500) % 5]
    y = np.arange(1500) % 5
    est = silhouette_estimate(x, y, sample=1500)
    score, per_sample = silhouette(x, y)
    assert est.value == pytest.approx(score, abs=1e-5) and est.low == est.high == est.value
    assert np.allclose(est.per_sample, per_sample[est.rows], atol=1e-4)  # float32 products (1e-6 relative)


def test_at_200k_the_interval_holds_the_exact_value():
    x, y, exact = repeated_points(200_000)
    est = silhouette_estimate(x, y, sample=2000, seed=0)
    assert est.low <= exact <= est.high
    assert est.high - est.low < 0.06  # 2000 rows of s in [-1, 1]: about 4 sd / sqrt(2000) wide
    assert est.total == 200_000 and est.sample == 2000


def test_the_95_percent_interval_is_calibrated_over_seeds():
    x, y, exact = repeated_points(10_000, seed=1)
    estimates = [silhouette_estimate(x, y, sample=400, seed=s) for s in range(40)]
    hits = sum(e.low <= exact <= e.high for e in estimates)
    assert hits >= 34  # 40 draws at 95%: 7 or more misses has probability below 0.5%


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="distinct labels"):
        silhouette_estimate(np.zeros((10, 2)), np.zeros(10))
    with pytest.raises(InputError, match="confidence"):
        silhouette_estimate(np.zeros((10, 2)), np.arange(10) % 2, confidence=1.5)


def test_hpe_embed_estimates_above_the_limit_and_is_exact_when_asked(tmp_path, monkeypatch, capsys):
    import json

    from hpe_core.analysis import silhouette_estimate as module
    from hpe_core.cli import main

    monkeypatch.setattr(module, "EXACT_LIMIT", 1000)  # the limit is a measured size; 3,000 rows keep this quick
    x, y, exact = repeated_points(3000, seed=2)
    np.save(tmp_path / "f.npy", x)
    np.save(tmp_path / "l.npy", y)
    runs = {}
    for flags in ([], ["--exact-silhouette"]):
        assert main(["embed", "--features", str(tmp_path / "f.npy"), "--labels", str(tmp_path / "l.npy"),
                     "--clusters", "0", "--out", str(tmp_path / "c.npz"), "--json", *flags]) == 0
        runs[bool(flags)] = json.loads(capsys.readouterr().out)
    est = runs[False]["silhouette_estimate"]["labels"]
    assert est["low"] <= exact <= est["high"] and est["sample"] == 2000 and est["total"] == 3000
    assert "silhouette_estimate" not in runs[True]
    assert runs[True]["silhouette"]["labels"] == pytest.approx(exact, abs=1e-4)  # see the reference test
    assert main(["embed", "--features", str(tmp_path / "f.npy"), "--labels", str(tmp_path / "l.npy"),
                 "--clusters", "0", "--out", str(tmp_path / "c.npz")]) == 0
    assert "estimate from 2,000 of 3,000 samples, 95% interval" in capsys.readouterr().out


def test_kmeans_above_its_fit_sample_assigns_every_row_to_its_nearest_centre(monkeypatch):
    from hpe_core.analysis import clustering

    monkeypatch.setattr(clustering, "FIT_SAMPLE", 500)
    x, y, _ = repeated_points(3000, seed=4)
    result = clustering.kmeans(x.astype(np.float16), 4, seed=0)
    d2 = ((x.astype(np.float16).astype(np.float64)[:, None] - result.centers[None].astype(np.float64)) ** 2).sum(-1)
    assert result.fitted_on == 500 and result.labels.tolist() == d2.argmin(1).tolist()
    assert result.inertia == pytest.approx(d2.min(1).sum(), rel=1e-9)
