"""CMU Panoptic, processed layout: files written here exactly as the seed's dataset lays them out."""

import json
from pathlib import Path

import numpy as np
import pytest

from hpe_core.datasets import detect_format, open_dataset
from hpe_core.datasets.panoptic import parse_cam
from hpe_core.errors import DatasetError
from hpe_core.geometry import look_at, project

SEQS = ("171204_pose1", "171204_pose2")
CAMS = (3, 12, 20)


def _cam(c: int):
    angle = 2 * np.pi * c / 31
    R, t_mm = look_at([300 * np.sin(angle), -150, 300 * np.cos(angle)], [0, -100, 0])  # cm here
    K = np.array([[1400.0 + c, 0, 960.0], [0, 1400.0 + c, 540.0], [0, 0, 1]])
    return {"K": K, "R": R, "t": t_mm.reshape(3, 1), "distCoef": np.array([-0.2, 0.1, 1e-4, -2e-4, 0.01])}


def _world_pose(rng):
    pose = np.concatenate([rng.normal([0, -100, 0], 25, (19, 3)), rng.uniform(0.2, 1.0, (19, 1))], axis=1)
    return pose


@pytest.fixture()
def panoptic(tmp_path):
    """root/ProcessedPanopticDataset/<seq>/{hdImages,hdJoints}/<seq>;hd_00_CC;person_P;FFFFFFFF.*"""
    import cv2

    rng = np.random.default_rng(0)
    base = tmp_path / "root" / "ProcessedPanopticDataset"
    truth = {}
    for seq in SEQS:
        for person in (0, 1):
            for frame in (120, 121):
                pose = _world_pose(rng)
                if (seq, person, frame) == (SEQS[0], 1, 121):
                    pose[7, 3] = -1.0  # a joint the reconstruction missed
                for c in CAMS:
                    stem = f"{seq};hd_00_{c:02d};person_{person};{frame:08d}"
                    cam = _cam(c)
                    for sub in ("hdImages", "hdJoints"):
                        (base / seq / sub).mkdir(parents=True, exist_ok=True)
                    cam_str = repr({"K": cam["K"], "distCoef": cam["distCoef"], "R": cam["R"], "t": cam["t"].astype(np.float32)})
                    doc = {"poses_3d": pose.reshape(-1).tolist(), "cam": cam_str}
                    (base / seq / "hdJoints" / f"{stem}.json").write_text(json.dumps(doc))
                    cv2.imwrite(str(base / seq / "hdImages" / f"{stem}.jpg"), np.full((24, 24, 3), 40 * c % 255, np.uint8))
                    truth[stem] = (pose, cam)
    return tmp_path / "root", truth


def test_reads_mm_in_the_camera_frame(panoptic):
    root, truth = panoptic
    ds = open_dataset(root)
    assert ds.format == "panoptic" and len(ds) == len(truth) == 24 and ds.skeleton.name == "panoptic19"
    for i in range(len(ds)):
        stem = Path(ds.sample_name(i)).stem
        pose, cam = truth[stem]
        expect = 10.0 * (pose[:, :3] @ cam["R"].T + cam["t"].reshape(3))  # cm world -> mm camera
        present = pose[:, 3] >= 0
        np.testing.assert_allclose(ds.joints_3d[i][present], expect[present], rtol=1e-6, atol=1e-2)
        assert np.isnan(ds.joints_3d[i][~present]).all() and not ds.visible[i][~present].any()
        s = ds.sample(i)
        np.testing.assert_allclose(s.camera.t, 10.0 * cam["t"].reshape(3).astype(np.float32), rtol=1e-6)
        np.testing.assert_allclose(project(s.joints_3d[present], s.camera.K, s.camera.dist), s.joints_2d[present], atol=1e-3)
        assert ds.image_path(i).is_file() and ds.load_image(i).shape == (24, 24, 3)


def test_views_of_one_frame_share_a_pose_id(panoptic):
    root, _ = panoptic
    ds = open_dataset(root)
    keys = [Path(ds.sample_name(i)).stem.split(";") for i in range(len(ds))]
    by_pose = {}
    for i, (seq, cam, person, frame) in enumerate(keys):
        by_pose.setdefault(int(ds.pose_id[i]), set()).add((seq, person, frame))
    assert len(by_pose) == 8 and all(len(v) == 1 for v in by_pose.values())
    assert np.bincount(ds.pose_id).tolist() == [3] * 8
    assert len(ds.cameras) == 6 and ds.labels("sequence")[1] == list(SEQS)
    train, val, test = (set(ds.pose_id[ds.split_indices(s)].tolist()) for s in ("train", "val", "test"))
    assert not (train & val or train & test or val & test) and len(train | val | test) == 8


@pytest.mark.parametrize("start", ["root", "processed", "sequence"])
def test_accepts_the_root_the_processed_folder_or_one_sequence(panoptic, start):
    root, _ = panoptic
    path = {"root": root, "processed": root / "ProcessedPanopticDataset",
            "sequence": root / "ProcessedPanopticDataset" / SEQS[1]}[start]
    assert detect_format(path) == "panoptic"
    assert len(open_dataset(path)) == (12 if start == "sequence" else 24)


def test_green_images_list_is_honoured(panoptic):
    root, _ = panoptic
    green = [f"{SEQS[1]};hd_00_20;person_1;00000120.jpg", f"{SEQS[0]};hd_00_03;person_0;00000121"]
    (root / "ProcessedPanopticDataset" / "green_images.txt").write_text("\n".join(green) + "\n")
    ds = open_dataset(root)
    assert len(ds) == 22 and len(ds.skipped) == 2
    names = {Path(ds.sample_name(i)).stem for i in range(len(ds))}
    assert not names & {Path(g).stem for g in green}


def test_cam_string_is_parsed_without_running_code(tmp_path):
    cam = parse_cam("{'K': array([[1., 0., 2.], [0, 1, 3.5e+02], [0, 0, 1]]), 't': array([[-1.5], [2.], [3.]], dtype=float32), "
                    "'distCoef': array([-0.1, nan, 0., 0., 0.])}")
    assert cam["K"][1, 2] == 350.0 and cam["t"].shape == (3, 1) and np.isnan(cam["distCoef"][1])
    marker = tmp_path / "pwned"
    for evil in (f"__import__('os').system('touch {marker}')", f"{{'K': open('{marker}', 'w')}}",
                 "{'K': (lambda: 1)()}", "{'K': array.__class__}", "[1, 2, 3]"):
        with pytest.raises(DatasetError, match="cam"):
            parse_cam(evil)
    assert not marker.exists()


def test_broken_layouts_name_the_file(panoptic):
    root, _ = panoptic
    seq = root / "ProcessedPanopticDataset" / SEQS[0]
    bad = sorted((seq / "hdJoints").glob("*.json"))[0]
    bad.write_text('{"poses_3d": [1, 2, 3], "cam": "{}"}')
    with pytest.raises(DatasetError, match=f"{bad.name}.*76"):
        open_dataset(root)
    bad.write_text('{"poses_3d": ')
    with pytest.raises(DatasetError, match=f"{bad.name}: corrupt"):
        open_dataset(root)
    for f in (seq / "hdJoints").glob("*.json"):
        f.unlink()
    (seq / "hdJoints").rmdir()
    with pytest.raises(DatasetError, match="hdJoints"):
        open_dataset(root)
