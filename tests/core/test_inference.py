"""Predictor: exactness of the inference copy, precisions, images, folders, datasets, videos."""

import json
import threading

import numpy as np
import pytest
import torch

from predict_helpers import run_predict
from analysis_assets import BROKEN, IMAGE_SIZE, frame_image, make_assets
from hpe_core.datasets import open_dataset
from hpe_core.datasets.transforms import to_tensor
from hpe_core.errors import CheckpointError, InputError
from hpe_core.inference import Predictor, fuse_batchnorm
from hpe_core.models import load_checkpoint
from hpe_core.progress import Cancelled, RecordingProgress


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_assets(tmp_path_factory.mktemp("inference"))


@pytest.fixture(scope="module")
def model(assets):
    return load_checkpoint(assets.regressor)[0]


def _reference(model, images):
    """The plain model on the same preprocessing: (N, J, 3)."""
    x = torch.stack([to_tensor(im, IMAGE_SIZE) for im in images])
    with torch.no_grad():
        return model.predict_pose(x).numpy()


def test_fused_batchnorm_is_the_same_function(model):
    x = torch.randn(3, 3, IMAGE_SIZE, IMAGE_SIZE)
    fused = fuse_batchnorm(model.encoder)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    with torch.no_grad():
        a = model.encoder.forward_features(x, ("pooled",))["pooled"]
        b = fused.forward_features(x, ("pooled",))["pooled"]
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fuse, channels_last", [(True, True), (False, False), (True, False)])
def test_fp32_predictions_equal_the_plain_model(model, fuse, channels_last):
    images = [frame_image(i) for i in range(5)]
    predictor = Predictor(model, device="cpu", batch_size=2, image_size=IMAGE_SIZE, fuse=fuse,
                          channels_last=channels_last)
    got = predictor.predict_arrays(images)
    assert got.shape == (5, 19, 3)
    np.testing.assert_allclose(got, _reference(model, images), atol=1e-3)  # mm
    assert np.all(got[:, model.root_index] == 0)  # root-relative


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_stays_close_to_fp32(model, precision):
    images = [frame_image(i) for i in range(6)]
    fp32 = Predictor(model, "cpu", "fp32", image_size=IMAGE_SIZE).predict_arrays(images)
    low = Predictor(model, "cpu", precision, image_size=IMAGE_SIZE).predict_arrays(images)
    mpjpe = np.linalg.norm(low - fp32, axis=-1).mean()
    scale = np.linalg.norm(fp32, axis=-1).mean()
    assert mpjpe < 0.02 * scale and mpjpe < 2.0  # mm; poses are ~50 mm here


def test_dataset_predictions_skip_unreadable_images_and_match_the_model(assets, model):
    dataset = open_dataset(assets.dataset)
    calls = []
    predictor = Predictor(assets.regressor, "cpu", batch_size=4, image_size=IMAGE_SIZE)
    result = run_predict(predictor, dataset, np.arange(8), on_batch=lambda b: calls.extend(b.indices.tolist()))
    assert result.frames == [0, 1, 2, 3, 5, 6, 7] and result.skipped == 1
    assert result.skipped_reasons[0].endswith("not a readable image")
    assert calls == result.frames
    images = [dataset.load_image(i) for i in result.frames]
    np.testing.assert_allclose(result.joints_3d, _reference(model, images), atol=1e-3)
    assert BROKEN not in result.frames


def test_folder_of_images_sorted_with_a_broken_file(assets, tmp_path, model):
    import cv2

    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), cv2.cvtColor(frame_image(i), cv2.COLOR_RGB2BGR))
    (tmp_path / "img3.jpg").write_bytes(b"\xff\xd8 truncated")
    result = run_predict(Predictor(model, "cpu", image_size=IMAGE_SIZE), tmp_path)
    assert result.names == ["img0.png", "img1.png", "img2.png"]
    assert result.skipped_names == ["img3.jpg"]
    np.testing.assert_allclose(result.joints_3d, _reference(model, [frame_image(i) for i in range(3)]), atol=1e-3)


def test_video_with_an_undecodable_frame(assets, model):
    import cv2

    predictor = Predictor(model, "cpu", batch_size=3, image_size=IMAGE_SIZE)
    good = run_predict(predictor, assets.video)
    bad = run_predict(predictor, assets.bad_video)
    assert good.frames == list(range(8)) and good.skipped == 0
    assert bad.frames == [0, 1, 2, 4, 5, 6, 7] and bad.skipped_names == ["frame 3"]
    np.testing.assert_allclose(bad.joints_3d, good.joints_3d[[0, 1, 2, 4, 5, 6, 7]], atol=1e-4)
    cap = cv2.VideoCapture(str(assets.video))  # the pipeline equals decoding + predicting directly
    frames = [cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB) for _ in range(8)]
    cap.release()
    np.testing.assert_allclose(good.joints_3d, _reference(model, frames), atol=1e-3)


@pytest.mark.parametrize("stride, max_frames, expected", [(2, None, [0, 2, 4, 6]), (1, 3, [0, 1, 2]), (3, 2, [0, 3])])
def test_video_stride_and_limit(assets, model, stride, max_frames, expected):
    result = run_predict(Predictor(model, "cpu", image_size=IMAGE_SIZE), assets.video, stride=stride,
                         max_frames=max_frames)
    assert result.frames == expected


def test_cancel_stops_and_leaves_no_thread(assets, model):
    before = threading.active_count()
    predictor = Predictor(model, "cpu", batch_size=1, image_size=IMAGE_SIZE)
    with pytest.raises(Cancelled):
        run_predict(predictor, assets.video, progress=RecordingProgress(cancel_after=2))
    assert threading.active_count() == before


def test_no_pose_head_is_a_clear_error(assets):
    with pytest.raises(CheckpointError, match="has no pose head"):
        Predictor(assets.simclr, "cpu")


@pytest.mark.parametrize("kwargs, message", [({"device": "tpu"}, "not a device"),
                                             ({"precision": "int8"}, "valid values are fp32"),
                                             ({"batch_size": 0}, "at least 1")])
def test_bad_arguments(model, kwargs, message):
    with pytest.raises(InputError, match=message):
        Predictor(model, **{"device": "cpu", **kwargs})


def test_unreadable_video_file(tmp_path, model):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"nothing")
    with pytest.raises(InputError, match="not a video that can be decoded"):
        run_predict(Predictor(model, "cpu"), path)


@pytest.mark.parametrize("suffix", [".json", ".csv", ".npz"])
def test_saved_predictions_round_trip(assets, model, tmp_path, suffix):
    result = run_predict(Predictor(model, "cpu", image_size=IMAGE_SIZE), assets.bad_video)
    path = result.save(tmp_path / f"out{suffix}")
    if suffix == ".json":
        data = json.loads(path.read_text())
        assert data["frames"] == 7 and data["skipped"] == 1
        joints = np.array([p["joints_3d"] for p in data["predictions"]])
        assert [p["frame"] for p in data["predictions"]] == result.frames
    elif suffix == ".csv":
        rows = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(3, 3 + 57))
        joints = rows.reshape(-1, 19, 3)
    else:  # the Prediction file: frames as its index, the run's record in its meta
        from hpe_core.predictions import load_prediction

        pred = load_prediction(path)
        joints = pred.joints_3d
        assert pred.index.tolist() == result.frames and pred.frame == "root_relative"
        assert pred.meta["names"] == result.names and pred.skeleton == "panoptic19"
        assert [s["name"] for s in pred.meta["skipped"]] == ["frame 3"]
    np.testing.assert_allclose(joints, result.joints_3d, atol=1e-3)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_unknown_output_format(model, assets, tmp_path):
    result = run_predict(Predictor(model, "cpu", image_size=IMAGE_SIZE), assets.video, max_frames=1)
    with pytest.raises(InputError, match="unknown output format .txt"):
        result.save(tmp_path / "out.txt")


@pytest.mark.parametrize("what", ["folder", "manifest", "video", "image"])
def test_predict_dispatches_on_the_input(assets, model, what):
    from hpe_core.datasets import open_dataset

    source = {"folder": assets.dataset, "manifest": assets.dataset / "dataset.json", "video": assets.video,
              "image": open_dataset(assets.dataset).image_path(0)}[what]
    result = run_predict(Predictor(model, "cpu", image_size=IMAGE_SIZE), source)
    assert len(result) == {"folder": 29, "manifest": 29, "video": 8, "image": 1}[what]


@pytest.mark.parametrize("name", ["simclr_regress2.pt", "simsiam_regress2.pt"])
def test_demo_bf16_predictions_stay_within_2mm_of_fp32(tmp_path, name):
    from analysis_assets import demo_checkpoint, demo_like_views

    views = open_dataset(demo_like_views(tmp_path))
    rows = np.arange(0, len(views), 2)
    fp32 = run_predict(Predictor(demo_checkpoint(name), "cpu", "fp32"), views, rows)
    bf16 = run_predict(Predictor(demo_checkpoint(name), "cpu", "bf16"), views, rows)
    assert fp32.frames == bf16.frames == rows.tolist()
    assert np.linalg.norm(bf16.joints_3d - fp32.joints_3d, axis=-1).mean() < 2.0  # mm
