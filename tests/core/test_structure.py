"""Label silhouettes, the silhouette scan over k and the collapse check (hpe_core.analysis.structure)."""

import numpy as np
import pytest
from sklearn.metrics import silhouette_score as sk_silhouette

from hpe_core.analysis.structure import (collapse_stats, dataset_label_silhouettes, effective_rank,
                                         label_silhouettes, silhouette_scan)
from hpe_core.errors import InputError


def blobs(n_per=60, k=4, d=16, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(k, d))
    x = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(k), n_per)


def test_label_silhouettes_are_sklearns_and_tell_structure_from_noise():
    x, y = blobs()
    noise = np.random.default_rng(1).integers(0, 4, len(y))
    scores = label_silhouettes(x, {"action": y, "camera": noise, "one": np.zeros(len(y))})
    assert scores["action"] == pytest.approx(sk_silhouette(x.astype(np.float64), y), abs=1e-5)
    assert scores["camera"] == pytest.approx(sk_silhouette(x.astype(np.float64), noise), abs=1e-5)
    assert scores["action"] > 0.7 and abs(scores["camera"]) < 0.1
    assert scores["one"] is None  # one distinct value cannot be scored
    with pytest.raises(InputError, match="labels action: 3 values"):
        label_silhouettes(x, {"action": y[:3]})


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory):
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("data") / "tiny"
    synthesize(SynthSpec(out, poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return open_dataset(out)


def test_dataset_label_silhouettes_read_the_datasets_labels(synthetic_dataset):
    ds = synthetic_dataset
    idx = np.arange(0, len(ds), 2)
    values, _ = ds.labels("action")
    x = np.eye(int(values.max()) + 1, dtype=np.float32)[values[idx]] * 5.0  # features = the action
    x += np.random.default_rng(0).normal(scale=0.01, size=x.shape).astype(np.float32)
    scores = dataset_label_silhouettes(x, ds, idx)
    assert set(scores) <= {"action", "camera", "subject", "pose_id"} and "action" in scores
    assert scores["action"] > 0.9
    assert scores["camera"] is None or scores["camera"] < scores["action"]


def test_scan_finds_the_number_of_blobs():
    x, _ = blobs(k=5)
    scan = silhouette_scan(x, ks=range(2, 11))
    assert scan.ks.tolist() == list(range(2, 11)) and scan.best_k == 5
    assert np.isfinite(scan.scores).all() and scan.scores.max() > 0.7
    assert scan.to_dict()["best_k"] == 5
    with pytest.raises(InputError, match="must lie in 2..9"):
        silhouette_scan(x[:10], ks=range(2, 21))


def test_collapse_is_flagged_for_a_point_and_a_line_not_for_spread_features():
    rng = np.random.default_rng(0)
    spread = collapse_stats(rng.normal(size=(2000, 32)))
    assert not spread.collapsed
    assert spread.spread_ratio == pytest.approx(1.0, abs=0.05)  # std of the estimate ~ 1/sqrt(2N)
    assert spread.effective_rank > 0.9 * 32
    point = collapse_stats(np.ones((500, 32)) + 1e-4 * rng.normal(size=(500, 32)))
    assert point.collapsed and point.spread_ratio < 0.01
    line = collapse_stats(rng.normal(size=(500, 1)) * rng.normal(size=(1, 32)) + 3.0)
    assert line.collapsed and line.effective_rank == pytest.approx(1.0, abs=1e-4)  # float32 rounding noise
    assert "COLLAPSED" in line.describe() and "effective rank" in spread.describe()
    assert effective_rank(np.zeros((5, 3))) == 1.0
