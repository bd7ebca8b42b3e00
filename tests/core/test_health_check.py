"""The health check finds every planted fault, flags nothing on a clean set, and writes skip lists."""

import shutil

import cv2
import numpy as np
import pytest

from hpe_core.datasets import open_dataset
from hpe_core.datasets.check import CheckSpec, check_dataset, check_text, run_check
from hpe_core.datasets.native import write_native
from hpe_core.datasets.synthetic import SynthSpec, planted_faults, synthesize
from hpe_core.progress import Cancelled, RecordingProgress

EXPECT = {"green": "saturated", "black": "uniform", "truncated": "truncated"}


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory):
    spec = SynthSpec(tmp_path_factory.mktemp("h") / "c", poses=30, cameras=3, size=48, seed=11, corrupt=0.12)
    return synthesize(spec), planted_faults(spec)


def test_finds_every_planted_fault_and_nothing_else(corrupt):
    path, faults = corrupt
    report = run_check(CheckSpec(path))
    flagged = {issue["index"]: issue["problems"] for issue in report["issues"]}
    assert set(flagged) == set(faults)
    for i, kind in faults.items():
        assert EXPECT[kind] in flagged[i], (i, kind, flagged[i])
    assert report["counts"]["truncated"] == sum(k == "truncated" for k in faults.values())
    assert report["flagged"] == len(faults) and report["samples"] == 90


def test_clean_set_flags_nothing(tmp_path):
    path = synthesize(SynthSpec(tmp_path / "clean", poses=25, cameras=3, size=48, seed=12))
    report = run_check(CheckSpec(path))
    assert report["flagged"] == 0 and report["issues"] == [] and sum(report["counts"].values()) == 0


def _planted_joint_and_file_faults(src, dst):
    shutil.copytree(src, dst)
    ds = open_dataset(dst)
    arrays = {name: np.array(ds.column(name)) for name in ("joints_3d", "joints_2d", "visible", "pose_id",
                                                            "camera_id", "action", "subject", "sequence", "frame")}
    arrays["joints_3d"][1, 4] = np.nan                   # NaN joint marked visible
    arrays["joints_3d"][2, 5, 2] = -300.0                # behind the camera
    arrays["joints_2d"][3, 6] = [48 * 10, 20]            # far outside the image
    write_native(dst, arrays=arrays, cameras=ds.cameras, image_size=(48, 48),
                 names={"action": ds.action_names, "subject": ds.subject_names})
    shutil.copy(ds.image_path(4), ds.image_path(5))      # a duplicate frame
    ds.image_path(6).unlink()                           # a missing file
    ds.image_path(7).write_bytes(b"")                   # an empty file
    ds.image_path(8).write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40 + b"IEND\xaeB`\x82")  # does not decode
    return {1: "nan_joints", 2: "behind_camera", 3: "outside_image", 5: "duplicate", 6: "missing_image",
            7: "empty", 8: "unreadable"}


def test_joint_file_and_duplicate_faults(tmp_path):
    src = synthesize(SynthSpec(tmp_path / "s", poses=4, cameras=3, size=48, seed=13))
    planted = _planted_joint_and_file_faults(src, tmp_path / "d")
    report = run_check(CheckSpec(tmp_path / "d"))
    flagged = {issue["index"]: issue["problems"] for issue in report["issues"]}
    assert set(flagged) == set(planted)
    for i, problem in planted.items():
        assert problem in flagged[i]
    text = check_text(report)
    assert "duplicate:\n  images/02/000001.jpg" in text and "missing_image" in text


def test_skip_list_round_trip(corrupt, tmp_path):
    path, faults = corrupt
    skip = tmp_path / "skip.txt"
    report = run_check(CheckSpec(path, write_skip_list=skip))
    names = [line for line in skip.read_text().splitlines() if not line.startswith("#")]
    assert len(names) == len(faults) and report["skip_list"] == str(skip)
    ds = open_dataset(path, skip_list=skip)
    assert len(ds) == 90 - len(faults) and sorted(ds.skipped) == sorted(names)
    assert run_check(CheckSpec(path, skip_list=skip))["flagged"] == 0
    full = open_dataset(path)
    for split in ("train", "val", "test"):  # a skip list never moves a pose to another split
        kept = set(ds.pose_id[ds.split_indices(split)].tolist())
        assert kept <= set(full.pose_id[full.split_indices(split)].tolist())


def test_check_is_cancellable(corrupt):
    with pytest.raises(Cancelled):
        check_dataset(open_dataset(corrupt[0]), RecordingProgress(cancel_after=1))


def test_video_duplicates_and_uniform_frames(tmp_path):
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(4)]
    for frame in frames + [frames[1], np.zeros((32, 32, 3), np.uint8)]:
        writer.write(frame)
    writer.release()
    report = run_check(CheckSpec(path))
    flagged = {issue["index"]: issue["problems"] for issue in report["issues"]}
    assert flagged == {4: ["duplicate"], 5: ["uniform"]}
    assert report["issues"][0]["name"] == "v.avi#frame=4"
