"""The disk cache of predictions: keyed by checkpoint, dataset and settings; written atomically;
an entry that does not fit (another shape, a corrupt file) is ignored, never trusted."""

import cv2
import numpy as np

from hpe_core.inference import cache as pc
from hpe_core.datasets import open_dataset


def test_entries_round_trip_and_bad_ones_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path))
    key = pc.cache_key("a" * 64, "f" * 64, {"precision": "fp32"})
    assert key != pc.cache_key("a" * 64, "f" * 64, {"precision": "fp16"}) != pc.cache_key("b" * 64, "f" * 64)
    joints = np.random.default_rng(0).normal(0, 100, (7, 19, 3)).astype(np.float32)
    predicted = np.array([1, 1, 0, 1, 0, 0, 1], bool)
    joints[~predicted] = np.nan
    assert pc.load(key, 7, 19) is None
    path = pc.save(key, joints, predicted, {"dataset": "x"})
    assert path == tmp_path / "predictions" / f"{key}.npz"
    got_joints, got_predicted = pc.load(key, 7, 19)
    np.testing.assert_array_equal(got_joints, joints)
    np.testing.assert_array_equal(got_predicted, predicted)
    assert pc.load(key, 8, 19) is None and pc.load(key, 7, 17) is None  # another dataset size or skeleton
    other = pc.cache_key("c" * 64, "f" * 64)
    path.rename(pc.entry_path(other))
    assert pc.load(other, 7, 19) is None  # an entry under another name is not trusted
    pc.entry_path(key).write_bytes(b"PK\x03\x04 broken")
    assert pc.load(key, 7, 19) is None
    assert not [p for p in (tmp_path / "predictions").iterdir() if p.name.startswith(".")]  # no temporary left


def test_an_image_folder_s_fingerprint_follows_its_files(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), 50, np.uint8))
    first = pc.dataset_fingerprint(open_dataset(tmp_path))
    assert pc.dataset_fingerprint(open_dataset(tmp_path)) == first
    cv2.imwrite(str(tmp_path / "b.jpg"), np.full((9, 8, 3), 200, np.uint8))  # same name, another image
    assert pc.dataset_fingerprint(open_dataset(tmp_path)) != first


def test_an_entry_keeps_a_models_own_2d_and_its_times(tmp_path, monkeypatch):
    """A heatmap network's 2D (or the 2D a lifter lifted) and the model's time per row come back
    with the 3D; an entry without them (3D only) reads as before; a 2D of another shape is refused."""
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path))
    rng = np.random.default_rng(1)
    joints = np.full((5, 19, 3), np.nan, np.float32)  # a 2D-only network: no 3D
    joints_2d = rng.uniform(0, 96, (5, 19, 2)).astype(np.float32)
    times = np.array([3.5, 3.5, 4.0, np.nan, np.nan], np.float32)
    predicted = np.array([1, 1, 1, 0, 0], bool)
    key = pc.cache_key("a" * 64, "f" * 64, {"lift_from": "b" * 64})
    assert key != pc.cache_key("a" * 64, "f" * 64, {"lift_from": "c" * 64})  # another source, another entry
    pc.save(key, joints, predicted, {"wall_s": 0.25}, joints_2d=joints_2d, time_ms=times)
    entry = pc.load_entry(key, 5, 19)
    np.testing.assert_array_equal(entry.joints_2d, joints_2d)
    np.testing.assert_array_equal(entry.time_ms, times)
    assert entry.meta["wall_s"] == 0.25 and entry.predicted.tolist() == predicted.tolist()
    assert pc.load_entry(key, 5, 17) is None
    pc.save(key, joints, predicted)
    entry = pc.load_entry(key, 5, 19)
    assert entry.joints_2d is None and entry.time_ms is None
