"""mmpose's body3d layout (Human3.6M and MPI-INF-3DHP with images), on fixtures written as mmpose's
``tools/dataset_converters/preprocess_h36m.py`` / ``preprocess_mpi_inf_3dhp.py`` write them and read
as its ``SimpleCamera`` and ``Body3DH36MDataset`` / ``Body3DMpiInf3dhpDataset`` read them (see
tests/benchmark_layouts.py)."""

import json
import os
import pickle
import shutil
import time

import numpy as np
import pytest

from benchmark_layouts import write_mmpose_3dhp, write_mmpose_h36m
from hpe_core.cli import main
from hpe_core.datasets import detect_format, mmpose, mmpose_names, open_dataset
from hpe_core.errors import DatasetError
from hpe_core.geometry import project


@pytest.fixture()
def h36m(tmp_path, monkeypatch):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path / "cache"))
    return write_mmpose_h36m(tmp_path / "h36m")


def test_h36m_joints_boxes_cameras_and_labels_read_right(h36m):
    ds = open_dataset(h36m["npz"].parents[2])  # the processed/ folder: the one .npz under annotation_body3d/fps*/
    assert detect_format(h36m["npz"]) == "mmpose" and ds.path == h36m["npz"]
    assert (ds.format, ds.skeleton.name, len(ds)) == ("mmpose", "h36m17", 12)
    # float32 mm at ~4 m: float32's spacing there is 0.0005 mm; the 2D px below 64: 8e-6 px
    np.testing.assert_allclose(ds.joints_3d, h36m["S"][..., :3] * 1000, atol=1e-2)
    np.testing.assert_allclose(ds.joints_2d, h36m["part"][..., :2], atol=1e-4)
    assert ds.visible.all() and ds.joints_3d.dtype == np.float32
    np.testing.assert_allclose(ds.column("center"), h36m["center"], atol=1e-4)  # the person box's inputs
    np.testing.assert_allclose(ds.column("scale"), h36m["scale"], atol=1e-6)
    assert ds.subject_names == ["S9", "S11"] and ds.action_names == ["Directions", "Walking"]
    assert ds.sequence_names == ["S11/Directions", "S9/Walking_1"] and ds.frame.tolist()[:3] == [1, 6, 11]
    pose = ds.pose_id  # both cameras of a frame share a pose, the frames of a sequence do not
    assert pose[0] == pose[3] and len(set(pose[:3].tolist())) == 3 and len(np.unique(pose)) == 6
    for i in range(len(ds)):
        cam = ds.camera(i)
        subject, cid = h36m["names"][i].split("/")[0], h36m["names"][i].split(".")[1][:8]
        assert cam.name == f"{subject}/{cid}" and (cam.width, cam.height) == (64, 48)
        # our OpenCV model with (k1, k2, p1, p2, k3) = mmpose's Human3.6M distortion formula
        np.testing.assert_allclose(project(ds.joints_3d[i], cam.K, cam.dist), h36m["part"][i, :, :2], atol=1e-3)
        np.testing.assert_allclose(h36m["world"][i] * 1000 @ cam.R.T + cam.t, ds.joints_3d[i], atol=1e-2)
        s = ds.sample(i)
        np.testing.assert_array_equal(s.joints_3d, ds.joints_3d[i])
        assert s.meta["subject_name"] == subject
    assert ds.split_indices("test").tolist() == list(range(12)) and len(ds.split_indices("train")) == 0


def test_h36m_images_come_from_the_images_folder_two_levels_up(h36m):
    ds = open_dataset(h36m["npz"])
    assert ds.extra["image_root"] == str(h36m["npz"].parents[2] / "images")
    for i in (0, 7, 11):
        assert ds.image_path(i) == h36m["npz"].parents[2] / "images" / h36m["names"][i]
        assert abs(float(ds.load_image(i).mean()) - (10 + 5 * i)) < 1.5  # each image is a flat grey of its row


def test_3dhp_layout_its_test_cameras_and_a_given_image_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path / "cache"))
    made = write_mmpose_3dhp(tmp_path / "3dhp")
    ds = open_dataset(tmp_path / "3dhp")
    assert (ds.skeleton.name, len(ds), ds.subject_names, ds.sequence_names) == ("mpi3dhp17", 5, ["TS1", "TS2"],
                                                                                 ["TS1", "TS2"])
    assert ds.extra["camera_file"].endswith("cameras_test.pkl") and not ds.has("action")
    assert ds.frame.tolist() == [1, 2, 4, 3, 5] and ds.skeleton.joint_names[ds.skeleton.root] == "pelvis"
    np.testing.assert_allclose(ds.joints_3d, made["S"][..., :3] * 1000, atol=1e-2)
    for i in range(len(ds)):
        np.testing.assert_allclose(project(ds.joints_3d[i], ds.camera(i).K, ds.camera(i).dist),
                                   made["part"][i, :, :2], atol=1e-3)
    assert ds.camera(4).name == "TS2" and ds.split_indices("test").tolist() == list(range(5))
    moved = tmp_path / "elsewhere"
    shutil.move(tmp_path / "3dhp" / "images", moved)
    lost = open_dataset(tmp_path / "3dhp")
    assert not lost.info()["has_images"]
    with pytest.raises(DatasetError, match="TS1_000001.jpg"):
        lost.load_image(0)
    found = open_dataset(tmp_path / "3dhp", images=moved)
    assert abs(float(found.load_image(3).mean()) - 100) < 1.5
    assert main(["data", "info", str(tmp_path / "3dhp"), "--images", str(moved), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["image_root"] == str(moved)
    assert main(["data", "check", str(made["npz"]), "--images", str(tmp_path)]) == 2  # the names are not there
    assert "no image TS1_000001.jpg" in capsys.readouterr().err


def _age(*paths, seconds=30):
    for path in paths:
        then = time.time() - seconds
        os.utime(path, (then, then))


def test_reopening_reads_the_labels_from_the_index_cache_until_the_file_changes(h36m, monkeypatch):
    calls = []
    parse = mmpose.parse_names
    monkeypatch.setattr(mmpose, "parse_names", lambda *a: calls.append(1) or parse(*a))
    _age(h36m["npz"], h36m["npz"].parents[1] / "cameras.pkl")  # a file changed within a second is not cached
    first = open_dataset(h36m["npz"])
    second = open_dataset(h36m["npz"])
    assert len(calls) == 1
    for name in mmpose.LABELS:
        np.testing.assert_array_equal(first.column(name), second.column(name))
    assert second.sequence_names == first.sequence_names and isinstance(second.column("frame"), np.memmap)
    _age(h36m["npz"], seconds=20)  # touched: another key
    open_dataset(h36m["npz"])
    assert len(calls) == 2


def _reference(name: str, joint_set: str):
    """One name the slow way: the prefix before the last '_', the number before the extension."""
    prefix, rest = name.rsplit("_", 1)
    base = prefix.rsplit("/", 1)[-1]
    if joint_set == "h36m17":
        subject, rest2 = base.split("_", 1)
        return subject, f"{subject}/{rest2.rsplit('.', 1)[0]}", int(rest.split(".")[0]), f"{subject}/{base.rsplit('.', 1)[1]}"
    return base.split("_")[0], "_".join(base.split("_")[:2]), int(rest.split(".")[0]), base


@pytest.mark.parametrize("joint_set", ["h36m17", "mpi3dhp17"])
def test_vectorised_name_parsing_equals_a_per_name_loop_across_chunks(joint_set, monkeypatch):
    monkeypatch.setattr(mmpose_names, "CHUNK", 7)  # many chunk edges, one inside a run of one sequence
    rng = np.random.default_rng(0)
    if joint_set == "h36m17":
        seqs = [f"S{s}/S{s}_{a}.{c}/S{s}_{a}.{c}" for s in (1, 11) for a in ("Eating_2", "Walking") for c in ("54138969", "60457274")]
    else:
        seqs = ["S1_Seq1_Cam0", "S1_Seq2_Cam8", "TS3", "TS12"]
    names = np.array([f"{seqs[k]}_{f:06d}.jpg" for k in rng.integers(0, len(seqs), 60) for f in rng.integers(1, 9999, 1)])
    arrays, meta = mmpose_names.parse_names(names, joint_set)
    for i, name in enumerate(names.tolist()):
        subject, sequence, frame, camera = _reference(name, joint_set)
        got = (meta["subjects"][arrays["subject"][i]], meta["sequences"][arrays["sequence"][i]],
               int(arrays["frame"][i]), meta["cameras"][arrays["camera_id"][i]])
        assert got == (subject, sequence, frame, camera), name
    same = (arrays["sequence"][:, None] == arrays["sequence"]) & (arrays["frame"][:, None] == arrays["frame"])
    assert np.array_equal(same, arrays["pose_id"][:, None] == arrays["pose_id"])


def test_bad_files_are_refused_with_one_line_naming_them(h36m, tmp_path, capsys):
    data = dict(np.load(h36m["npz"]))
    np.savez(tmp_path / "joints16.npz", **dict(data, S=data["S"][:, :16]))
    with pytest.raises(DatasetError, match="S has 16 joints"):
        open_dataset(tmp_path / "joints16.npz")
    np.savez(tmp_path / "nonumber.npz", **dict(data, imgname=np.array(["S9/a.jpg"] * 12)))
    with pytest.raises(DatasetError, match="imgname 'S9/a.jpg' \\(row 0\\)"):
        open_dataset(tmp_path / "nonumber.npz")
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    with open(h36m["npz"].parents[1] / "cameras.pkl", "wb") as fh:
        pickle.dump({("S9", "54138969"): Payload()}, fh)
    assert main(["data", "info", str(h36m["npz"])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cameras.pkl: camera pickle cannot be read safely" in err[0] and "posix.system" in err[0]
    assert not marker.exists()


def test_a_compressed_file_with_pickled_names_reads_the_same(h36m, tmp_path):
    """Some converters save with ``np.savez_compressed`` and imgname as an object array (a pickle,
    read by the allow-list unpickler)."""
    data = dict(np.load(h36m["npz"]))
    np.savez_compressed(tmp_path / "h36m_test.npz", **dict(data, imgname=data["imgname"].astype(object)))
    a, b = open_dataset(h36m["npz"]), open_dataset(tmp_path / "h36m_test.npz")
    for name in ("joints_3d", "joints_2d", "center", "scale", *mmpose.LABELS):
        np.testing.assert_array_equal(a.column(name), b.column(name))
    assert b.sample_name(5) == a.sample_name(5) and b.sample(5).meta == a.sample(5).meta
