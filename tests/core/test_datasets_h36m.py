"""Human3.6M (VideoPose3D npz): 32 -> 17 joints, metres -> mm, world -> each of the 4 cameras."""

import os

import numpy as np
import pytest

from hpe_core.datasets import detect_format, open_dataset
from hpe_core.datasets.h36m import KEEP_32
from hpe_core.datasets.h36m_cameras import EXTRINSICS, INTRINSICS
from hpe_core.errors import DatasetError
from hpe_core.geometry import project

LENGTHS = {("S1", "Walking 1"): 5, ("S1", "Directions"): 3, ("S9", "Walking"): 4}


def _qrot(q, v):
    """Rotate vectors v (..., 3) by quaternion q = (w, x, y, z), as VideoPose3D's qrot does."""
    w, qv = q[0], np.asarray(q[1:])
    uv = np.cross(qv, v)
    uuv = np.cross(qv, uv)
    return v + 2 * (w * uv + uuv)


def _reference_camera_frame(world_m, subject, cam):
    """VideoPose3D's world_to_camera: rotate (X - t) by the inverse orientation; in mm."""
    q, centre = EXTRINSICS[subject][cam]
    q = np.asarray(q) / np.linalg.norm(q)
    q_inv = np.array([q[0], -q[1], -q[2], -q[3]])
    return _qrot(q_inv, world_m * 1000.0 - np.asarray(centre))


@pytest.fixture()
def h36m(tmp_path):
    rng = np.random.default_rng(0)
    data = {}
    for (subject, action), length in LENGTHS.items():
        data.setdefault(subject, {})[action] = rng.normal([0, 0, 0.9], 0.3, (length, 32, 3)).astype(np.float32)
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=data)
    return tmp_path, data


def test_joints_in_mm_in_each_camera_frame(h36m):
    folder, data = h36m
    ds = open_dataset(folder)
    assert ds.format == "h36m" and ds.skeleton.name == "h36m17" and len(ds) == 4 * 12
    assert detect_format(folder / "data_3d_h36m.npz") == "h36m"
    for i in range(0, len(ds), 5):
        s = ds.sample(i)
        subject = s.meta["subject_name"]
        seq = ds.sequence_names[s.meta["sequence"]]
        world = data[subject][seq.split("/", 1)[1]][s.meta["frame"]][list(KEEP_32)]
        cam = s.meta["camera_id"] % 4
        np.testing.assert_allclose(s.joints_3d, _reference_camera_frame(world.astype(np.float64), subject, cam), atol=0.05)
        np.testing.assert_allclose(s.joints_3d, ds.joints_3d[i], atol=1e-3)
        np.testing.assert_allclose(project(s.joints_3d, s.camera.K, s.camera.dist), s.joints_2d, atol=1e-2)
        assert s.camera.name == f"{subject}/{INTRINSICS[cam][0]}"
    np.testing.assert_allclose(project(ds.joints_3d[7], ds.camera(7).K, ds.camera(7).dist), ds.joints_2d[7], atol=1e-2)


def test_four_views_share_a_pose_and_subjects_split(h36m):
    ds = open_dataset(h36m[0])
    assert np.bincount(ds.pose_id).tolist() == [4] * 12
    assert ds.subject_names == ["S1", "S9"] and ds.action_names == ["Directions", "Walking"]
    assert set(ds.subject[ds.split_indices("train")].tolist()) == {0}
    assert set(ds.subject[ds.split_indices("test")].tolist()) == {1} and len(ds.split_indices("test")) == 16
    np.testing.assert_array_equal(ds.split_indices("val"), ds.split_indices("test"))
    assert ds.info()["has_images"] is False
    with pytest.raises(DatasetError, match="no images"):
        ds.load_image(0)


def test_2d_file_is_used_when_present(h36m):
    folder, data = h36m
    rng = np.random.default_rng(1)
    poses_2d = {s: {a: [rng.uniform(0, 1000, (len(x) + 1, 17, 2)) for _ in range(4)] for a, x in acts.items()}
                for s, acts in data.items()}  # a frame longer, as video past the mocap: cut to the 3D
    np.savez(folder / "data_2d_h36m_gt.npz", positions_2d=poses_2d, metadata={"layout_name": "h36m"})
    ds = open_dataset(folder)
    assert len(ds) == 4 * 12 and ds.info()["joints_2d_source"] == "data_2d_h36m_gt.npz"
    s = ds.sample(6)
    action = ds.sequence_names[s.meta["sequence"]].split("/", 1)[1]
    expect = poses_2d[s.meta["subject_name"]][action][s.meta["camera_id"] % 4][s.meta["frame"]]
    np.testing.assert_allclose(s.joints_2d, expect, rtol=1e-6)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = np.empty((), dtype=object)
    evil[()] = {"S1": {"Walking": _Evil(marker)}}
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=evil)
    with pytest.raises(DatasetError, match="cannot be read safely"):
        open_dataset(tmp_path / "data_3d_h36m.npz")
    assert not marker.exists()


@pytest.mark.parametrize("data, message", [
    ({"S2": {"Walking": np.zeros((3, 32, 3))}}, "no public camera calibration"),
    ({"S1": {"Walking": np.zeros((3, 30, 3))}}, "expected \\(T, 32, 3\\)"),
    ({"S1": {}}, "no sequences"),
])
def test_bad_contents_are_clear_errors(tmp_path, data, message):
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=data)
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path)
