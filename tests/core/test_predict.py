"""The one prediction door and what the GUI shows of seed 001: checkpoint capabilities, the rows a
heatmap net / lifter / heatmap+lifter chain predicts on a dataset (2D in the dataset's pixels),
and heatmaps mapped onto the image with a colour map."""

from pathlib import Path

import numpy as np
import pytest
import torch

from hpe_core.inference import heatmaps as pp
from hpe_core.inference import predict
from hpe_core.models.families import FAMILIES
from hpe_core.models.families.capabilities import IMAGE_TO_2D, IMAGE_TO_3D, LIFT_2D_TO_3D, capabilities

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"


@pytest.mark.parametrize("family, expected", [
    ("heatmap2d", (IMAGE_TO_2D,)), ("lifter", (LIFT_2D_TO_3D,)), ("multitask", (IMAGE_TO_2D, IMAGE_TO_3D)),
    ("regressor", (IMAGE_TO_3D,)), ("vae_lifter", (LIFT_2D_TO_3D,)), ("simclr", ()), ("resnet", ()),
    ("unihpe", (IMAGE_TO_2D, LIFT_2D_TO_3D, IMAGE_TO_3D)), ("martinez", (LIFT_2D_TO_3D,)), ("no-such", ())])
def test_capabilities_follow_the_family_inputs_and_outputs(family, expected):
    assert capabilities(family) == expected
    assert capabilities({"model": {"family": family}}) == expected  # a checkpoint's meta dict


@pytest.mark.parametrize("name, expected", [("heatmap2d.pt", (IMAGE_TO_2D,)), ("lifter.pt", (LIFT_2D_TO_3D,)),
                                            ("simclr_regress2.pt", (IMAGE_TO_3D,)), ("simclr.pt", ())])
def test_capabilities_of_the_demo_checkpoints(name, expected):
    from hpe_core.models.checkpoint import load_checkpoint

    model, info = load_checkpoint(DEMO / name, device="cpu")
    assert capabilities(info) == expected
    assert capabilities(model) == expected


def _gaussian_maps(points_hm: np.ndarray, size: int) -> np.ndarray:
    from hpe_core.models.heatmap import gaussian_targets

    return gaussian_targets(torch.tensor(points_hm[None], dtype=torch.float32), size, 2.0)[0].numpy()


@pytest.mark.parametrize("hw", [(120, 200), (96, 96), (300, 90)])
def test_heatmap_picture_puts_each_peak_on_its_joint_in_the_image(hw):
    from hpe_core.datasets.transforms import letterbox_joints
    from hpe_core.models.heatmap import to_heatmap

    h, w = hw
    size, hm = 96, 48
    joints = np.array([[0.3 * w, 0.25 * h], [0.7 * w, 0.8 * h]])
    on_hm = to_heatmap(torch.tensor(letterbox_joints(joints, h, w, size)), size, hm).numpy()
    maps = _gaussian_maps(on_hm, hm)
    pic = pp.heatmap_picture(maps, (h, w), size, joint=None, max_side=1000)
    assert pic.shape == (h, w) and pic.max() > 0.85  # interpolation between heatmap pixels lowers a peak a little
    assert pic.min() >= 0
    tol = max(h, w) / hm  # one heatmap pixel in the image
    for k, (x, y) in enumerate(joints):
        one = pp.heatmap_picture(maps, (h, w), size, joint=k, max_side=1000)
        yy, xx = np.unravel_index(one.argmax(), one.shape)
        assert abs(xx - x) <= tol and abs(yy - y) <= tol, (k, (xx, yy), (x, y))
        assert pic[int(round(y)), int(round(x))] > 0.6  # the max over joints is hot at both joints
    far = (int(0.5 * (joints[0, 1] + joints[1, 1])), int(0.95 * w))
    assert pic[far] < 0.05


def test_heatmap_picture_one_joint_is_one_blob_and_all_joints_are_all_blobs():
    import cv2

    maps = _gaussian_maps(np.array([[10.0, 10.0], [38.0, 12.0], [24.0, 40.0]]), 48)
    blobs = [cv2.connectedComponents((pp.heatmap_picture(maps, (96, 96), 96, joint=k) > 0.5).astype(np.uint8))[0] - 1
             for k in range(3)]
    assert blobs == [1, 1, 1]
    every = pp.heatmap_picture(maps, (96, 96), 96) > 0.5
    assert cv2.connectedComponents(every.astype(np.uint8))[0] - 1 == 3
    assert pp.heatmap_picture(maps, (1920, 1080), 96).shape == (256, 144)  # capped at max_side


def test_colourise_is_transparent_where_cold_and_bright_where_hot():
    rgba = pp.colourise(np.linspace(0, 1, 11)[None])
    assert rgba.shape == (1, 11, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, 3] == 0 and rgba[0, -1, 3] == round(0.75 * 255)
    assert np.all(np.diff(rgba[0, 1:, 3].astype(int)) >= 0)  # alpha grows with the value
    brightness = rgba[0, :, :3].astype(int).sum(-1)
    assert np.all(np.diff(brightness) > 0)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("synth") / "data"
    synthesize(SynthSpec(root, poses=10, cameras=2, size=96, subjects=2, seed=3), NullProgress())
    return open_dataset(root)


@pytest.fixture(scope="module")
def predictors():
    from hpe_core.inference import Predictor

    return (Predictor(DEMO / "heatmap2d.pt", device="cpu", batch_size=8),
            Predictor(DEMO / "lifter.pt", device="cpu", batch_size=8))


def _collect(batches):
    out = {"indices": [], "joints_3d": [], "joints_2d": []}
    for b in batches:
        if b.prediction is None:
            continue
        out["indices"].append(b.indices)
        for k in ("joints_3d", "joints_2d"):
            if getattr(b.prediction, k) is not None:
                out[k].append(np.asarray(getattr(b.prediction, k)))
    return {k: np.concatenate(v) if v else None for k, v in out.items()}


def test_lifter_rows_lift_the_ground_truth_2d(synth, predictors):
    _, lifter = predictors
    rows = np.arange(len(synth))[::-1]
    got = _collect(predict(lifter, synth, rows))
    assert np.array_equal(got["indices"], rows)
    np.testing.assert_array_equal(got["joints_2d"], synth.joints_2d[rows])  # the 2D it lifted
    with torch.no_grad():
        ref = FAMILIES["lifter"].predict(lifter.model.eval(), {"joints_2d": synth.joints_2d[rows]}).joints_3d
    np.testing.assert_allclose(got["joints_3d"], ref, rtol=1e-5, atol=1e-3)  # float32 mm of ~1000


def test_heatmap_rows_are_in_image_pixels_and_chain_into_the_lifter(synth, predictors):
    from hpe_core.datasets.transforms import to_tensor, unletterbox_joints

    heatmap, lifter = predictors
    rows = np.arange(len(synth))
    hm = _collect(predict(heatmap, synth, rows))
    assert hm["joints_3d"] is None
    images = [synth.load_image(int(i)) for i in rows]  # the unfused network on training's tensors
    size = heatmap.image_size
    with torch.no_grad():
        own = FAMILIES["heatmap2d"].predict(heatmap.model.eval(), {"image": torch.stack([to_tensor(im, size) for im in images]),
                                                                   "heatmaps": False}).joints_2d
    ref_2d = np.stack([unletterbox_joints(j, *im.shape[:2], size) for j, im in zip(own, images)])
    np.testing.assert_allclose(hm["joints_2d"], ref_2d, atol=1e-3)
    chain = _collect(predict(lifter, synth, rows, lift_from=heatmap))
    np.testing.assert_allclose(chain["joints_2d"], ref_2d, atol=1e-3)
    with torch.no_grad():
        ref_3d = FAMILIES["lifter"].predict(lifter.model.eval(), {"joints_2d": ref_2d}).joints_3d
    np.testing.assert_allclose(chain["joints_3d"], ref_3d, rtol=1e-4, atol=0.05)


def test_sample_heatmaps_decode_where_the_rows_say(synth, predictors):
    heatmap, lifter = predictors
    image = synth.load_image(4)
    hm = pp.sample_heatmaps(heatmap, image)
    assert hm.heatmaps.shape[0] == 19 and hm.image_hw == image.shape[:2] and hm.input_size == heatmap.image_size
    row = _collect(predict(heatmap, synth, [4]))["joints_2d"][0]
    np.testing.assert_allclose(hm.joints_2d, row, atol=1e-3)
    with pytest.raises(Exception, match="no heatmaps"):
        pp.sample_heatmaps(lifter, image)


def test_a_lifter_without_2d_in_the_dataset_says_so(synth, predictors):
    from hpe_core.errors import InputError

    class No2D:
        path, joints_2d, visible = Path("/data/x"), None, None

        def __len__(self):
            return 1

        def has(self, name):
            return False

    with pytest.raises(InputError, match="no 2D joints"):
        list(predict(predictors[1], No2D(), [0]))
