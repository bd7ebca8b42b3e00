"""The native format: round trip, the v1 fixture, laziness at a million samples, bad input."""

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from hpe_core.datasets import native, open_dataset
from hpe_core.datasets.native import write_native
from hpe_core.errors import DatasetError, InputError
from hpe_core.geometry import Camera, look_at, project

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "datasets" / "native_v1"


def _cameras(n=2, size=64):
    cams = {}
    for c in range(n):
        R, t = look_at([3000 * np.sin(c), -1200, 3000 * np.cos(c)], [0, -900, 0])
        cams[c] = Camera(K=[[70, 0, 31.5], [0, 70, 31.5], [0, 0, 1]], R=R, t=t, dist=[0.01, 0, 0, 0, 0],
                         width=size, height=size, name=f"cam{c}")
    return cams


def _make(root, n_poses=6, n_cams=2, with_2d=True, rng=None):
    rng = rng or np.random.default_rng(0)
    cams = _cameras(n_cams)
    world = rng.normal(0, 300, (n_poses, 19, 3)) + np.array([0, -900, 0])
    rows = [(p, c) for p in range(n_poses) for c in range(n_cams)]
    j3 = np.stack([world[p] @ cams[c].R.T + cams[c].t for p, c in rows])
    arrays = {"joints_3d": j3, "camera_id": [c for _, c in rows], "pose_id": [p for p, _ in rows],
              "action": [p % 3 for p, _ in rows], "subject": [p % 2 for p, _ in rows]}
    if with_2d:
        arrays["joints_2d"] = np.stack([project(j3[k], cams[c].K, cams[c].dist) for k, (_, c) in enumerate(rows)])
        arrays["visible"] = np.ones((len(rows), 19), bool)
    return write_native(root, arrays=arrays, cameras=cams, image_size=(64, 64),
                        names={"action": ["a", "b", "c"], "subject": ["S0", "S1"]}), j3


def test_round_trip_keeps_arrays_units_and_cameras(tmp_path):
    root, j3 = _make(tmp_path / "d")
    ds = open_dataset(root)
    assert (ds.format, len(ds), ds.skeleton.name) == ("native", 12, "panoptic19")
    np.testing.assert_allclose(ds.joints_3d, j3.astype(np.float32))
    assert ds.pose_id.dtype == np.int64 and ds.camera_id.dtype == np.int32 and ds.visible.dtype == bool
    assert ds.cameras[1].name == "cam1" and ds.cameras[1].dist[0] == pytest.approx(0.01)
    assert ds.action_names == ["a", "b", "c"] and ds.labels("subject")[1] == ["S0", "S1"]
    assert ds.image_path(3) == root / "images" / "01" / "000001.jpg"


@pytest.mark.parametrize("with_2d", [True, False])
def test_projecting_joints_3d_gives_joints_2d(tmp_path, with_2d):
    """Stored or derived, joints_2d is the projection of joints_3d through the sample's camera."""
    root, _ = _make(tmp_path / "d", with_2d=with_2d)
    ds = open_dataset(root)
    for i in range(len(ds)):
        s = ds.sample(i)
        np.testing.assert_allclose(project(s.joints_3d, s.camera.K, s.camera.dist), s.joints_2d, atol=1e-2)
    np.testing.assert_allclose(ds.sample(5).joints_2d, ds.joints_2d[5])


def test_fixture_v1_reads(tmp_path):
    ds = open_dataset(FIXTURE)
    assert len(ds) == 4 and ds.format == "native" and len(ds.cameras) == 2
    image = ds.load_image(3)
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    s = ds.sample(2)
    np.testing.assert_allclose(project(s.joints_3d, s.camera.K), s.joints_2d, atol=1e-2)
    assert open_dataset(FIXTURE / "dataset.json").path == FIXTURE
    assert open_dataset(FIXTURE / "annotations.npz").path == FIXTURE


def test_newer_format_version_is_refused_with_a_clear_message(tmp_path):
    root = tmp_path / "d"
    shutil.copytree(FIXTURE, root)
    doc = json.loads((root / "dataset.json").read_text())
    doc["format_version"] = 2
    (root / "dataset.json").write_text(json.dumps(doc))
    with pytest.raises(DatasetError, match="newer HPE Studio"):
        open_dataset(root)


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / "annotations.npz").unlink(), "annotations.npz: missing annotation file"),
    (lambda r: (r / "dataset.json").write_text('{"format": "hpe-studio-dataset", '), "dataset.json: corrupt dataset manifest"),
    (lambda r: (r / "dataset.json").write_text('{"format": "something-else", "format_version": 1}'), "not an HPE Studio dataset"),
    (lambda r: (r / "annotations.npz").write_bytes(b"PK garbage"), "annotations.npz: not a readable npz"),
])
def test_damaged_native_dataset_names_the_file(tmp_path, damage, message):
    root = tmp_path / "d"
    shutil.copytree(FIXTURE, root)
    damage(root)
    with pytest.raises(DatasetError, match=message):
        open_dataset(root)


def test_wrong_shapes_and_pickled_arrays_are_refused(tmp_path):
    root = tmp_path / "d"
    shutil.copytree(FIXTURE, root)
    good = dict(np.load(root / "annotations.npz"))
    np.savez(root / "annotations.npz", **{**good, "joints_3d": good["joints_3d"][:, :5]})
    with pytest.raises(DatasetError, match="joints_3d has shape"):
        open_dataset(root)
    np.savez(root / "annotations.npz", **{**good, "pose_id": np.array([{"a": 1}] * 4, dtype=object)})
    with pytest.raises(DatasetError, match="Python objects"):
        open_dataset(root).pose_id


def test_unreadable_image_is_a_dataset_error_naming_the_file(tmp_path):
    root = tmp_path / "d"
    shutil.copytree(FIXTURE, root)
    (root / "images" / "01" / "000001.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    ds = open_dataset(root)
    with pytest.raises(DatasetError, match="000001.jpg"):
        ds.load_image(3)
    with pytest.raises(DatasetError, match="000001.jpg"):
        ds.sample(3).image


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to measure memory")
def test_a_million_samples_open_lazily(tmp_path, monkeypatch):
    """Opening reads no image and maps the arrays instead of loading them (228 MB of joints)."""
    n = 1_000_000
    root = tmp_path / "big"
    root.mkdir()
    cams = _cameras(4)
    doc = {"format": "hpe-studio-dataset", "format_version": 1, "skeleton": "panoptic19",
           "cameras": {str(k): c.to_dict() for k, c in cams.items()}}
    (root / "dataset.json").write_text(json.dumps(doc))
    pose = np.linspace(-400, 400, 57, dtype=np.float32).reshape(1, 19, 3) + np.array([0, 0, 3000], np.float32)
    np.savez(root / "annotations.npz", joints_3d=np.broadcast_to(pose, (n, 19, 3)),
             camera_id=(np.arange(n) % 4).astype(np.int32), pose_id=np.arange(n) // 4)
    reads = []
    monkeypatch.setattr(native, "read_image", lambda p: reads.append(p))
    before = _rss_mb()
    ds = open_dataset(root)
    s = ds.sample(n - 1)
    assert len(ds) == n and s.meta["pose_id"] == (n - 1) // 4 and s.meta["camera_id"] == 3
    np.testing.assert_allclose(s.joints_3d, pose[0])
    np.testing.assert_allclose(s.joints_2d, project(pose[0], cams[3].K, cams[3].dist), atol=1e-3)
    assert _rss_mb() - before < 60, "opening a million samples must not load the joint arrays"
    assert reads == [] and not (root / "images").exists()
    test = ds.split_indices("test")
    assert 0.19 < len(test) / n < 0.21


def test_pickling_drops_memory_maps_and_reopens(tmp_path):
    root, _ = _make(tmp_path / "d")
    ds = open_dataset(root)
    _ = ds.joints_3d, ds.pose_id
    state = ds.__getstate__()
    assert not any(isinstance(v, np.memmap) for v in state["_base"].values())
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone.joints_3d, ds.joints_3d)
    np.testing.assert_array_equal(clone.labels("action")[0], ds.labels("action")[0])


def test_files_are_written_with_ordinary_permissions(tmp_path):
    root, _ = _make(tmp_path / "d")
    mask = os.umask(0)
    os.umask(mask)
    for name in ("dataset.json", "annotations.npz"):
        assert (root / name).stat().st_mode & 0o777 == 0o666 & ~mask


def test_unknown_label_lists_the_valid_ones(tmp_path):
    root, _ = _make(tmp_path / "d")
    ds = open_dataset(root)
    with pytest.raises(InputError, match="action, subject, camera, pose_id"):
        ds.labels("sequence")
    values, names = ds.labels("camera")
    assert names == ["cam0", "cam1"] and set(values.tolist()) == {0, 1}
