"""Cameras against OpenCV, frames round trips, Procrustes closed forms, rotations."""

import cv2
import numpy as np
import pytest
import torch

from hpe_core.geometry import (
    Camera, camera_to_world, look_at, procrustes, project,
    project_points, random_rotations, rotation_matrix, world_to_camera,
)
from hpe_core.skeleton import H36M17, PANOPTIC19

K = np.array([[1145.0, 0.0, 512.5], [0.0, 1143.8, 515.4], [0.0, 0.0, 1.0]])
DISTORTIONS = {
    "none": np.zeros(5),
    "radial": np.array([-0.21, 0.24, 0.0, 0.0, -0.003]),
    "tangential": np.array([0.0, 0.0, -0.0016, 0.0024, 0.0]),
    "panoptic-like": np.array([-0.207, 0.247, -0.00091, -0.00142, -0.0026]),
}


def cloud(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform([-900, -1800, -600], [900, 100, 600], size=(n, 3))


# ------------------------------------------------------------------------------- cameras
@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_projection_matches_cv2_project_points(name):
    dist = DISTORTIONS[name]
    R = rotation_matrix([0.3, 1.0, -0.2], 0.7)
    t = np.array([100.0, 400.0, 3500.0])
    pts = cloud()
    cam = Camera(K=K, R=R, t=t, dist=dist)
    want, _ = cv2.projectPoints(pts, cv2.Rodrigues(R)[0], t, K, dist)
    np.testing.assert_allclose(project_points(pts, cam), want[:, 0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(project(world_to_camera(pts, R, t), K, dist), want[:, 0], atol=1e-6)


def test_points_behind_the_camera_project_to_nan():
    out = project(np.array([[0.0, 0.0, 1000.0], [0.0, 0.0, -5.0], [10.0, 0.0, 0.0]]), K)
    assert np.isfinite(out[0]).all() and np.isnan(out[1:]).all()
    np.testing.assert_allclose(out[0], K[:2, 2])


def test_world_camera_round_trip_and_centre():
    R = random_rotations(1, np.random.default_rng(1))[0]
    t = np.array([12.0, -300.0, 4200.0])
    pts = cloud(20, seed=2)
    np.testing.assert_allclose(camera_to_world(world_to_camera(pts, R, t), R, t), pts, atol=1e-9)
    cam = Camera(K=K, R=R, t=t)
    np.testing.assert_allclose(world_to_camera(cam.center, R, t), 0.0, atol=1e-9)
    back = Camera.from_dict(cam.to_dict())
    assert np.array_equal(back.R, cam.R) and np.array_equal(back.K, cam.K)


@pytest.mark.parametrize("eye, up", [
    ((0.0, -1500.0, -3000.0), (0.0, -1.0, 0.0)),  # y-down world (synthetic data, DESIGN.md)
    ((2500.0, -900.0, 2500.0), (0.0, -1.0, 0.0)),
    ((3000.0, 500.0, 1400.0), (0.0, 0.0, 1.0)),  # z-up world (Human3.6M)
])
def test_look_at_keeps_up_up_and_right_right(eye, up):
    target = np.array([0.0, -900.0, 0.0]) if up[2] == 0 else np.array([0.0, 0.0, 900.0])
    R, t = look_at(eye, target, up=up)
    assert np.linalg.det(R) == pytest.approx(1.0) and np.allclose(R @ R.T, np.eye(3))
    np.testing.assert_allclose(world_to_camera(np.array(eye), R, t), 0.0, atol=1e-9)
    cam_target = world_to_camera(target, R, t)
    np.testing.assert_allclose(cam_target[:2], 0.0, atol=1e-9)
    assert cam_target[2] > 0
    above = target + 300.0 * np.asarray(up)
    assert project(world_to_camera(above, R, t), K)[1] < K[1, 2]  # up in the world is up in the image
    right = np.cross(np.asarray(up), np.asarray(eye) - target)  # the viewer's right, seen from eye
    assert project(world_to_camera(target + right / np.linalg.norm(right) * 300, R, t), K)[0] > K[0, 2]


def test_camera_rejects_bad_fields():
    with pytest.raises(ValueError, match="distortion"):
        Camera(K=K, dist=np.zeros(8))
    with pytest.raises(ValueError, match="camera K"):
        Camera(K=np.eye(2))
    with pytest.raises(ValueError, match="missing field 'K'"):
        Camera.from_dict({"R": np.eye(3).tolist()})


# --------------------------------------------------------------------------- procrustes
def transformed(n=5, j=17, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.normal(scale=300, size=(n, j, 3))
    R = random_rotations(n, rng)
    s = rng.uniform(0.5, 2.0, n)
    t = rng.normal(scale=800, size=(n, 3))
    p = (np.einsum("nab,njb->nja", np.swapaxes(R, 1, 2), g - t[:, None]) / s[:, None, None])
    return p, g, R, s, t  # g = s R p + t exactly


@pytest.mark.parametrize("mode", ["rotation", "rigid", "similarity"])
def test_procrustes_recovers_the_closed_form_transform(mode):
    p, g, R, s, t = transformed()
    if mode == "rotation":
        p, g = np.einsum("nba,njb->nja", R, g), g  # g = R p
        s, t = np.ones(5), np.zeros((5, 3))
    elif mode == "rigid":
        g = np.einsum("nab,njb->nja", R, p) + t[:, None]
        s = np.ones(5)
    aligned, R_hat, s_hat, t_hat = procrustes(p, g, mode, return_transform=True)
    np.testing.assert_allclose(aligned, g, atol=1e-8)
    np.testing.assert_allclose(R_hat, R, atol=1e-10)
    np.testing.assert_allclose(s_hat, s, rtol=1e-10)
    np.testing.assert_allclose(t_hat, t, atol=1e-7)


def test_procrustes_rotation_mode_does_not_translate():
    p, g, *_ = transformed(seed=1)
    aligned, R, s, t = procrustes(p, g, "rotation", return_transform=True)
    np.testing.assert_allclose(t, 0.0)
    np.testing.assert_allclose(aligned, np.einsum("nab,njb->nja", R, p), atol=1e-9)


@pytest.mark.parametrize("mode", ["rotation", "rigid", "similarity"])
def test_reflection_fix_never_fits_a_mirror_image(mode):
    _, g, *_ = transformed(seed=2)
    mirror = g * np.array([-1.0, 1.0, 1.0])
    aligned, R, _, _ = procrustes(mirror, g, mode, return_transform=True)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    assert np.linalg.norm(aligned - g, axis=-1).mean() > 50.0  # a reflection would make it 0
    # the best proper rotation beats every other rotation tried
    best = np.linalg.norm(aligned - g, axis=-1).mean(axis=1)
    for other in random_rotations(20, np.random.default_rng(0)):
        again = procrustes(np.einsum("ab,njb->nja", other, mirror), g, mode)
        np.testing.assert_allclose(np.linalg.norm(again - g, axis=-1).mean(axis=1), best, rtol=1e-7)


def test_zero_weights_exclude_joints():
    p, g, *_ = transformed(seed=3)
    g_bad = g.copy()
    g_bad[:, 4] += 5000.0
    g_bad[:, 9] = np.nan
    w = np.ones(g.shape[:2])
    w[:, [4, 9]] = 0
    aligned = procrustes(p, g_bad, "similarity", weights=w)
    keep = [j for j in range(17) if j not in (4, 9)]
    np.testing.assert_allclose(aligned[:, keep], g[:, keep], atol=1e-7)


def test_torch_matches_numpy_including_mixed_inputs_and_has_gradients():
    p, g, *_ = transformed(seed=4)
    p += np.random.default_rng(0).normal(scale=20, size=p.shape)
    want = procrustes(p, g, "similarity")
    pt = torch.tensor(p, requires_grad=True)
    got = procrustes(pt, torch.tensor(g), "similarity")
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-8)
    np.testing.assert_allclose(procrustes(pt, g, "similarity").detach().numpy(), want, atol=1e-8)
    np.testing.assert_allclose(procrustes(p, torch.tensor(g), "similarity").numpy(), want, atol=1e-8)
    ((got - torch.tensor(g)) ** 2).sum().backward()
    assert torch.isfinite(pt.grad).all() and pt.grad.abs().sum() > 0


def test_procrustes_rejects_bad_input():
    with pytest.raises(ValueError, match="pred, target"):
        procrustes(np.zeros((2, 5, 3)), np.zeros((2, 6, 3)))
    with pytest.raises(ValueError, match="mode"):
        procrustes(np.zeros((2, 5, 3)), np.zeros((2, 5, 3)), mode="affine")


def test_random_rotations_and_rodrigues():
    R = random_rotations(200, np.random.default_rng(5))
    np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.tile(np.eye(3), (200, 1, 1)), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(R), 1.0)
    assert np.abs(R.mean(axis=0)).max() < 0.15  # uniform on SO(3): mean matrix is zero
    np.testing.assert_allclose(rotation_matrix([0, 0, 1], np.pi / 2) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(rotation_matrix([1, 1, 1], 0.4), cv2.Rodrigues(np.full(3, 0.4 / np.sqrt(3)))[0])


def test_torch_procrustes_under_autocast():
    p, g, *_ = transformed(seed=9)
    want = procrustes(p, g, "similarity")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = procrustes(torch.tensor(p, dtype=torch.float32), torch.tensor(g, dtype=torch.float32),
                         "similarity")
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want, atol=1e-2)
