"""Lifting in the product: ``hpe predict LIFTER KEYPOINTS`` on COCO JSON, arrays and our own
predictions file; ``HEATMAP+LIFTER IMAGES``; the bad inputs each give one line and exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hpe_core.datasets.keypoints import read_keypoints
from hpe_core.skeleton import map_joints
from hpe_core.models import build_model, save_checkpoint
from hpe_core.predictions import Prediction, load_prediction

ROOT = Path(__file__).resolve().parents[2]
MISSING = "a 2D joint the model needs is missing"


def hpe(*args):
    return subprocess.run([sys.executable, "-m", "hpe_core.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=240)


def one_line_exit_2(result, *needles):
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def lifter(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("lifter", skeleton="h36m17", linear_size=32)
    rng = np.random.default_rng(0)
    model.set_stats(rng.normal(300, 50, 34), rng.uniform(20, 60, 34), rng.normal(0, 100, 48), rng.uniform(50, 150, 48))
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "lifter.pt", model), model


def _coco_file(path, n=3, seed=0):
    rng = np.random.default_rng(seed)
    anns = []
    for k in range(n):
        kp = np.concatenate([rng.uniform(100, 400, (17, 2)), np.full((17, 1), 2.0)], 1)
        anns.append({"id": k, "image_id": 10 + k, "keypoints": kp.reshape(-1).round(2).tolist(), "num_keypoints": 17})
    path.write_text(json.dumps({"annotations": anns, "images": [], "categories": []}))
    return np.array([a["keypoints"] for a in anns]).reshape(n, 17, 3)[..., :2]


def test_coco17_maps_onto_h36m17_with_the_derived_joints_said(tmp_path):
    coco = _coco_file(tmp_path / "k.json")
    joints, names, joint_set, _ = read_keypoints(tmp_path / "k.json")
    assert joint_set == "coco17" and names[0] == "10/0"
    h36m, notes = map_joints(joints, joint_set, "h36m17")
    assert h36m.shape == (3, 17, 2) and "Pelvis derived" in notes[0]
    assert np.allclose(h36m[:, 0], (coco[:, 11] + coco[:, 12]) / 2)  # pelvis = mid-hip
    assert np.allclose(h36m[:, 1], coco[:, 12]) and np.allclose(h36m[:, 13], coco[:, 9])  # RHip, LWrist
    assert np.allclose(h36m[:, 8], (coco[:, 5] + coco[:, 6]) / 2)  # thorax = mid-shoulder


def test_predict_lifts_a_coco_json_an_array_and_our_own_predictions_to_the_same_3d(lifter, tmp_path):
    path, model = lifter
    _coco_file(tmp_path / "k.json")
    result = hpe("predict", path, tmp_path / "k.json", "--out", tmp_path / "a.npz", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["frames"] == 3 and any("Pelvis derived" in n for n in payload["notes"])
    a = load_prediction(tmp_path / "a.npz")
    assert a.joints_3d.shape == (3, 17, 3) and a.frame == "root_relative" and np.all(a.joints_3d[:, 0] == 0)
    with torch.no_grad():
        want = model(torch.as_tensor(a.joints_2d, dtype=torch.float32)).numpy()
    assert np.allclose(a.joints_3d, want, atol=1e-3)
    np.save(tmp_path / "k.npy", a.joints_2d)
    assert hpe("predict", path, tmp_path / "k.npy", "--out", tmp_path / "b.npz").returncode == 0
    Prediction(joints_2d=a.joints_2d, skeleton="h36m17").save(tmp_path / "ours.npz")
    assert hpe("predict", path, tmp_path / "ours.npz", "--out", tmp_path / "c.json").returncode == 0
    c = json.loads((tmp_path / "c.json").read_text())
    assert np.allclose(load_prediction(tmp_path / "b.npz").joints_3d, a.joints_3d, atol=1e-4)
    assert np.allclose(np.array([p["joints_3d"] for p in c["predictions"]]), a.joints_3d, atol=2e-3)


def test_a_keypoints_file_with_the_wrong_joint_count_exits_2_in_one_line(lifter, tmp_path):
    np.save(tmp_path / "k.npy", np.zeros((4, 14, 2)))
    one_line_exit_2(hpe("predict", lifter[0], tmp_path / "k.npy", "--out", tmp_path / "o.npz"),
                    "k.npy", "14 joints per pose", "h36m17")


def test_a_pose_with_a_missing_joint_is_skipped_and_named(lifter, tmp_path):
    x = np.random.default_rng(0).uniform(0, 100, (5, 17, 2))
    x[3, 7] = np.nan
    np.save(tmp_path / "k.npy", x)
    done = hpe("predict", lifter[0], tmp_path / "k.npy", "--out", tmp_path / "o.json", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["frames"] == 4 and payload["skipped_frames"] == [{"name": "3", "reason": MISSING}]
    coco = tmp_path / "k.json"
    _coco_file(coco)
    raw = json.loads(coco.read_text())
    raw["annotations"][1]["keypoints"][3 * 11 + 2] = 0  # left hip not labelled: no pelvis either
    coco.write_text(json.dumps(raw))
    done = hpe("predict", lifter[0], coco, "--out", tmp_path / "o.json", "--json")
    assert json.loads(done.stdout)["skipped_frames"] == [{"name": "11/1", "reason": MISSING}]
    np.save(tmp_path / "nan.npy", np.full((2, 17, 2), np.nan))  # nothing to lift: one line, exit 2
    one_line_exit_2(hpe("predict", lifter[0], tmp_path / "nan.npy", "--out", tmp_path / "o.npz"),
                    "nan.npy", "nothing could be predicted", MISSING)


def test_heatmap_plus_lifter_chains_images_to_3d(lifter, tmp_path):
    import cv2

    torch.manual_seed(0)
    heatmap = build_model("heatmap2d", "resnet18", width=4, skeleton="h36m17")
    hm_path = save_checkpoint(tmp_path / "hm.pt", heatmap)
    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(3):
        cv2.imwrite(str(folder / f"{k}.png"), np.random.default_rng(k).integers(0, 255, (40, 60, 3), np.uint8))
    (folder / "broken.png").write_bytes(b"not an image")
    result = hpe("predict", f"{hm_path}+{lifter[0]}", folder, "--out", tmp_path / "o.npz", "--image-size", 32, "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["frames"] == 3 and payload["skipped"] == 1
    pred = load_prediction(tmp_path / "o.npz")
    assert pred.joints_3d.shape == (3, 17, 3) and pred.joints_2d.shape == (3, 17, 2)
    # 2D in each image's own pixels: the heatmap 2D of the letterboxed 32 px input, letterbox undone
    from hpe_core.datasets.transforms import to_tensor
    from hpe_core.models.families import FAMILIES
    from hpe_core.datasets.transforms import unletterbox_joints

    image = cv2.cvtColor(cv2.imread(str(folder / "0.png")), cv2.COLOR_BGR2RGB)
    with torch.no_grad():
        own = FAMILIES["heatmap2d"].predict(heatmap, {"image": to_tensor(image, 32)[None]}).joints_2d[0]
    assert np.allclose(pred.joints_2d[0], unletterbox_joints(own, 40, 60, 32), atol=1e-3)
    assert (pred.joints_2d[..., 0] > -1).all() and (pred.joints_2d[..., 0] < 61).all()  # full width: no padding
    same = hpe("predict", hm_path, folder, "--lifter", lifter[0], "--out", tmp_path / "p.npz", "--image-size", 32)
    assert same.returncode == 0 and np.allclose(load_prediction(tmp_path / "p.npz").joints_3d, pred.joints_3d)
