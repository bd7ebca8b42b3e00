"""Linear CKA and cross-view retrieval against slow references, closed forms and invariances."""

import numpy as np
import pytest

from hpe_core.analysis.similarity import cka_matrix, cross_view_retrieval, linear_cka
from hpe_core.errors import InputError


def reference_cka(x, y):
    """HSIC with explicit centring matrices (Gretton et al.), normalised."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h) / (n - 1) ** 2

    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def _orthogonal(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


@pytest.mark.parametrize("n, p, q", [(50, 5, 8), (30, 80, 12), (20, 40, 60)])
def test_cka_matches_reference(n, p, q):
    rng = np.random.default_rng(n + p + q)
    x = rng.normal(size=(n, p))
    y = np.tanh(x @ rng.normal(size=(p, q))) + 0.3 * rng.normal(size=(n, q))
    assert linear_cka(x, y) == pytest.approx(reference_cka(x, y), rel=1e-9)


@pytest.mark.parametrize("d", [6, 64])  # feature-space route and Gram route
def test_cka_self_orthogonal_scale_and_translation_invariance(d):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(40, d)) @ np.diag(np.linspace(0.2, 3, d))
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    moved = 7.5 * x @ _orthogonal(d, 1) + rng.normal(size=d) * 100
    assert linear_cka(x, moved) == pytest.approx(1.0, abs=1e-9)
    y = rng.normal(size=(40, 5))
    assert linear_cka(x, y) == pytest.approx(linear_cka(moved, y), rel=1e-9)


def test_cka_not_invariant_to_anisotropic_scaling_and_low_for_independent_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 4))
    assert linear_cka(x, x * np.array([1, 1, 1, 30])) < 0.9
    assert linear_cka(x, rng.normal(size=(500, 4))) < 0.05


def test_cka_matrix_of_a_representation_with_itself_has_a_unit_diagonal():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(60, 10))
    layers = {"a": base, "b": np.maximum(base @ rng.normal(size=(10, 20)), 0), "c": rng.normal(size=(60, 3))}
    rotated = {k: v @ _orthogonal(v.shape[1], 5) for k, v in layers.items()}
    names_a, names_b, m = cka_matrix(layers, rotated)
    assert names_a == names_b == ["a", "b", "c"]
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-9)
    np.testing.assert_allclose(m, m.T, atol=1e-9)
    assert (m >= 0).all() and (m <= 1 + 1e-12).all()


def test_cka_refuses_mismatched_samples():
    with pytest.raises(InputError, match="same samples"):
        linear_cka(np.zeros((5, 2)), np.zeros((6, 2)))


def reference_retrieval(f, pid, cam, k):
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    hits, queries = 0, 0
    for i in range(len(f)):
        other = np.flatnonzero(cam != cam[i])
        if not (pid[other] == pid[i]).any():
            continue
        queries += 1
        sims = f[other] @ f[i]
        top = other[np.argsort(-sims, kind="stable")[:k]]
        hits += bool((pid[top] == pid[i]).any())
    return hits / queries


def _views(poses=30, cameras=4, d=16, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    pose_code = rng.normal(size=(poses, d))
    pid = np.repeat(np.arange(poses), cameras)
    cam = np.tile(np.arange(cameras), poses)
    f = pose_code[pid] + noise * rng.normal(size=(len(pid), d))
    return f, pid, cam


def test_retrieval_of_view_invariant_features_is_perfect():
    f, pid, cam = _views()
    got = cross_view_retrieval(f, pid, cam, block=7)
    assert got["top1"] == 1.0 and got["top5"] == 1.0
    assert got["queries"] == 120 and got["candidates_mean"] == 90
    # each query has 3 positives among 90 candidates: chance = 1 - C(87, k) / C(90, k)
    assert got["chance_top1"] == pytest.approx(3 / 90)
    assert got["chance_top5"] == pytest.approx(1 - np.prod([(87 - i) / (90 - i) for i in range(5)]))


@pytest.mark.parametrize("noise", [0.5, 1.5, 100.0])
def test_retrieval_matches_slow_reference(noise):
    f, pid, cam = _views(noise=noise, seed=int(noise * 10))
    got = cross_view_retrieval(f, pid, cam, ks=(1, 5), block=16)
    for k in (1, 5):
        assert got[f"top{k}"] == pytest.approx(reference_retrieval(f, pid, cam, k))


def test_retrieval_of_noise_is_near_chance():
    f, pid, cam = _views(poses=100, cameras=4, noise=1e4, seed=9)
    got = cross_view_retrieval(f, pid, cam)
    assert abs(got["top5"] - got["chance_top5"]) < 0.05


def test_retrieval_ignores_the_query_camera_and_needs_positives():
    f, pid, cam = _views(poses=5, cameras=2)
    f[cam == 0] += 1e-3  # same-camera neighbours would be closer, but they are excluded
    assert cross_view_retrieval(f, pid, cam)["top1"] == 1.0
    with pytest.raises(InputError, match="no pose is seen by two cameras"):
        cross_view_retrieval(f, np.arange(len(f)), cam)


# ---------------------------------------------------------------------- two real checkpoints
@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    from analysis_assets import make_assets

    return make_assets(tmp_path_factory.mktemp("compare"))


def _compare(assets, a, b, **kw):
    from analysis_assets import IMAGE_SIZE
    from hpe_core.analysis import CompareSpec, compare_checkpoints

    spec = CompareSpec(a, b, assets.dataset, split="all", device="cpu", clusters=3, batch_size=8,
                       image_size=IMAGE_SIZE, cache_dir=assets.cache, **kw)
    return compare_checkpoints(spec)


def test_a_checkpoint_against_itself(assets):
    result = _compare(assets, assets.regressor, assets.regressor, layers=("layer1", "layer3", "encoder"))
    assert result.layers_a == result.layers_b == ["layer1", "layer3", "encoder"]
    np.testing.assert_allclose(np.diag(result.cka), 1.0, atol=1e-9)
    assert result.samples == 29  # one image is unreadable
    assert result.silhouette["a"] == result.silhouette["b"]
    assert result.retrieval["a"] == result.retrieval["b"]
    r = result.retrieval["a"]["encoder"]
    assert r["queries"] == 29 and r["chance_top1"] == pytest.approx(np.mean([2 / 19] * 26 + [1 / 19] * 3), abs=0.01)
    assert result.metrics["a"] == result.metrics["b"]
    assert set(result.metrics["a"]) >= {"mpjpe", "pa_mpjpe", "n_mpjpe", "pck3d", "auc3d"}


def test_two_families_without_heads(assets):
    result = _compare(assets, assets.simclr, assets.simsiam)
    assert result.layers_b[-2:] == ["projection", "prediction"] and "prediction" not in result.layers_a
    assert result.cka.shape == (len(result.layers_a), len(result.layers_b))
    assert ((result.cka > 0) & (result.cka <= 1 + 1e-9)).all()
    assert result.metrics is None
    assert set(result.silhouette["b"]) == set(result.layers_b)


def test_unknown_layer_is_named(assets):
    with pytest.raises(InputError, match="--layers nope: simclr.pt has the layers conv1"):
        _compare(assets, assets.simclr, assets.simsiam, layers=("nope",))


def test_demo_simclr_encoder_retrieves_the_same_pose_across_cameras(tmp_path):
    """The view invariance contrastive pre-training is after, on poses the demo never saw."""
    from analysis_assets import demo_checkpoint, demo_like_views
    from hpe_core.analysis import EmbedSpec, compute_embeddings

    views = demo_like_views(tmp_path)
    emb = compute_embeddings(EmbedSpec(demo_checkpoint("simclr.pt"), views, ("encoder",), device="cpu",
                                       cache_dir=tmp_path / "cache"))
    ds = emb.dataset
    got = cross_view_retrieval(np.asarray(emb.features["encoder"], np.float32), ds.pose_id[emb.indices],
                               ds.camera_id[emb.indices])
    assert got["queries"] == 240 and got["chance_top1"] == pytest.approx(3 / 180)
    assert got["top1"] >= 5 * got["chance_top1"] and got["top5"] >= 3 * got["chance_top5"]


@pytest.mark.parametrize("measures, expected", [
    ({"a": "PA-MPJPE", "b": "PA-MPJPE"}, ("PA-MPJPE", 60.0, 70.0, "a")),  # both rotation-aligned heads
    ({"a": "MPJPE", "b": "MPJPE"}, ("MPJPE", 900.0, 800.0, "b")),
    ({"a": "PA-MPJPE", "b": "MPJPE"}, ("PA-MPJPE", 60.0, 70.0, "a")),  # one such head: the measure both have
])
def test_the_verdict_reads_both_by_one_error_measure(measures, expected):
    from types import SimpleNamespace

    from hpe_core.analysis.compare import pose_verdict

    metrics = {"a": {"mpjpe": 900.0, "pa_mpjpe": 60.0}, "b": {"mpjpe": 800.0, "pa_mpjpe": 70.0}}
    verdict = pose_verdict(SimpleNamespace(metrics=metrics, error_measure=measures))
    assert (verdict.measure, verdict.a, verdict.b, verdict.better) == expected
    assert verdict.difference == pytest.approx(expected[1] - expected[2])
    tie = {"a": {"mpjpe": 50.0, "pa_mpjpe": 40.04}, "b": {"mpjpe": 50.0, "pa_mpjpe": 40.0}}
    assert pose_verdict(SimpleNamespace(metrics=tie, error_measure=measures)).better is None  # equal at 0.1 mm
    assert pose_verdict(SimpleNamespace(metrics=None, error_measure=measures)) is None
    measure, a, b, better = expected
    assert verdict.sentence({"a": "a.pt", "b": "b.pt"}) == (
        f"{better.upper()} ({better}.pt) is better by {abs(a - b):.1f} mm {measure}")
