"""Augmentations: exact geometry of joints, identities, references, and the image path shared with inference."""

import colorsys

import numpy as np
import pytest
import torch

from hpe_core.datasets import augment as A
from hpe_core.datasets.transforms import IMAGENET_MEAN, IMAGENET_STD, letterbox, letterbox_joints, to_image, to_tensor
from hpe_core.errors import InputError
from hpe_core.geometry import project
from hpe_core.skeleton import PANOPTIC19

PERM = PANOPTIC19.flip_permutation
SIZE = 32


def _dots(rng, size=SIZE, n=19):
    """An image with one bright dot per joint at integer pixels, and those joints."""
    j2 = rng.integers(4, size - 4, (n, 2)).astype(np.float64)
    img = torch.zeros(3, size, size)
    for k, (u, v) in enumerate(j2.astype(int)):
        img[:, v, u] = 1.0
    return img, j2


def _camera_joints(rng, size=SIZE):
    """3D joints in front of a camera whose principal point is the image centre, and their pixels."""
    K = np.array([[40.0, 0, (size - 1) / 2], [0, 40.0, (size - 1) / 2], [0, 0, 1]])
    j3 = rng.normal(0, 300, (19, 3)) + np.array([0, 0, 3000])
    return K, j3, project(j3, K)


def test_flip_twice_is_the_identity_on_image_and_joints():
    rng = np.random.default_rng(0)
    img = torch.rand(3, SIZE, SIZE)
    K, j3, j2 = _camera_joints(rng)
    target = {"joints_2d": j2, "joints_3d": j3, "visible": rng.random(19) > 0.3}
    once, t1 = A.flip_sample(img, target, PERM)
    twice, t2 = A.flip_sample(once, t1, PERM)
    assert not torch.equal(once, img) and torch.equal(twice, img)
    for key in target:
        np.testing.assert_allclose(t2[key], target[key])
    np.testing.assert_array_equal(t1["visible"], target["visible"][PERM])


def test_flipped_3d_joints_project_to_flipped_2d_joints():
    """Mirroring x in the camera frame is the image flip when the principal point is centred."""
    K, j3, j2 = _camera_joints(np.random.default_rng(1))
    _, t = A.flip_sample(torch.zeros(3, SIZE, SIZE), {"joints_2d": j2, "joints_3d": j3}, PERM)
    np.testing.assert_allclose(project(t["joints_3d"], K), t["joints_2d"], atol=1e-9)
    np.testing.assert_allclose(t["joints_3d"][PANOPTIC19.index("lWrist")][1:], j3[PANOPTIC19.index("rWrist")][1:])


@pytest.mark.parametrize("degrees", [-30.0, 12.0, 90.0])
def test_rotation_turns_pixels_2d_and_3d_joints_together(degrees):
    rng = np.random.default_rng(2)
    K, j3, j2 = _camera_joints(rng)
    _, t = A.rotate(torch.zeros(3, SIZE, SIZE), {"joints_2d": j2, "joints_3d": j3}, np.radians(degrees))
    np.testing.assert_allclose(project(t["joints_3d"], K), t["joints_2d"], atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(t["joints_3d"], axis=1), np.linalg.norm(j3, axis=1))
    img, dots = _dots(rng)
    out, t = A.rotate(img, {"joints_2d": dots}, np.radians(90.0))  # a quarter turn moves pixels exactly
    for u, v in np.round(t["joints_2d"]).astype(int):
        assert out[0, v, u] > 0.99


@pytest.mark.parametrize("box", [(0, 0, 32, 32), (5, 3, 20, 24), (10, 8, 16, 16)])
def test_crop_moves_2d_joints_with_the_pixels(box):
    rng = np.random.default_rng(3)
    img, j2 = _dots(rng, size=64)
    top, left, ch, cw = box
    inside = (j2[:, 0] >= left) & (j2[:, 0] < left + cw) & (j2[:, 1] >= top) & (j2[:, 1] < top + ch)
    out, t = A.crop_resize(img, {"joints_2d": j2}, top, left, ch, cw, 32)
    for (u, v) in t["joints_2d"][inside]:
        r, c = int(np.clip(round(v), 0, 31)), int(np.clip(round(u), 0, 31))
        window = out[0, max(r - 1, 0):r + 2, max(c - 1, 0):c + 2]
        assert window.max() >= out[0].max() * 0.5 - 1e-6 and window.max() > 0


def test_hue_shift_matches_colorsys_and_zero_shift_is_identity():
    rng = np.random.default_rng(4)
    img = torch.from_numpy(rng.random((3, 4, 5)).astype(np.float32))
    torch.testing.assert_close(A.shift_hue(img, 0.0), img, atol=1e-5, rtol=0)
    out = A.shift_hue(img, 0.3)
    for y in range(4):
        for x in range(5):
            h, s, v = colorsys.rgb_to_hsv(*img[:, y, x].tolist())
            ref = colorsys.hsv_to_rgb((h + 0.3) % 1.0, s, v)
            np.testing.assert_allclose(out[:, y, x].numpy(), ref, atol=1e-5)


def test_blur_keeps_constant_images_and_mass():
    flat = torch.full((3, 20, 20), 0.3)
    torch.testing.assert_close(A.gaussian_blur(flat, 1.5, 0.5), flat)
    spike = torch.zeros(3, 21, 21)
    spike[:, 10, 10] = 1.0
    blurred = A.gaussian_blur(spike, 1.0, 0.5)
    assert blurred[0, 10, 10] < 1.0 and blurred.sum().item() == pytest.approx(3.0, rel=1e-4)


def test_grayscale_and_jitter_stay_in_range():
    torch.manual_seed(0)
    img = torch.rand(3, 16, 16)
    g, _ = A.Grayscale(p=1.0)(img)
    assert torch.equal(g[0], g[1]) and torch.equal(g[1], g[2])
    j, _ = A.ColorJitter(0.8, 0.8, 0.8, 0.4, p=1.0)(img)
    assert j.min() >= 0 and j.max() <= 1 and not torch.equal(j, img)


@pytest.mark.parametrize("preset", ["simclr", "pose"])
def test_presets_are_seeded_by_torch_and_keep_shapes(preset):
    aug = A.get_augment(preset, SIZE)
    rng = np.random.default_rng(5)
    K, j3, j2 = _camera_joints(rng)
    img = torch.rand(3, SIZE, SIZE)
    torch.manual_seed(7)
    a, ta = aug(img, {"joints_2d": j2, "joints_3d": j3, "visible": np.ones(19, bool)})
    torch.manual_seed(7)
    b, tb = aug(img, {"joints_2d": j2, "joints_3d": j3, "visible": np.ones(19, bool)})
    assert a.shape == (3, SIZE, SIZE) and torch.equal(a, b)
    np.testing.assert_allclose(ta["joints_2d"], tb["joints_2d"])
    np.testing.assert_allclose(np.sort(np.linalg.norm(ta["joints_3d"], axis=1)), np.sort(np.linalg.norm(j3, axis=1)))


def test_unknown_preset_names_the_choices():
    with pytest.raises(InputError, match="simclr, pose"):
        A.get_augment("autoaugment", 32)
    assert A.get_augment(None, 32) is None and A.get_augment("none", 32) is None


# ------------------------------------------------------------------------------- transforms
def test_to_tensor_normalises_and_round_trips():
    rng = np.random.default_rng(6)
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    x = to_tensor(image, 40)
    assert x.shape == (3, 40, 40) and x.dtype == torch.float32
    expect = (image[5, 7] / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(x[:, 5, 7].numpy(), expect, atol=1e-5)
    np.testing.assert_array_equal(to_image(x), image)


@pytest.mark.parametrize("shape", [(30, 60), (60, 30), (50, 50)])
def test_letterbox_keeps_the_aspect_and_maps_joints(shape):
    h, w = shape
    image = np.zeros((h, w, 3), np.uint8)
    points = np.array([[w * 0.25, h * 0.5], [w * 0.75, h * 0.3]])
    for u, v in points.astype(int):
        image[v - 1:v + 2, u - 1:u + 2] = 255
    box = letterbox(image, 40)
    assert box.shape == (40, 40, 3)
    for u, v in np.round(letterbox_joints(points.astype(int), h, w, 40)).astype(int):
        assert box[v, u].max() > 100
    if h != w:  # padding is the mean colour: zero after normalisation
        pad = to_tensor(image, 40)[:, 0, 0] if h < w else to_tensor(image, 40)[:, 0, 0]
        assert pad.abs().max() < 0.02


@pytest.mark.parametrize("bad", [np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 5), np.uint8), np.zeros((0, 4, 3), np.uint8)])
def test_to_tensor_rejects_bad_images(bad):
    with pytest.raises(InputError, match="image"):
        to_tensor(bad, 16)
