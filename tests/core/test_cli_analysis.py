"""hpe embed | kernels | compare | predict | evaluate: real files in, JSON out, exit status 2 on bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis_assets import IMAGE_SIZE, make_assets
from hpe_core.cli import main


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_assets(tmp_path_factory.mktemp("cli"))


@pytest.fixture(autouse=True)
def _cache(assets, monkeypatch):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(assets.cache))


def run_json(capsys, *argv):
    code = main([str(a) for a in argv] + ["--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def run_error(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


SIZE = ("--image-size", IMAGE_SIZE, "--device", "cpu")


def test_embed_writes_coordinates_and_reuses_the_cache(assets, capsys, tmp_path):
    argv = ["embed", assets.simclr, assets.dataset, "--layer", "layer4", "--method", "pca", "--dims", 3,
            "--clusters", 3, "--color-by", "action", "--out", tmp_path / "c.csv", *SIZE]
    first = run_json(capsys, *argv)
    assert first["coordinates"] == str(tmp_path / "c.csv") and first["samples"] == 29
    assert set(first["silhouette"]) == {"clusters", "action"} and first["skipped"] == 1
    rows = np.loadtxt(tmp_path / "c.csv", delimiter=",", skiprows=1)
    assert rows.shape == (29, 7)  # index, x, y, z, cluster, label, silhouette
    again = run_json(capsys, *argv)
    assert again["from_cache"] and not first["from_cache"]
    assert again["silhouette"] == first["silhouette"]


def test_embed_given_features(capsys, tmp_path):
    from sklearn.datasets import make_blobs
    from sklearn.metrics import silhouette_score

    x, y = make_blobs(90, 6, centers=3, random_state=0)
    np.save(tmp_path / "f.npy", x)
    np.save(tmp_path / "l.npy", np.array(["a", "b", "c"])[y])
    got = run_json(capsys, "embed", "--features", tmp_path / "f.npy", "--labels", tmp_path / "l.npy",
                   "--method", "pca", "--clusters", 3, "--out", tmp_path / "e.npz")
    assert got["silhouette"]["labels"] == pytest.approx(silhouette_score(x, y), abs=1e-6)
    assert got["silhouette"]["clusters"] == pytest.approx(got["silhouette"]["labels"], abs=1e-6)  # k-means finds the blobs
    with np.load(tmp_path / "e.npz", allow_pickle=False) as saved:
        assert saved["coords"].shape == (90, 2) and saved["label_names"].tolist() == ["a", "b", "c"]


def test_kernels_json_and_images(assets, capsys, tmp_path):
    import cv2

    from hpe_core.datasets import open_dataset

    image = open_dataset(assets.dataset).image_path(0)
    got = run_json(capsys, "kernels", assets.simclr, "--out", tmp_path / "k.png", "--image", image,
                   "--layer", "layer2", "--image-size", IMAGE_SIZE)
    assert [f["index"] for f in got["filters"]] == list(range(8))
    assert all(f["class"] in ("low-pass", "high-pass", "inverting", "mixed", "dead") for f in got["filters"])
    assert set(got["filters"][0]["sums"]) == {"r", "g", "b", "total"}
    assert sum(got["counts"].values()) == 8
    assert cv2.imread(got["grid"]).shape == (3 * 29 + 1, 3 * 29 + 1, 3)  # 8 tiles of 7x7 x4 (+1 px), 3 x 3
    assert got["maps_shape"] == [16, 8, 8]  # layer2 of a width-8 resnet18 at 64 px: 2 x 8 channels, 64 / 8
    assert cv2.imread(got["maps"]) is not None and cv2.imread(got["responses"]) is not None


def test_compare_json(assets, capsys):
    got = run_json(capsys, "compare", assets.simclr, assets.simclr, assets.dataset, "--split", "all",
                   "--layers", "layer2", "encoder", "--clusters", 3, *SIZE)
    assert got["layers_a"] == ["layer2", "encoder"]
    np.testing.assert_allclose(np.diag(got["cka"]), 1.0, atol=1e-6)
    assert got["retrieval"]["a"]["encoder"]["top1"] >= 0 and got["metrics"] is None
    health = got["health"]  # a checkpoint against itself: the same figures, A - B zero
    assert health["a"] == health["b"] and set(health["a_minus_b"]) == {"layer2", "encoder"}
    assert all(v == 0 for v in health["a_minus_b"]["encoder"].values() if v is not None)


def test_health_judges_every_embedding_layer_on_the_same_samples(assets, capsys):
    from hpe_core.analysis.features import EmbedSpec, compute_embeddings
    from hpe_core.analysis.health import dataset_rows, health_measures

    got = run_json(capsys, "health", assets.simclr, assets.simsiam, assets.dataset, *SIZE)
    rows = {(Path(r["checkpoint"]).stem, r["layer"]): r for r in got["rows"]}
    assert list(rows) == [("simclr", "encoder"), ("simclr", "projection"), ("simsiam", "encoder"),
                          ("simsiam", "projection"), ("simsiam", "prediction")]
    assert got["samples"] == 29 and got["fitted"] + got["scored"] <= 29  # one image is unreadable
    emb = compute_embeddings(EmbedSpec(assets.simclr, assets.dataset, ("projection",), max_samples=2000,
                                       device="cpu", image_size=IMAGE_SIZE))
    want = health_measures(np.asarray(emb.features["projection"], np.float32), dataset_rows(emb.dataset, emb.indices))
    assert {k: rows[("simclr", "projection")][k] for k in want} == pytest.approx(want)  # the core's figures
    main(["health", str(assets.regressor), str(assets.dataset), "--layer", "layer3", *map(str, SIZE)])
    text = capsys.readouterr().out
    assert "regressor.pt:layer3" in text and "RankMe" in text and "29 samples" in text


@pytest.mark.parametrize("argv, fragment", [
    (("{dataset}",), "give at least one checkpoint and then the dataset"),
    (("{simclr}", "{dataset}", "--layer", "nope"), "--layer nope: this checkpoint has the layers conv1"),
    (("{dataset}/gone.pt", "{dataset}"), "gone.pt"),
])
def test_health_bad_input_is_one_line(assets, capsys, argv, fragment):
    paths = {"dataset": assets.dataset, "simclr": assets.simclr}
    assert fragment in run_error(capsys, "health", *(a.format(**paths) for a in argv), *SIZE)


@pytest.mark.parametrize("suffix", [".json", ".csv", ".npz"])
def test_predict_video_with_a_broken_frame(assets, capsys, tmp_path, suffix):
    out = tmp_path / f"p{suffix}"
    got = run_json(capsys, "predict", assets.regressor, assets.bad_video, "--out", out, *SIZE)
    assert got["frames"] == 7 and got["skipped"] == 1 and got["out"] == str(out) and out.is_file()
    assert got["skipped_frames"][0]["name"] == "frame 3"


def test_predict_dataset_and_evaluate_agree(assets, capsys, tmp_path):
    from hpe_core.metric_report import evaluate

    got = run_json(capsys, "evaluate", assets.regressor, assets.dataset, "--split", "all", *SIZE)
    assert got["samples"] == 29 and got["skipped"] == 1
    assert set(got["metrics"]) == {"mpjpe", "pa_mpjpe", "n_mpjpe", "mean_distance", "pck3d", "auc3d",
                                   "bone_length_error"}
    run_json(capsys, "predict", assets.regressor, assets.dataset, "--out", tmp_path / "p.npz", *SIZE)
    from hpe_core.datasets import open_dataset

    ds = open_dataset(assets.dataset)
    with np.load(tmp_path / "p.npz", allow_pickle=False) as saved:
        frames, pred = saved["index"], saved["joints_3d"]
    ref = evaluate(pred, ds.joints_3d[frames], ds.visible[frames], skeleton="panoptic19")
    assert got["metrics"]["mpjpe"] == pytest.approx(ref.summary["mpjpe"], rel=1e-6)
    again = run_json(capsys, "evaluate", "--pred", tmp_path / "p.npz", assets.dataset, "--split", "all")
    assert again["metrics"] == got["metrics"] and again["samples"] == got["samples"]


@pytest.mark.parametrize("argv, message", [
    (["predict", "{simclr}", "{video}", "--out", "{tmp}/p.json"], "has no pose head"),
    (["embed", "{simclr}", "{dataset}", "--layer", "layer9"], "has the layers conv1, layer1"),
    (["embed", "{simclr}", "{dataset}", "--clusters", "500"], "500 clusters asked for but there are only 29"),
    (["embed", "{simclr}", "{dataset}", "--color-by", "weather"], "has the labels action"),
    (["embed", "--features", "{tmp}/f.npy", "--labels", "{tmp}/one.npy", "--method", "lda"],
     "LDA needs at least 2 classes"),
    (["embed", "{simclr}", "{dataset}", "--features", "{tmp}/f.npy"], "not both"),
    (["embed", "--features", "{tmp}/f.npy", "--color-by", "action"], "give --labels"),
    (["embed", "--features", "{tmp}/f.npy", "--method", "umap", "--neighbors", "1"], "--neighbors at least 2"),
    (["embed", "--features", "{tmp}/f.npy", "--method", "umap", "--min-dist", "3"], "--min-dist in [0, 1]"),
    (["predict", "{regressor}", "{video}", "--out", "{tmp}/p.txt"], "unknown output format"),
    (["kernels", "{tmp}/missing.pt"], "no such checkpoint file"),
    (["evaluate", "{simclr}", "{dataset}"], "has no pose head"),
])
def test_bad_input_exits_2_with_one_line(assets, capsys, tmp_path, argv, message):
    np.save(tmp_path / "f.npy", np.random.default_rng(0).normal(size=(20, 4)))
    np.save(tmp_path / "one.npy", np.zeros(20, int))
    names = {"simclr": assets.simclr, "regressor": assets.regressor, "dataset": assets.dataset,
             "video": assets.video, "tmp": tmp_path}
    err = run_error(capsys, *[a.format(**names) for a in argv])
    assert message in err
