"""``Prediction``: validation, rows, concatenation and its .npz file (round trip, refusals)."""

import json
import os

import numpy as np
import pytest

from hpe_core.errors import InputError
from hpe_core.predictions import FORMAT_VERSION, Prediction, is_prediction_file, load_prediction

RNG = np.random.default_rng(0)


def full(n=4, j=5) -> Prediction:
    return Prediction(joints_3d=RNG.normal(size=(n, j, 3)) * 100, frame="camera",
                      joints_2d=RNG.uniform(0, 64, (n, j, 2)), heatmaps=RNG.random((n, j, 8, 6)),
                      hypotheses=RNG.normal(size=(n, 3, j, 3)), embeddings={"image": RNG.normal(size=(n, 7)),
                                                                             "pose2d": RNG.normal(size=(n, 2))},
                      latent=RNG.normal(size=(n, 4)), scores=RNG.random((n, j)), index=np.arange(10, 10 + n),
                      skeleton="toy", checkpoint="ab" * 32, meta={"source": "unit test", "names": ["a"] * n})


def test_every_field_round_trips_through_the_npz_file_exactly(tmp_path):
    pred = full()
    pred.joints_3d[1, 2] = np.nan  # a missing joint stays missing
    path = pred.save(tmp_path / "p.npz")
    back = load_prediction(path)
    assert back.present == pred.present == ("joints_3d", "joints_2d", "heatmaps", "hypotheses", "latent",
                                            "scores", "index", "embeddings")
    for name in ("joints_3d", "joints_2d", "heatmaps", "hypotheses", "latent", "scores", "index"):
        assert np.array_equal(getattr(back, name), getattr(pred, name), equal_nan=True), name
        assert getattr(back, name).dtype == (np.int64 if name == "index" else np.float32)
    assert all(np.array_equal(back.embeddings[k], v) for k, v in pred.embeddings.items())
    assert (back.frame, back.skeleton, back.checkpoint, back.meta) == ("camera", "toy", "ab" * 32, pred.meta)
    assert len(back) == 4 and back.num_joints == 5 and is_prediction_file(path)


def test_the_file_is_plain_arrays_plus_json_meta_readable_without_pickle(tmp_path):
    path = full().save(tmp_path / "p.npz")
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(["meta", "joints_3d", "joints_2d", "heatmaps", "hypotheses", "latent",
                                             "scores", "index", "embeddings.image", "embeddings.pose2d"])
        meta = json.loads(str(data["meta"][()]))
    assert meta["format"] == "hpe-studio-prediction" and meta["format_version"] == FORMAT_VERSION
    assert meta["units"] == {"joints_3d": "mm", "hypotheses": "mm", "joints_2d": "px"}
    assert meta["frame"] == "camera" and meta["skeleton"] == "toy"


def test_only_present_fields_are_written(tmp_path):
    pred = Prediction(joints_3d=np.zeros((2, 3, 3)), frame="root_relative")
    path = pred.save(tmp_path / "p.npz")
    with np.load(path) as data:
        assert sorted(data.files) == ["joints_3d", "meta"]
    back = load_prediction(path)
    assert back.joints_2d is None and back.embeddings == {} and back.index is None


def test_take_and_concat_keep_rows_together():
    pred = full(6)
    a, b = pred.take(np.arange(3)), pred.take(np.arange(3, 6))
    joined = Prediction.concat([a, b])
    assert len(a) == 3 and np.array_equal(a.index, [10, 11, 12])
    assert np.array_equal(joined.hypotheses, pred.hypotheses)
    assert np.array_equal(joined.embeddings["pose2d"], pred.embeddings["pose2d"])
    with pytest.raises(InputError, match="different fields"):
        Prediction.concat([a, Prediction(joints_3d=np.zeros((1, 5, 3)), frame="camera")])


@pytest.mark.parametrize("kwargs, message", [
    ({"joints_3d": np.zeros((2, 3, 3))}, "3D joints need a frame"),
    ({"joints_3d": np.zeros((2, 3, 3)), "frame": "world"}, "need a frame, one of camera, root_relative"),
    ({"joints_3d": np.zeros((2, 3)), "frame": "camera"}, r"joints_3d: expected \(N, J, 3\)"),
    ({"joints_3d": np.zeros((2, 3, 3)), "frame": "camera", "scores": np.zeros((3, 3))}, "number of samples"),
    ({"joints_3d": np.zeros((2, 3, 3)), "frame": "camera", "joints_2d": np.zeros((2, 4, 2))}, "number of joints"),
    ({"embeddings": {"image": np.zeros(3)}}, r"embeddings\['image'\]: expected \(N, D\)"),
    ({"index": np.array([0.5])}, "index: expected"),
])
def test_inconsistent_fields_are_refused_with_the_field_named(kwargs, message):
    with pytest.raises(InputError, match=message):
        Prediction(**kwargs)


def test_a_prediction_is_frozen():
    with pytest.raises(AttributeError):
        full().frame = "camera"


def test_bad_files_are_refused_naming_the_file(tmp_path):
    arr = tmp_path / "a.npz"
    np.savez(arr, joints=np.zeros((2, 3, 3)))
    with pytest.raises(InputError, match="a.npz: no 'meta' entry"):
        load_prediction(arr)
    newer = tmp_path / "n.npz"
    np.savez(newer, meta=np.asarray(json.dumps({"format": "hpe-studio-prediction", "format_version": 99})))
    with pytest.raises(InputError, match="n.npz: made by a newer version"):
        load_prediction(newer)
    obj = tmp_path / "o.npz"
    np.savez(obj, meta=np.asarray(json.dumps({"format": "hpe-studio-prediction", "format_version": 1})),
             joints_3d=np.array([{"x": 1}], dtype=object))
    with pytest.raises(InputError, match="o.npz"):
        load_prediction(obj)
    text = tmp_path / "t.npz"
    text.write_text("not a zip")
    with pytest.raises(InputError, match="t.npz: not a readable .npz"):
        load_prediction(text)
    assert not is_prediction_file(arr) and not is_prediction_file(text)


def test_save_is_atomic_and_needs_npz(tmp_path):
    target = tmp_path / "p.npz"
    full().save(target)
    before = target.read_bytes()
    with pytest.raises(InputError, match="not JSON-able"):
        full().replace(meta={"bad": object()}).save(target)
    assert target.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["p.npz"]
    with pytest.raises(InputError, match="saved as .npz"):
        full().save(tmp_path / "p.json")
