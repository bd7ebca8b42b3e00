"""COCO keypoints, image folders, videos, and detecting the format from a path."""

import json

import cv2
import numpy as np
import pytest

from hpe_core.datasets import detect_format, open_dataset
from hpe_core.errors import DatasetError


def _coco(tmp_path, layout="images"):
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    img_dir = root / ("images" if layout == "images" else "val2017")
    img_dir.mkdir()
    rng = np.random.default_rng(0)
    images, anns = [], []
    for k in range(3):
        cv2.imwrite(str(img_dir / f"{k:012d}.jpg"), np.full((30, 40, 3), 50 * k, np.uint8))
        images.append({"id": 10 + k, "file_name": f"{k:012d}.jpg", "width": 40, "height": 30})
    for a in range(5):
        kps = np.concatenate([rng.uniform(0, 30, (17, 2)), rng.integers(0, 3, (17, 1))], 1)
        kps[0, 2] = 2
        anns.append({"id": 100 + a, "image_id": 10 + a % 3, "keypoints": kps.reshape(-1).tolist(),
                     "num_keypoints": int((kps[:, 2] > 0).sum()), "iscrowd": 0, "category_id": 1})
    anns.append({"id": 200, "image_id": 10, "keypoints": [0] * 51, "num_keypoints": 0, "iscrowd": 0})
    anns.append({"id": 201, "image_id": 11, "keypoints": [5, 5, 2] * 17, "num_keypoints": 17, "iscrowd": 1})
    path = root / "annotations" / "person_keypoints_val2017.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}))
    return root, path, anns


@pytest.mark.parametrize("layout", ["images", "split"])
def test_coco_keypoints_with_missing_joints_as_nan(tmp_path, layout):
    root, path, anns = _coco(tmp_path, layout)
    for start in (root, path):
        assert detect_format(start) == "coco"
        ds = open_dataset(start)
        assert ds.format == "coco" and ds.skeleton.name == "coco17" and len(ds) == 5 and ds.joints_3d is None
    for i in range(5):
        kps = np.array(anns[i]["keypoints"], dtype=np.float64).reshape(17, 3)
        labelled = kps[:, 2] > 0
        np.testing.assert_array_equal(ds.visible[i], labelled)
        np.testing.assert_allclose(ds.joints_2d[i][labelled], kps[labelled, :2], rtol=1e-6)
        assert np.isnan(ds.joints_2d[i][~labelled]).all()
    assert ds.pose_id.tolist() == [100, 101, 102, 103, 104]
    assert ds.load_image(4).shape == (30, 40, 3) and ds.load_image(4)[0, 0, 0] == 50


@pytest.mark.parametrize("text, message", [("{not json", "corrupt COCO annotation file"),
                                           ('{"images": []}', "not a COCO keypoints file"),
                                           ('{"images": [], "annotations": [{"image_id": 1}]}', "no person")])
def test_bad_coco_files_name_the_file(tmp_path, text, message):
    path = tmp_path / "person_keypoints_x.json"
    path.write_text(text)
    with pytest.raises(DatasetError, match=f"person_keypoints_x.json: .*{message}"):
        open_dataset(path)


def test_image_folder_is_read_recursively_in_order(tmp_path):
    for rel in ("b.png", "a.jpg", "sub/c.jpeg", ".hidden/x.jpg", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("txt"):
            (tmp_path / rel).write_text("x")
        else:
            cv2.imwrite(str(tmp_path / rel), np.full((8, 9, 3), len(rel), np.uint8))
    ds = open_dataset(tmp_path)
    assert ds.format == "folder" and [ds.sample_name(i) for i in range(len(ds))] == ["a.jpg", "b.png", "sub/c.jpeg"]
    assert ds.load_image(2).shape == (8, 9, 3) and np.isnan(ds.joints_2d).all() and not ds.visible.any()
    assert ds.available_labels() == ["pose_id"]


def test_an_image_folder_names_its_unreadable_files_and_leaves_them_out(tmp_path):
    good = cv2.imencode(".jpg", np.full((8, 9, 3), 90, np.uint8))[1].tobytes()
    (tmp_path / "a.jpg").write_bytes(good)
    (tmp_path / "b.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (tmp_path / "c.png").write_bytes(b"")  # empty
    (tmp_path / "d.jpg").write_bytes(b"this is no image at all" * 10)
    (tmp_path / "e.jpg").write_bytes(good)
    ds = open_dataset(tmp_path)
    assert [ds.sample_name(i) for i in range(len(ds))] == ["a.jpg", "e.jpg"]
    assert ds.unreadable == [("b.jpg", "truncated"), ("c.png", "empty"), ("d.jpg", "not an image (unknown content)")]
    assert ds.info()["unreadable"] == 3 and ds.select([1]).unreadable == ds.unreadable


def test_a_folder_of_unreadable_images_names_them(tmp_path):
    for name in ("x.jpg", "y.png"):
        (tmp_path / name).write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"none of its 2 image files can be read \(x.jpg: not an image .*y.png"):
        open_dataset(tmp_path)


def _video(path, frames=12, size=(48, 32)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    for k in range(frames):
        writer.write(np.full((size[1], size[0], 3), 20 * k, np.uint8))
    writer.release()
    return path


def test_video_frames_decode_lazily_in_any_order(tmp_path):
    path = _video(tmp_path / "clip.avi")
    ds = open_dataset(path)
    assert ds.format == "video" and len(ds) == 12 and ds.info()["image_size"] == [48, 32]
    order = [7, 2, 3, 11, 0, 1]
    for k in order:
        assert abs(float(ds.load_image(k).mean()) - 20 * k) < 3, k
    assert ds.image_path(3) is None and ds.sample_name(3) == "clip.avi#frame=3"


def test_a_video_that_does_not_decode_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(DatasetError, match="broken.mp4: not a video that can be decoded"):
        open_dataset(path)


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "no dataset found"),
    (lambda p: (p / "readme.txt").write_text("hi"), "no dataset found"),
    (lambda p: (p / "dataset.json").write_text('{"format": "coco"}'), "not an HPE Studio dataset"),
])
def test_a_folder_of_another_kind_is_refused_by_name(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(DatasetError, match=message):
        open_dataset(tmp_path)


def test_files_and_missing_paths(tmp_path):
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(DatasetError, match="x.csv: not a dataset file"):
        open_dataset(tmp_path / "x.csv")
    with pytest.raises(DatasetError, match="nope: no such file"):
        open_dataset(tmp_path / "nope")
