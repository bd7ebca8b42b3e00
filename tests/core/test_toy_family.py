"""Issue 26: a family defined only in a test (tests/toy_families.py) predicts through ``hpe
predict`` over a dataset, a video and a keypoints file, and is scored by ``hpe evaluate``: the one
predict reads what the family declares, so nothing else has to know it."""

import json

import cv2
import numpy as np
import pytest

from hpe_core.cli import main
from hpe_core.datasets import open_dataset
from hpe_core.datasets.synthetic import SynthSpec, synthesize
from hpe_core.predictions import load_prediction
from hpe_core.progress import NullProgress
from toy_families import save_toys


@pytest.fixture
def toys(tmp_path, monkeypatch):
    data = synthesize(SynthSpec(tmp_path / "ds", poses=3, cameras=2, size=64, seed=2, subjects=2), NullProgress())
    image, lift = save_toys(tmp_path, monkeypatch)
    return tmp_path, open_dataset(data), image, lift


def hpe(capsys, *args) -> dict:
    assert main([*map(str, args), "--device", "cpu", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_toy_image_family_predicts_a_dataset_and_a_video_and_is_evaluated(toys, capsys):
    tmp, ds, image, _ = toys
    out = hpe(capsys, "predict", image, ds.path, "--out", tmp / "ds.npz")
    pred = load_prediction(out["out"])
    assert out["frames"] == len(ds) and pred.joints_3d.shape == (len(ds), 19, 3)
    assert np.allclose(pred.joints_3d[:, 0], 0) and (pred.joints_2d >= 0).all() and (pred.joints_2d <= 64).all()
    video = tmp / "clip.avi"  # the dataset's images as frames, at twice their size
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (128, 128))
    for i in range(len(ds)):
        writer.write(cv2.resize(cv2.cvtColor(ds.load_image(i), cv2.COLOR_RGB2BGR), (128, 128)))
    writer.release()
    frames = load_prediction(hpe(capsys, "predict", image, video, "--out", tmp / "clip.npz")["out"])
    assert frames.index.tolist() == list(range(len(ds)))
    assert (frames.joints_2d <= 128).all() and frames.joints_2d.max() > 64  # the frames' px, not the input's
    report = hpe(capsys, "evaluate", image, ds.path, "--split", "all")
    assert report["samples"] == len(ds) and report["metrics"]["mpjpe"] > 0


def test_a_toy_lifter_lifts_a_keypoints_file_the_dataset_and_the_toy_image_models_2d(toys, capsys):
    tmp, ds, image, lift = toys
    np.save(tmp / "keypoints.npy", np.asarray(ds.joints_2d))
    from_file = load_prediction(hpe(capsys, "predict", lift, tmp / "keypoints.npy", "--out", tmp / "k.npz")["out"])
    from_dataset = load_prediction(hpe(capsys, "predict", lift, ds.path, "--out", tmp / "d.npz")["out"])
    np.testing.assert_array_equal(from_file.joints_3d, from_dataset.joints_3d)
    chained = load_prediction(hpe(capsys, "predict", f"{image}+{lift}", ds.path, "--out", tmp / "c.npz")["out"])
    first = load_prediction(hpe(capsys, "predict", image, ds.path, "--out", tmp / "ds.npz")["out"])
    np.testing.assert_allclose(chained.joints_2d, first.joints_2d, atol=1e-4)  # it lifted the image model's 2D
    assert not np.allclose(chained.joints_3d, from_dataset.joints_3d)
    report = hpe(capsys, "evaluate", lift, ds.path, "--split", "all")
    assert report["samples"] == len(ds) and np.isfinite(report["metrics"]["pa_mpjpe"])
