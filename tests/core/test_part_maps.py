"""Seed 004's part maps: agreement with the synthetic renderer's own masks, gradients to the 2D
joints, the affine's invariances, the synthetic --part-masks files and ``hpe parts``."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from hpe_core.datasets import open_dataset
from hpe_core.datasets.synthetic import SynthSpec, synthesize
from hpe_core.datasets.synthetic.masks import PART_NAMES, read_part_masks
from hpe_core.errors import InputError
from hpe_core.datasets.part_maps import PARTS, render_part_maps


@pytest.fixture(scope="module")
def masked(tmp_path_factory):
    spec = SynthSpec(tmp_path_factory.mktemp("pm") / "s", poses=50, cameras=4, size=96, seed=11, part_masks=True)
    return synthesize(spec)


def test_rendered_maps_match_the_renderers_limb_masks(masked):
    ds = open_dataset(masked)
    assert len(ds) == 200
    meta = json.loads((masked / "dataset.json").read_text())
    assert "part_masks" in json.dumps(meta)
    maps = render_part_maps(np.asarray(ds.joints_2d, np.float32), "panoptic19", 96)
    ious = np.zeros((len(ds), len(PART_NAMES)))
    for i in range(len(ds)):
        masks = read_part_masks(masked, int(ds.camera_id[i]), int(ds.pose_id[i]))
        ours = maps[i] > 0.5
        union = (masks | ours).sum(axis=(1, 2))
        ious[i] = (masks & ours).sum(axis=(1, 2)) / np.maximum(union, 1)
    per_part = ious.mean(axis=0)
    print(dict(zip(PART_NAMES, per_part.round(3))), ious.mean())
    assert ious.mean() >= 0.5
    assert per_part.min() > 0.4  # no part is far off


def test_maps_of_shuffled_joints_do_not_match(masked):
    """The IoU is earned: another sample's joints give much lower agreement."""
    ds = open_dataset(masked)
    j2 = np.asarray(ds.joints_2d[:40], np.float32)
    maps = render_part_maps(j2[::-1].copy(), "panoptic19", 96) > 0.5
    ious = []
    for i in range(40):
        masks = read_part_masks(masked, int(ds.camera_id[i]), int(ds.pose_id[i]))
        ious.append(((masks & maps[i]).sum() / max((masks | maps[i]).sum(), 1)))
    assert np.mean(ious) < 0.35


def test_gradients_flow_from_the_maps_to_the_2d_joints():
    rng = np.random.default_rng(0)
    sk_joints = 19
    base = np.array([[48, 30], [48, 22], [48, 50], [40, 32], [34, 42], [30, 52], [44, 56], [43, 70], [42, 84],
                     [56, 32], [62, 42], [66, 52], [52, 56], [53, 70], [54, 84], [46, 20], [44, 21], [50, 20],
                     [52, 21]], dtype=np.float64)
    joints = torch.tensor(base[None] + rng.normal(scale=0.3, size=(2, sk_joints, 2)), requires_grad=True)
    maps = render_part_maps(joints, "panoptic19", 96)
    weights = torch.tensor(rng.uniform(size=maps.shape))
    (maps * weights).sum().backward()
    grad = joints.grad
    assert torch.isfinite(grad).all()
    used = {"Neck", "lEar", "rEar"} | {n for p in PARTS["panoptic19"] for n in p.a + p.b}
    from hpe_core.skeleton import PANOPTIC19

    for name in used:
        assert grad[:, PANOPTIC19.index(name)].abs().sum() > 0, name
    for name in set(PANOPTIC19.joint_names) - used:  # Nose, BodyCenter and the eyes draw no part
        assert grad[:, PANOPTIC19.index(name)].abs().sum() == 0, name
    # the gradient is the derivative: compare with central differences along a random direction
    direction = torch.tensor(rng.normal(size=joints.shape))
    h = 1e-4
    with torch.no_grad():
        plus = (render_part_maps(joints + h * direction, "panoptic19", 96) * weights).sum()
        minus = (render_part_maps(joints - h * direction, "panoptic19", 96) * weights).sum()
    numeric = float((plus - minus) / (2 * h))
    assert numeric == pytest.approx(float((grad * direction).sum()), rel=1e-3)


def test_a_limb_follows_its_joints_rotation_and_missing_joints_give_nothing():
    from hpe_core.skeleton import PANOPTIC19

    j = np.full((1, 19, 2), 48.0)
    j[0, PANOPTIC19.index("lShoulder")] = (30, 48)
    j[0, PANOPTIC19.index("lElbow")] = (60, 48)
    maps = render_part_maps(j.astype(np.float32), "panoptic19", 96)[0]
    arm = maps[[p.name for p in PARTS["panoptic19"]].index("l_upper_arm")]
    assert arm[48, 45] > 0.9 and arm[48, 80] < 0.05 and arm[20, 45] < 0.05
    width = (arm[:, 45] > 0.5).sum()
    assert abs(width - 0.036 * 96) <= 1.5  # gamma_y = 1: the template's width in pixels
    # the same limb turned by 90 degrees about the image centre: the map turns with it
    turned = j.copy()
    centre = 47.5
    turned[..., 0], turned[..., 1] = centre - (j[..., 1] - centre), centre + (j[..., 0] - centre)
    arm2 = render_part_maps(turned.astype(np.float32), "panoptic19", 96)[0, 2]
    np.testing.assert_allclose(np.rot90(arm, k=-1), arm2, atol=0.02)
    j[0, PANOPTIC19.index("lElbow")] = np.nan
    maps = render_part_maps(j.astype(np.float32), "panoptic19", 96)[0]
    assert maps[2].max() == 0 and maps[3].max() == 0  # upper arm and forearm need the elbow
    with pytest.raises(InputError, match="coco17"):
        render_part_maps(np.zeros((1, 17, 2), np.float32), "coco17", 32)


def _hpe(*args):
    return subprocess.run([sys.executable, "-m", "hpe_core.cli", *args], capture_output=True, text=True)


def test_hpe_parts_writes_pngs_and_npz_and_refuses_bad_input(masked, tmp_path):
    out = tmp_path / "maps"
    done = _hpe("parts", str(masked), "--out", str(out), "--max-samples", "6", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["samples"] == 6 and summary["parts"] == list(PART_NAMES)
    assert sorted(p.name for p in out.glob("*.png")) == [f"{i:06d}.png" for i in range(6)]
    data = np.load(out / "parts.npz")
    assert data["maps"].shape == (6, 10, 96, 96) and data["maps"].dtype == np.uint8
    ds = open_dataset(masked)
    want = render_part_maps(np.asarray(ds.joints_2d[:6], np.float32), "panoptic19", 96)
    np.testing.assert_allclose(data["maps"] / 255.0, want, atol=0.5 / 255 + 1e-6)
    import cv2

    png = cv2.imread(str(out / "000003.png"), cv2.IMREAD_UNCHANGED)
    assert png.shape == (96, 96, 4) and png[..., 3].max() > 200
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    for args, message in (((str(masked), "--out", str(not_a_folder)), "exists and is not a folder"),
                          ((str(tmp_path / "nope"), "--out", str(out)), "no such dataset"),
                          ((str(masked), "--out", str(out), "--max-samples", "0"), "--max-samples")):
        bad = _hpe("parts", *args)
        assert bad.returncode == 2 and message in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
