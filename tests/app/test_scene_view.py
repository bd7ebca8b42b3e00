"""The vispy side: visuals take arrays, the display frame stands people on the floor."""

from __future__ import annotations

import numpy as np
import pytest

from app.visuals.floor_visual import grid_segments
from app.visuals.frustum_visual import frustum_segments
from app.visuals.scene_frame import frame_for, grounded, up_from_cameras
from hpe_core.geometry import Camera, look_at, project
from hpe_core.skeleton import PANOPTIC19
from helpers import poses, ring_cameras


def test_grid_has_two_lines_per_tick_through_the_origin():
    seg = grid_segments(1000.0, 500.0)
    assert seg.shape == (2 * 2 * 5, 3) and np.all(seg[:, 2] == 0)
    assert np.abs(seg[:, :2]).max() == 1000.0


def test_frustum_starts_at_the_camera_centre_and_its_corners_project_to_the_image_corners():
    K = np.array([[100.0, 0, 32], [0, 100, 24], [0, 0, 1]])
    R, t = look_at((1000.0, -500.0, 2000.0), (0.0, 0.0, 0.0))
    seg = frustum_segments(K, R, t, 64, 48, depth=300.0)
    centre = -R.T @ t
    np.testing.assert_allclose(seg[0::4], np.repeat(centre[None], 4, 0), atol=1e-3)
    corners = seg[1::4].astype(np.float64)
    px = project(corners @ R.T + t, K)
    np.testing.assert_allclose(px, [[0, 0], [64, 0], [64, 48], [0, 48]], atol=1e-3)


@pytest.mark.parametrize("tilt", [0.0, 0.3])
def test_display_frame_puts_world_up_on_z_and_the_feet_on_the_floor(tilt):
    cams = ring_cameras(4, 64)  # a y-down world, like CMU Panoptic
    rot = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    cams = [Camera(K=c.K, R=c.R @ rot.T, t=c.t) for c in cams.values()]  # the same rig, world rotated
    world = poses(30) @ rot.T
    np.testing.assert_allclose(up_from_cameras([c.R for c in cams]), rot @ [0, -1, 0], atol=0.05)
    frame = frame_for(cams, world, root=0)
    shown = frame.to_display(world)
    assert abs(np.percentile(shown[..., 2], 0.5)) < 1.0  # the floor at z = 0
    assert (shown[:, 0, 2] > 1300).all()  # the neck is up
    assert np.abs(np.median(shown[:, 0, :2], axis=0)).max() < 1.0  # the action at the origin


def test_a_lone_pose_is_grounded_at_the_origin():
    pts = grounded(np.array([[100.0, 50.0, 300.0], [120.0, 70.0, 1900.0], [np.nan, np.nan, np.nan]]))
    assert np.nanmin(pts[:, 2]) == 0 and np.allclose(np.nanmean(pts[:2, :2], axis=0), 0)


def test_skeleton_visual_draws_finite_joints_and_the_bones_between_them(qtbot):
    from app.views.scene_view import make_canvas
    from app.visuals.skeleton_visual import SkeletonVisual

    canvas, view = make_canvas(size=(200, 150))
    canvas.native.show()
    qtbot.addWidget(canvas.native)
    qtbot.waitExposed(canvas.native)
    view.camera.set_range(x=(-1000, 1000), y=(-1000, 1000), z=(0, 1800))
    empty = canvas.render()
    sk = SkeletonVisual(parent=view.scene)
    joints = grounded(poses(1)[0] * [1, -1, 1])[:, [0, 2, 1]]  # y-down world → z-up
    joints[5] = np.nan  # a missing wrist: its joint and bone disappear
    sk.set_data(joints, PANOPTIC19.bones, PANOPTIC19.joint_colours, PANOPTIC19.bone_colours)
    assert sk._markers._data["a_position"].shape[0] == 18
    assert sk._lines.pos.shape == (2 * 17, 3)
    drawn = canvas.render()
    assert np.abs(drawn.astype(int) - empty.astype(int)).sum() > 1000
    sk.set_data(np.full((19, 3), np.nan), PANOPTIC19.bones)
    assert not sk._lines.visible and not sk._markers.visible
    np.testing.assert_array_equal(canvas.render(), empty)
    canvas.close()
