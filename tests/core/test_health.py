"""Each health measure equals a slow reference written from its paper, and closed-form cases."""

import math

import numpy as np
import pytest
from scipy.special import gammaln, ive

from hpe_core.analysis import health as h
from hpe_core.errors import InputError
from hpe_core.metrics import pa_mpjpe


def sphere(n, d, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- RankMe -------------------------------------------------------------------------
def rankme_loop(x, eps=1e-7):
    """Garrido et al. 2023, eq. 1, term by term from numpy's SVD."""
    s = np.linalg.svd(np.asarray(x, np.float64), compute_uv=False)
    total = sum(s)
    entropy = 0.0
    for sk in s:
        p = sk / total + eps
        entropy -= p * math.log(p)
    return math.exp(entropy)


@pytest.mark.parametrize("shape", [(50, 8), (8, 50), (300, 32)])
def test_rankme_equals_the_loop(shape):
    x = np.random.default_rng(1).normal(size=shape) * np.linspace(0.1, 3, shape[1])
    assert h.rankme(x) == pytest.approx(rankme_loop(x), rel=1e-9)


def test_rankme_of_an_isotropic_gaussian_is_its_dimension():
    # N x d Gaussian: singular values sqrt(N) (1 +- sqrt(d/N)) = +-6 % here; the entropy then
    # loses about half their relative variance (< 0.2 %), so RankMe lies within 1 % of d
    x = np.random.default_rng(2).normal(size=(4000, 16))
    assert h.rankme(x) == pytest.approx(16, rel=0.01)


@pytest.mark.parametrize("r", [1, 3, 7])
def test_rankme_of_rank_r_data_is_r(r):
    rng = np.random.default_rng(r)
    basis = np.linalg.qr(rng.normal(size=(24, r)))[0].T  # r orthonormal rows in 24 dimensions
    x = rng.normal(size=(4000, r)) @ basis
    assert h.rankme(x) == pytest.approx(r, rel=0.01)


def test_rankme_of_a_collapsed_matrix_is_one():
    assert h.rankme(np.tile([[0.3, -1.0, 2.0]], (40, 1))) == pytest.approx(1.0, abs=1e-5)
    assert h.rankme(np.zeros((5, 4))) == 1.0


# -- spread, alignment, uniformity ----------------------------------------------------
def test_spread_is_one_when_isotropic_and_zero_when_collapsed():
    x = np.random.default_rng(3).normal(size=(20000, 10))
    assert h.spread(x) == pytest.approx(1.0, abs=0.01)  # std of a std estimate: 1/sqrt(2N) = 0.005
    assert h.spread(np.tile([[1.0, 2.0, 2.0]], (9, 1))) == pytest.approx(0.0, abs=1e-12)
    z = h.unit_rows(x[:50])
    loop = np.mean([np.std([z[i, j] for i in range(50)]) for j in range(10)]) * math.sqrt(10)
    assert h.spread(x[:50]) == pytest.approx(loop, rel=1e-12)


def test_positive_pairs_and_alignment_equal_the_loop():
    rng = np.random.default_rng(4)
    pose, cam = rng.integers(0, 8, 40), rng.integers(0, 3, 40)
    x = rng.normal(size=(40, 5))
    pairs = [(i, j) for i in range(40) for j in range(i + 1, 40) if pose[i] == pose[j] and cam[i] != cam[j]]
    i, j = h.positive_pairs(pose, cam)
    assert sorted(zip(i.tolist(), j.tolist())) == pairs
    z = x / np.linalg.norm(x, axis=1, keepdims=True)
    loop = np.mean([np.sum((z[a] - z[b]) ** 2) for a, b in pairs])
    assert h.alignment(x, pose, cam) == pytest.approx(loop, rel=1e-12)
    assert h.alignment(x, np.arange(40), cam) is None  # no pose seen twice


def test_uniformity_equals_the_pair_loop():
    x = np.random.default_rng(5).normal(size=(30, 4))
    z = x / np.linalg.norm(x, axis=1, keepdims=True)
    terms = [math.exp(-2 * np.sum((z[i] - z[j]) ** 2)) for i in range(30) for j in range(30) if i != j]
    assert h.uniformity(x, block=7) == pytest.approx(math.log(np.mean(terms)), rel=1e-12)
    assert h.uniformity(np.ones((6, 3))) == pytest.approx(0.0, abs=1e-12)  # collapsed: the maximum


def uniform_sphere_closed_form(d, t=2.0):
    """log E exp(-t ||x - y||^2) for x, y uniform on S^(d-1): with u = x.y, ||x - y||^2 = 2 - 2u and
    E exp(s u) = Gamma(d/2) (2/s)^(d/2 - 1) I_(d/2 - 1)(s), s = 2t (ive(v, s) = I_v(s) e^-s)."""
    s, v = 2 * t, d / 2 - 1
    return -2 * t + gammaln(d / 2) + v * math.log(2 / s) + math.log(ive(v, s)) + s


@pytest.mark.parametrize("d", [3, 16])
def test_uniformity_of_a_uniform_sphere_sample_meets_its_closed_form(d):
    if d == 3:  # the textbook case: u uniform on [-1, 1], E exp(4u) = sinh(4) / 4
        assert uniform_sphere_closed_form(3) == pytest.approx(-4 + math.log(math.sinh(4) / 4), rel=1e-12)
    # a U-statistic whose kernel has a constant conditional mean (rotation symmetry) is degenerate:
    # its error is O(1/N), about 1e-3 of the mean here; 1 % is ten times that
    got = h.uniformity(sphere(3000, d, seed=d))
    assert math.exp(got) == pytest.approx(math.exp(uniform_sphere_closed_form(d)), rel=0.01)


# -- kNN -----------------------------------------------------------------------------
def knn_loop(bank, by, query, qy, k=20, temperature=0.07):
    """Wu et al. 2018: vote among the k nearest (cosine) with weights exp(cos / T)."""
    b = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    hits = 0
    for q, label in zip(query, qy):
        q = q / np.linalg.norm(q)
        sims = [(float(q @ b[m]), by[m]) for m in range(len(b))]
        sims.sort(key=lambda s: -s[0])
        votes = {}
        for sim, lab in sims[:k]:
            votes[lab] = votes.get(lab, 0.0) + math.exp(sim / temperature)
        hits += max(votes, key=lambda c: votes[c]) == label
    return hits / len(qy)


@pytest.mark.parametrize("k", [1, 5, 20])
def test_knn_accuracy_equals_the_loop(k):
    rng = np.random.default_rng(6)
    centres = rng.normal(size=(5, 8))
    by, qy = rng.integers(0, 5, 120), rng.integers(0, 5, 50)
    bank = centres[by] + rng.normal(size=(120, 8))
    query = centres[qy] + rng.normal(size=(50, 8))
    assert h.knn_accuracy(bank, by, query, qy, k=k, block=16) == knn_loop(bank, by, query, qy, k)


def test_knn_chance_is_the_agreement_of_label_shares():
    fit, query = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1])
    assert h.knn_chance(fit, query) == pytest.approx(0.5 * 0.25 + 0.25 * 0.75)


# -- probe ---------------------------------------------------------------------------
def test_ridge_equals_the_augmented_least_squares():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(60, 6)) * [1, 2, 3, 4, 5, 6], rng.normal(size=(60, 9))
    w, xm, ym = h.ridge_fit(x, y, ridge=0.05)
    xc, yc = x - x.mean(0), y - y.mean(0)
    lam = 0.05 * np.trace(xc.T @ xc) / 6
    # ridge = least squares of [Xc; sqrt(lam) I] W = [Yc; 0]
    ref = np.linalg.lstsq(np.vstack([xc, math.sqrt(lam) * np.eye(6)]), np.vstack([yc, np.zeros((6, 9))]),
                          rcond=None)[0]
    np.testing.assert_allclose(w, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xm, x.mean(0))


def test_probe_pa_mpjpe_scores_the_ridge_prediction():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(200, 12))
    joints = (x @ rng.normal(size=(12, 5 * 3))).reshape(200, 5, 3) * 100
    noisy = joints + rng.normal(scale=20, size=joints.shape)
    w, xm, ym = h.ridge_fit(x[:150], noisy[:150].reshape(150, -1))
    pred = ((x[150:] - xm) @ w + ym).reshape(50, 5, 3)
    assert h.probe_pa_mpjpe(x[:150], noisy[:150], x[150:], joints[150:]) == pytest.approx(
        pa_mpjpe(pred, joints[150:]), rel=1e-12)
    # exactly linear targets and a tiny ridge: the probe recovers them
    assert h.probe_pa_mpjpe(x[:150], joints[:150], x[150:], joints[150:], ridge=1e-12) < 1e-6


# -- all together --------------------------------------------------------------------
def toy_rows(n_poses=60, cameras=3, seed=9):
    rng = np.random.default_rng(seed)
    pose = np.repeat(np.arange(n_poses), cameras)
    joints = np.repeat(rng.normal(scale=200, size=(n_poses, 6, 3)), cameras, axis=0)
    joints -= joints[:, :1]
    rows = h.HealthRows(pose, np.tile(np.arange(cameras), n_poses), pose % 4, joints,
                        np.ones(joints.shape[:2], bool), h.pose_halves(pose, seed))
    return rows, joints


def test_health_measures_tell_a_pose_code_from_a_collapsed_one():
    rows, joints = toy_rows()
    good = h.health_measures(joints.reshape(len(joints), -1) + 1.0, rows)
    bad = h.health_measures(np.ones((len(joints), 8)) + 1e-9 * np.arange(8), rows)
    assert set(good) == set(h.MEASURES)
    # the features are the pose: only the ridge's shrinkage (1e-3 of the mean eigenvalue) keeps the
    # probe off zero, by less than 1 % of the joints' 200 mm spread
    assert good["xview_top1"] == 1.0 and good["probe_pa_mpjpe"] < 2.0
    assert good["align"] == pytest.approx(0.0, abs=1e-12) and good["rankme"] > 5
    assert bad["rankme"] == pytest.approx(1.0, abs=1e-4) and bad["spread"] < 1e-6 and bad["uniform"] > -1e-6
    assert bad["probe_pa_mpjpe"] > 50


def test_pose_halves_keep_every_view_of_a_pose_together():
    pose = np.repeat(np.arange(11), 4)
    fit = h.pose_halves(pose, seed=3)
    assert fit.sum() == 6 * 4
    assert all(len(set(fit[pose == p])) == 1 for p in range(11))


def test_bad_features_are_refused():
    with pytest.raises(InputError, match="features"):
        h.rankme(np.ones(5))
    with pytest.raises(InputError, match="NaN"):
        h.uniformity(np.array([[1.0, np.nan], [0.0, 1.0]]))
