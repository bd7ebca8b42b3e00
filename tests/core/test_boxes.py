"""Person boxes and top-down crops (issue 27, item 2): boxes from the files, the 2D joints and a
detections file; the crop and its inverse; training and inference crop the same box; a real image
of two people (two real photos side by side) gives one row, crop and prediction per person."""

import json
from pathlib import Path

import numpy as np
import pytest

from hpe_core.datasets import open_dataset
from hpe_core.datasets.boxes import (apply_boxes, boxes_from_center_scale, boxes_from_joints, boxes_from_xywh,
                                     crop_note, image_boxes, row_region)
from hpe_core.datasets.transforms import (Region, crop, crop_box, crop_joints, crop_region, letterbox,
                                          letterbox_joints, uncrop_joints)
from hpe_core.errors import InputError
from two_people import PEOPLE, write_two_people

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


@pytest.fixture(scope="module")
def two_people(tmp_path_factory) -> Path:
    """A COCO keypoints file of one real image of two people (tests/two_people.py)."""
    return write_two_people(tmp_path_factory.mktemp("coco") / "two")


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory):
    """A small synthetic dataset (no boxes in its files)."""
    from hpe_core.datasets.synthetic import SynthSpec, synthesize

    return open_dataset(synthesize(SynthSpec(tmp_path_factory.mktemp("s") / "d", poses=6, cameras=2, size=96,
                                             seed=3)))


@pytest.fixture(scope="module")
def heatmap():
    from hpe_core.inference import Predictor
    from hpe_core.models.checkpoint import load_checkpoint

    model, info = load_checkpoint(DEMO / "heatmap2d.pt", device="cpu")
    return Predictor(model, "cpu", "fp32", 8, None, info=info)


# ------------------------------------------------------------------ boxes, closed form
def test_boxes_from_the_file_layouts():
    np.testing.assert_array_equal(boxes_from_xywh([[10, 20, 30, 40]]), [[10, 20, 40, 60]])
    # mmpose: scale is the box size in units of 200 px, about the centre
    np.testing.assert_allclose(boxes_from_center_scale([[500, 400]], [1.5]), [[350, 250, 650, 550]])
    np.testing.assert_allclose(boxes_from_center_scale([[500, 400]], [[1.0, 2.0]]), [[400, 200, 600, 600]])


def test_boxes_from_joints_grow_the_visible_joints_box_by_the_stated_margin():
    joints = np.array([[[10, 10], [30, 50], [1000, 1000], [np.nan, 5]],
                       [[5, 5], [np.nan, np.nan], [np.nan, np.nan], [np.nan, np.nan]]], float)
    visible = np.array([[True, True, False, True], [True, True, True, True]])
    box = boxes_from_joints(joints, visible, margin=1.5)
    np.testing.assert_allclose(box[0], [5, 0, 35, 60])  # centre (20, 30), 20 x 40 grown 1.5 times
    assert np.isnan(box[1]).all()  # one joint is no box


def test_the_crop_region_is_the_square_of_the_longer_side_times_the_margin():
    r = crop_region([100, 50, 140, 250], margin=1.25)
    assert (r.width, r.height) == (250, 250) and (r.x0 + r.width / 2, r.y0 + r.height / 2) == (120, 150)
    with pytest.raises(InputError, match="x0 < x1"):
        crop_region([10, 10, 5, 20])


# ------------------------------------------------------------------ the crop and its inverse
def test_crop_joints_and_uncrop_joints_are_inverse_and_follow_the_pixels():
    image = np.zeros((120, 200, 3), np.uint8)
    image[70, 150] = 255  # one bright pixel at x=150, y=70
    region = Region(110, 40, 64, 64)  # reaches past the right edge: padded
    out = crop_box(image, region, 64)  # same size: no resampling, the pixel moves by the offset only
    assert tuple(np.argwhere(out[..., 0] == 255)[0]) == (30, 40)
    np.testing.assert_allclose(crop_joints([[150, 70]], region, 64), [[40, 30]])
    pts = np.random.default_rng(0).uniform(-50, 250, (5, 17, 2))
    for size in (32, 96, 257):
        np.testing.assert_allclose(uncrop_joints(crop_joints(pts, region, size), region, size), pts, atol=1e-9)


def test_the_whole_frame_region_is_exactly_the_letterbox():
    image = np.random.default_rng(1).integers(0, 255, (60, 90, 3), np.uint8)
    whole = Region.whole(60, 90)
    np.testing.assert_array_equal(crop_box(image, whole, 48), letterbox(image, 48))
    pts = np.array([[3.5, 7.25], [88.0, 59.0]])
    np.testing.assert_array_equal(crop_joints(pts, whole, 48), letterbox_joints(pts, 60, 90, 48))


def test_a_box_far_larger_than_the_image_is_refused():
    with pytest.raises(InputError, match="no person box"):
        crop(np.zeros((10, 10, 3), np.uint8), Region(0, 0, 5000, 5000))


# ------------------------------------------------------------------ where boxes come from
def test_crop_modes_on_a_dataset_without_boxes(demo_like):
    assert apply_boxes(demo_like, "auto") is demo_like and crop_note(demo_like).startswith("whole frame")
    gt = apply_boxes(demo_like, "gt")
    assert gt.has("boxes") and not demo_like.has("boxes")  # a new dataset; the opened one is untouched
    np.testing.assert_allclose(gt.boxes, boxes_from_joints(demo_like.joints_2d, demo_like.visible))
    assert "2D joints" in crop_note(gt) and "1.25 x the box" in crop_note(gt)
    assert not apply_boxes(gt, "none").has("boxes")
    sub = gt.select(np.array([3, 1]))
    np.testing.assert_array_equal(sub.boxes, gt.boxes[[3, 1]])
    with pytest.raises(InputError, match="--boxes FILE"):
        apply_boxes(demo_like, "file")


def test_coco_rows_are_people_with_their_bbox(two_people):
    ds = open_dataset(two_people)
    assert len(ds) == 2 and ds.info()["boxes"] == "COCO bbox"
    np.testing.assert_array_equal(ds.boxes, boxes_from_xywh([p["bbox"] for p in PEOPLE]))
    own, crop_sq, others = image_boxes(ds, 0)
    np.testing.assert_array_equal(own, ds.boxes[0])
    np.testing.assert_array_equal(others, ds.boxes[[1]])  # the other person of the same image
    assert crop_sq[2] - crop_sq[0] == crop_sq[3] - crop_sq[1] == round(497 * 1.25)


def test_mmpose_boxes_are_the_center_and_scale_and_3dpw_boxes_its_2d_poses(tmp_path):
    from benchmark_layouts import write_mmpose_h36m, write_pw3d

    h36m = write_mmpose_h36m(tmp_path / "h36m")
    ds = open_dataset(h36m["npz"])
    half = 100 * h36m["scale"][:, None]
    np.testing.assert_allclose(ds.boxes, np.concatenate([h36m["center"] - half, h36m["center"] + half], 1), rtol=1e-6)
    assert "mmpose center" in crop_note(ds)
    docs = write_pw3d(tmp_path / "pw3d")
    pw = open_dataset(tmp_path / "pw3d")
    first = docs["downtown_walking_00"]["poses2d"][0][0].T  # actor 0, frame 0: (18, 3)
    actor = pw.subject_names.index("downtown_walking_00/actor0")
    row = int(np.flatnonzero((pw.subject == actor) & (pw.frame == 0))[0])
    np.testing.assert_allclose(pw.boxes[row], boxes_from_joints(first[None, :, :2], margin=1.2)[0], rtol=1e-5)
    assert len(image_boxes(pw, row)[2]) == 1  # the other actor of the same frame


def test_detections_are_matched_by_image_and_overlap(two_people, tmp_path):
    ds = open_dataset(two_people)
    dets = [{"image_id": 7, "category_id": 1, "bbox": [515, 70, 320, 440], "score": 0.9},
            {"image_id": 7, "category_id": 1, "bbox": [25, 20, 340, 490], "score": 0.5},
            {"image_id": 7, "category_id": 3, "bbox": [0, 0, 1000, 500], "score": 1.0},  # a car: left out
            {"image_id": 99, "bbox": [0, 0, 10, 10]}]
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))
    boxed = apply_boxes(ds, "file", path)
    np.testing.assert_array_equal(boxed.boxes, boxes_from_xywh([[25, 20, 340, 490], [515, 70, 320, 440]]))
    assert "dets.json (2 of 2 rows" in boxed.info()["boxes"]
    path.write_text(json.dumps([{"image_id": 7, "bbox": [1, 2, 3]}]))
    with pytest.raises(InputError, match="dets.json: detection 0"):
        apply_boxes(ds, "auto", path)


def test_detections_by_sample_name_and_rows_without_one_are_skipped(demo_like, heatmap, tmp_path):
    from hpe_core.inference import predict

    name = demo_like.sample_name(2)
    path = tmp_path / "dets.json"
    path.write_text(json.dumps([{"image_id": name, "bbox": [20, 10, 40, 70], "score": 0.8}]))
    boxed = apply_boxes(demo_like, "file", path)
    assert np.isfinite(boxed.boxes).all(axis=1).sum() == 1 and np.isfinite(boxed.boxes[2]).all()
    batches = list(predict(heatmap, boxed, np.arange(4)))
    assert [int(i) for b in batches for i in b.indices] == [2]
    assert sum(len(b.skipped) for b in batches) == 3
    assert all("no person box" in why for b in batches for _, _, why in b.skipped)


def test_the_cli_refuses_a_bad_detections_file(two_people, tmp_path, capsys):
    from hpe_core.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    status = main(["predict", str(DEMO / "heatmap2d.pt"), str(two_people), "--boxes", str(bad),
                   "--out", str(tmp_path / "p.npz"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert status == 2 and "bad.json: not a COCO results file" in err and "Traceback" not in err


# ------------------------------------------------------------------ inference and training crop the same box
def test_a_crop_predicts_as_that_crop_saved_as_its_own_image(demo_like, heatmap, tmp_path):
    """The model's 2D of a row's crop, mapped back, is its 2D of the crop cut out and predicted whole,
    moved by the crop's corner: the crop and its inverse are right (float32 rounding: 1e-3 px)."""
    import cv2

    from hpe_core.inference import predict

    boxed = apply_boxes(demo_like, "gt")
    rows = np.array([0, 5])
    regions = [row_region(boxed, int(r)) for r in rows]
    for r, region in zip(rows, regions):
        cut = crop(demo_like.load_image(int(r)), region)
        cv2.imwrite(str(tmp_path / f"{r}.png"), cv2.cvtColor(cut, cv2.COLOR_RGB2BGR))
    whole = open_dataset(tmp_path)
    a = np.concatenate([b.prediction.joints_2d for b in predict(heatmap, boxed, rows)])
    b = np.concatenate([b.prediction.joints_2d for b in predict(heatmap, whole)])
    corners = np.array([[[g.x0, g.y0]] for g in regions])
    np.testing.assert_allclose(a, b + corners, atol=1e-3)
    meta = next(iter(predict(heatmap, boxed, rows))).prediction.meta
    assert meta["crop"].startswith("person crops") and next(iter(predict(heatmap, whole))).prediction.meta[
        "crop"].startswith("whole frame")


def test_training_crops_the_box_inference_crops(demo_like, heatmap):
    import torch

    from hpe_core.datasets.torch_data import PoseImageDataset
    from hpe_core.inference.images import letterboxed

    boxed = apply_boxes(demo_like, "gt")
    item = PoseImageDataset(boxed, [4], image_size=96)[0]
    with letterboxed(boxed, np.array([4]), 96) as stream:
        (_, _, seen, region, _), = list(stream)
    torch.testing.assert_close(item["image"], heatmap.batch_tensor([seen])[0].float(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(item["joints_2d"].numpy(), crop_joints(boxed.joints_2d[4], region, 96), atol=1e-4)


def test_two_people_of_one_real_image_give_a_row_crop_and_prediction_each(two_people, heatmap, tmp_path):
    from hpe_core.cli import main
    from hpe_core.inference.images import letterboxed

    ds = open_dataset(two_people)
    with letterboxed(ds, np.arange(2), 96) as stream:
        seen = list(stream)
    image = ds.load_image(0)
    for (_, _, crop_img, region, _), box in zip(seen, ds.boxes):
        assert region == crop_region(box)
        np.testing.assert_array_equal(crop_img, crop_box(image, region, 96))
    assert np.abs(seen[0][2].astype(int) - seen[1][2].astype(int)).mean() > 20  # two different people
    out = tmp_path / "two.npz"
    assert main(["predict", str(DEMO / "heatmap2d.pt"), str(two_people), "--out", str(out), "--device", "cpu"]) == 0
    with np.load(out, allow_pickle=False) as z:
        j2 = z["joints_2d"]
        meta = json.loads(str(z["meta"]))
    assert j2.shape == (2, heatmap.num_joints, 2) and "COCO bbox" in meta["extra"]["crop"]
    for joints, (_, _, _, region, _) in zip(j2, seen):  # each person's 2D lies in its own crop
        assert (joints[:, 0] >= region.x0 - 0.5).all() and (joints[:, 0] <= region.x0 + region.width).all()
