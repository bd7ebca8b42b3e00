"""3DPW (sequenceFiles/*/*.pkl + imageFiles/), on Python-2 pickles written as Python 2 writes them,
with the fields its readme lists and read as its ``demo.py`` reads them (jointPositions world,
cam_poses world -> camera, poses2d (T, 3, 18), campose_valid per actor); see tests/benchmark_layouts.py.
A pickle that names anything but NumPy's array rebuilders and plain containers runs nothing."""

import builtins
import os
import pickletools

import numpy as np
import pytest

from benchmark_layouts import py2_pickle, write_pw3d
from hpe_core.cli import main
from hpe_core.datasets import detect_format, open_dataset
from hpe_core.errors import DatasetError
from hpe_core.skeleton import SMPL24


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("3dpw")
    return root, write_pw3d(root)


def test_the_fixture_is_a_python_2_pickle(made):
    root, _ = made
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops((root / "sequenceFiles" / "test" /
                                                                "downtown_walking_00.pkl").read_bytes())]
    names = {name for name, _ in ops}
    assert ops[0] == ("PROTO", 2) and "SHORT_BINSTRING" in names and "BINSTRING" in names
    assert not names & {"BINUNICODE", "SHORT_BINUNICODE", "BINBYTES", "SHORT_BINBYTES", "FRAME"}
    assert ("GLOBAL", "numpy.core.multiarray _reconstruct") in ops


def _reference_rows(doc):
    """(frame, actor, joints mm in the camera frame) of the valid (frame, actor) pairs, frame-major."""
    rows = []
    for f in range(len(doc["cam_poses"])):
        for a in range(len(doc["jointPositions"])):
            if doc["campose_valid"][a][f]:
                world = doc["jointPositions"][a][f].reshape(24, 3)
                cam = doc["cam_poses"][f]
                rows.append((f, a, (world @ cam[:3, :3].T + cam[:3, 3]) * 1000))
    return rows


def test_rows_joints_2d_and_images_read_right(made):
    root, docs = made
    ds = open_dataset(root)
    assert detect_format(root / "sequenceFiles") == "pw3d" and detect_format(root / "sequenceFiles" / "test") == "pw3d"
    assert (ds.format, ds.skeleton, len(ds)) == ("pw3d", SMPL24, 3 + 7)
    assert ds.sequence_names == ["courtyard_hug_01", "downtown_walking_00"]
    row = 0
    for k, seq in enumerate(ds.sequence_names):
        doc = docs[seq]
        for frame, actor, joints in _reference_rows(doc):
            s = ds.sample(row)
            assert (s.meta["frame"], s.meta["subject_name"]) == (frame, f"{seq}/actor{actor}")
            np.testing.assert_allclose(s.joints_3d, joints, atol=1e-2)  # float32 mm at ~4 m
            K = doc["cam_intrinsics"]
            np.testing.assert_allclose(s.joints_2d, joints[:, :2] / joints[:, 2:] * K[[0, 1], [0, 1]] + K[:2, 2],
                                       atol=1e-3)
            np.testing.assert_allclose(ds.column("poses2d")[row], doc["poses2d"][actor][frame].T, atol=1e-4)
            assert ds.image_path(row) == root / "imageFiles" / seq / f"image_{frame:05d}.jpg"
            assert abs(float(ds.load_image(row).mean()) - (50 + 30 * frame)) < 1.5
            assert (ds.camera(row).width, ds.camera(row).height) == (48, 64) and s.meta["action_name"] == seq[:-3]
            row += 1
    assert ds.frame[3:].tolist() == [0, 0, 1, 1, 2, 3, 3]  # frame 2 has actor 0 only: actor 1's pose is not valid
    assert ds.split_indices("test").tolist() == list(range(3, 10)) and ds.split_indices("val").tolist() == [0, 1, 2]


class Payload:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return self.fn, (self.arg,)


@pytest.mark.parametrize("fn, named", [(os.system, "posix.system"), (builtins.eval, "__builtin__.eval")])
def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(made, tmp_path, capsys, fn, named):
    root, docs = made
    marker = tmp_path / "ran"
    command = f"touch {marker}" if fn is os.system else f"open({str(marker)!r}, 'w')"
    bad = tmp_path / "3dpw" / "sequenceFiles" / "test" / "downtown_walking_00.pkl"
    py2_pickle(dict(docs["downtown_walking_00"], sequence=Payload(fn, command)), bad)
    assert main(["data", "info", str(tmp_path / "3dpw")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and f"refusing to load {named}" in err[0]
    with pytest.raises(DatasetError, match="cannot be read safely"):
        open_dataset(bad)
    assert not marker.exists()


def test_a_file_without_the_fields_names_what_is_missing(made, tmp_path):
    _, docs = made
    doc = dict(docs["courtyard_hug_01"])
    del doc["cam_poses"]
    py2_pickle(doc, tmp_path / "x.pkl")
    with pytest.raises(DatasetError, match="x.pkl: no 'cam_poses'"):
        open_dataset(tmp_path / "x.pkl")
