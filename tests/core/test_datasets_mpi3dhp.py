"""MPI-INF-3DHP's official test set (TS*/annot_data.mat + imageSequence/), both MATLAB file
versions, on fixtures laid out as the test set's readme describes (annot2 2x17x1xN, annot3 and
univ_annot3 3x17x1xN mm, valid_frame, activity_annotation; see tests/benchmark_layouts.py), read as
mmpose's ``preprocess_mpi_inf_3dhp.py`` reads the v7.3 file (h5py) and the kit's
``mpii_test_predictions.m`` selects frames (valid_frame)."""

import h5py
import numpy as np
import pytest
from scipy.io import whosmat

from benchmark_layouts import write_3dhp_test
from hpe_core.cli import main
from hpe_core.datasets import detect_format, open_dataset
from hpe_core.datasets.mpi3dhp import ACTIVITIES


@pytest.fixture(scope="module", params=["v5", "v7.3"])
def made(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param.replace(".", ""))
    return request.param, root, write_3dhp_test(root, request.param)


def test_the_fixture_is_the_matlab_version_it_says(made):
    version, root, _ = made
    path = root / "TS1" / "annot_data.mat"
    assert h5py.is_hdf5(path) == (version == "v7.3")
    assert path.read_bytes()[:19] == b"MATLAB 7.3 MAT-file" if version == "v7.3" else \
        {name for name, _, _ in whosmat(path)} >= {"annot2", "annot3", "univ_annot3", "valid_frame"}


def test_valid_frames_joints_activities_and_cameras_read_right(made):
    _, root, mats = made
    ds = open_dataset(root)
    assert detect_format(root / "TS5" / "annot_data.mat") == "mpi3dhp" and detect_format(root / "TS1") == "mpi3dhp"
    assert (ds.format, ds.skeleton.name, len(ds), ds.extra["invalid_frames"]) == ("mpi3dhp", "mpi3dhp17", 6, 2)
    assert ds.subject_names == ds.sequence_names == ["TS1", "TS5"]
    assert ds.frame.tolist() == [0, 1, 3, 4, 0, 1]  # TS1's frame 2 (valid_frame 0) is left out
    row = 0
    for k, ts in enumerate(("TS1", "TS5")):
        m = mats[ts]
        for frame in np.flatnonzero(m["valid_frame"][0]):
            # MATLAB's annot3(c, j, 1, n) is joint j's coordinate c in frame n
            np.testing.assert_allclose(ds.joints_3d[row], m["annot3"][:, :, 0, frame].T, atol=1e-3)
            np.testing.assert_allclose(ds.column("joints_3d_univ")[row], m["univ_annot3"][:, :, 0, frame].T, atol=1e-3)
            np.testing.assert_allclose(ds.joints_2d[row], m["annot2"][:, :, 0, frame].T, atol=1e-4)
            activity = int(m["activity_annotation"][0, frame])
            assert ds.sample(row).meta["action_name"] == (ACTIVITIES[activity - 1] if activity else "(none)")
            assert ds.sample(row).meta["name"] == f"{ts}/imageSequence/img_{frame + 1:06d}.jpg"
            assert abs(float(ds.load_image(row).mean()) - (30 + 10 * frame)) < 1.5
            row += 1
        cam = ds.cameras[k]  # fitted to annot2 = pinhole(annot3): exact up to rounding
        np.testing.assert_allclose(cam.K, m["K"], atol=1e-6)
        assert (cam.width, cam.height) == m["size"] and cam.name == ts
    assert ds.split_indices("test").tolist() == list(range(6)) and len(ds.split_indices("train")) == 0


def test_both_versions_read_the_same(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_3dhp_test(a, "v5")
    write_3dhp_test(b, "v7.3")
    x, y = open_dataset(a), open_dataset(b)
    for name in ("joints_3d", "joints_3d_univ", "joints_2d", "action", "frame", "subject"):
        np.testing.assert_array_equal(x.column(name), y.column(name))


def test_a_broken_annotation_file_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "TS1").mkdir()
    (tmp_path / "TS1" / "annot_data.mat").write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 20)
    assert main(["data", "info", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "TS1/annot_data.mat" in err[0] and "Traceback" not in err[0]
