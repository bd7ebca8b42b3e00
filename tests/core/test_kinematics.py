"""Seed 004's forward kinematics: gradients, exact bone lengths, FK(IK(x)) = x on the synthetic
set and on a BVH walk, invariances, and the BVH reader."""

import numpy as np
import pytest
import torch

from hpe_core import kinematics as K
from hpe_core.datasets.bvh import motion_to_skeleton, read_bvh
from hpe_core.datasets import open_dataset
from hpe_core.datasets.synthetic import SynthSpec, synthesize
from hpe_core.errors import InputError
from hpe_core.geometry import random_rotations
from tests.core.bvh_walk import BONES, H36M_MAPPING, write_walk_bvh

SKELETONS = ("panoptic19", "h36m17")


def _random_params(skeleton, hips, n, rng, dtype=torch.float64):
    tree = K.kinematic_tree(skeleton, hips)
    angle = torch.tensor(rng.normal(size=(n, 2)), dtype=dtype)
    vectors = torch.tensor(rng.normal(size=(n, len(tree.limbs), 3)), dtype=dtype)
    lengths = torch.tensor(rng.uniform(50, 500, size=tree.skeleton.num_joints), dtype=dtype)
    return tree, angle, vectors, lengths


@pytest.fixture(scope="module")
def synth_joints(tmp_path_factory):
    path = synthesize(SynthSpec(tmp_path_factory.mktemp("fk") / "s", poses=60, cameras=3, size=48, seed=3))
    return open_dataset(path).joints_3d.astype(np.float64)


@pytest.fixture(scope="module")
def bvh_walk(tmp_path_factory):
    return write_walk_bvh(tmp_path_factory.mktemp("bvh") / "walk.bvh", frames=90)


@pytest.mark.parametrize("skeleton", SKELETONS)
@pytest.mark.parametrize("hips,frames", (("frame", "face"), ("line", "face"), ("frame", "transport")))
def test_fk_gradients_match_finite_differences(skeleton, hips, frames):
    tree, angle, vectors, lengths = _random_params(skeleton, hips, 3, np.random.default_rng(0))
    inputs = tuple(t.clone().requires_grad_(True) for t in (angle, vectors, lengths))
    assert torch.autograd.gradcheck(lambda a, v, l: K.forward_kinematics(a, v, l, skeleton, hips, frames), inputs,
                                    eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("skeleton", SKELETONS)
@pytest.mark.parametrize("hips", ("frame", "line"))
def test_bone_lengths_are_exact_for_any_network_output(skeleton, hips):
    tree, angle, vectors, lengths = _random_params(skeleton, hips, 50, np.random.default_rng(1))
    pose = K.forward_kinematics(angle * 7.0, vectors * 0.01, lengths, skeleton, hips).numpy()
    got = K.bone_lengths(pose, skeleton)
    want = np.broadcast_to(lengths.numpy(), got.shape).copy()
    want[:, tree.skeleton.root] = 0.0
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert np.abs(pose[:, tree.pelvis]).max() == 0.0
    np.testing.assert_allclose(pose[:, tree.neck, :2], 0.0, atol=1e-12)  # the neck on +Z


def test_straight_limbs_continue_their_parent_bone():
    """Closed form: local vector (1, 0, 0) continues the parent bone; (0, 1, 0) is the face vector."""
    tree = K.kinematic_tree("h36m17", "line")
    sk = tree.skeleton
    n = len(tree.limbs)
    vectors = np.tile([1.0, 0.0, 0.0], (1, n, 1))
    angle = np.array([[1.0, 0.0]])  # hip line along +Y: perpendicular to the spine
    pose = K.forward_kinematics(angle, vectors, np.full(sk.num_joints, 100.0), "h36m17", "line")[0]
    spine_up = [sk.index(n) for n in ("Spine", "Thorax", "Nose", "Head")]
    np.testing.assert_allclose(pose[spine_up], [[0, 0, 100], [0, 0, 200], [0, 0, 300], [0, 0, 400]], atol=1e-12)
    np.testing.assert_allclose(pose[sk.index("LHip")], [0, 100, 0], atol=1e-12)
    np.testing.assert_allclose(pose[sk.index("LAnkle")], [0, 300, 0], atol=1e-12)
    vectors[0, tree.limbs.index(sk.index("Nose"))] = [0.0, 1.0, 0.0]
    pose = K.forward_kinematics(angle, vectors, np.full(sk.num_joints, 100.0), "h36m17", "line")[0]
    np.testing.assert_allclose(pose[sk.index("Nose")], [100, 0, 200], atol=1e-12)  # forward = +X


def _round_trip_error(joints, skeleton, hips="frame", frames="face"):
    x = torch.from_numpy(joints)
    p = K.inverse_kinematics(x, skeleton, hips, frames)
    canonical = K.forward_kinematics(p.angle, p.vectors, p.lengths, skeleton, hips, frames)
    back = K.from_canonical(canonical, p.rotation, p.origin)
    canon_err = (canonical - K.canonicalize(x, skeleton)).norm(dim=-1).max().item()
    return (back - x).norm(dim=-1).max().item(), canon_err


def test_fk_of_ik_is_the_pose_on_the_synthetic_set(synth_joints):
    assert len(synth_joints) == 180
    for frames in ("face", "transport"):
        err, canon_err = _round_trip_error(synth_joints, "panoptic19", "frame", frames)
        assert err < 1e-4 and canon_err < 1e-4, frames  # mm
    # the synthetic hips sit below the body centre: the seed's hip line alone cannot hold them
    line_err, _ = _round_trip_error(synth_joints, "panoptic19", "line")
    assert line_err > 1.0


def test_fk_of_ik_is_the_pose_on_a_bvh_walk(bvh_walk):
    motion = read_bvh(bvh_walk)
    assert len(motion.frames) == 90 and motion.names[0] == "Hips"
    assert len(motion.names) == len(BONES) + 5  # five end sites
    joints = motion_to_skeleton(motion, H36M_MAPPING, "h36m17", scale=10.0)
    assert joints.shape == (90, 17, 3)
    # the walk moves: 1.3 m/s forward, legs swing
    assert joints[-1, 0, 2] - joints[0, 0, 2] > 3000
    knee = joints[:, 5] - joints[:, 4]
    assert np.ptp(knee[:, 2]) > 150
    # bone lengths of the file are kept through the BVH rotations (thigh 44 cm)
    np.testing.assert_allclose(np.linalg.norm(knee, axis=-1), 440.0, atol=1e-6)
    for hips, frames in (("frame", "face"), ("line", "face"), ("frame", "transport")):
        err, canon_err = _round_trip_error(joints, "h36m17", hips, frames)  # BVH hips are on one line
        assert err < 1e-4 and canon_err < 1e-4, (hips, frames)


@pytest.mark.parametrize("skeleton", SKELETONS)
@pytest.mark.parametrize("hips", ("frame", "line"))
def test_ik_is_invariant_to_rotation_and_translation(skeleton, hips):
    rng = np.random.default_rng(4)
    tree, angle, vectors, lengths = _random_params(skeleton, "line", 8, rng)
    angle[:, 0] = angle[:, 0].abs()  # sin > 0: the hip line turns the face vector to +X, as IK reads it
    pose = K.forward_kinematics(angle, vectors, lengths, skeleton, "line").numpy()  # a canonical pose
    R = random_rotations(8, rng)
    moved = np.einsum("nij,nkj->nki", R, pose) + rng.normal(size=(8, 1, 3)) * 1000
    a, b = K.inverse_kinematics(pose, skeleton, hips), K.inverse_kinematics(moved, skeleton, hips)
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-9)
    np.testing.assert_allclose(a.angle, b.angle, atol=1e-12)
    np.testing.assert_allclose(K.canonicalize(moved, skeleton), pose, atol=1e-9)
    np.testing.assert_allclose(np.einsum("nij,njk->nik", b.rotation, R), np.broadcast_to(np.eye(3), R.shape),
                               atol=1e-12)
    if hips == "line":
        np.testing.assert_allclose(a.vectors, _unit(vectors.numpy()), atol=1e-9)


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_mirror_tree_and_bad_inputs():
    tree = K.kinematic_tree("panoptic19")
    sk = tree.skeleton
    assert tree.pelvis == sk.index("BodyCenter") and tree.parents[sk.index("Neck")] == tree.pelvis
    assert len(K.kinematic_tree("h36m17", "line").limbs) == 13  # the seed's 13 limb joints
    with pytest.raises(InputError, match="coco17"):
        K.kinematic_tree("coco17")
    with pytest.raises(InputError, match="hips"):
        K.kinematic_tree("h36m17", "curve")
    with pytest.raises(InputError, match=r"\(N, 17, 3\)"):
        K.inverse_kinematics(np.zeros((2, 19, 3)), "h36m17")
    with pytest.raises(InputError, match="bone lengths"):
        K.forward_kinematics(np.zeros((1, 2)), np.zeros((1, 15, 3)), np.ones(5), "h36m17")


def test_bvh_reader_names_the_line_that_is_wrong(tmp_path, bvh_walk):
    text = bvh_walk.read_text().splitlines()
    bad = tmp_path / "bad.bvh"
    row = next(i for i, line in enumerate(text) if "CHANNELS 3" in line)
    bad.write_text("\n".join(text[:row] + [text[row].replace("Yrotation", "Wrotation")] + text[row + 1:]))
    with pytest.raises(InputError, match=rf"bad.bvh: line {row + 1}: .*Wrotation"):
        read_bvh(bad)
    short = tmp_path / "short.bvh"
    short.write_text("\n".join(text[:-3]))
    with pytest.raises(InputError, match="short.bvh: line .*unexpected end of file"):
        read_bvh(short)
    with pytest.raises(InputError, match="no BVH joint for Nose"):
        motion_to_skeleton(read_bvh(bvh_walk), {k: v for k, v in H36M_MAPPING.items() if k != "Nose"}, "h36m17")


def test_transported_frames_stay_smooth_where_the_face_vector_frame_flips():
    """A thigh swinging through straight forward (+X): in the seed's frame (b = face vector) the
    shin's local vector jumps; with the frame carried along the limb it changes smoothly."""
    sk = K.kinematic_tree("h36m17").skeleton
    n = 41
    swing = np.linspace(-0.05, 0.05, n)  # the thigh passes within 0.05 rad of +X
    poses = np.zeros((n, 17, 3))
    poses[:, sk.index("Spine")] = [0, 0, 230]
    for name in ("Thorax", "Nose", "Head"):
        poses[:, sk.index(name)] = poses[:, sk.parents[sk.index(name)]] + [0, 0, 120]
    for side, y in (("L", 1), ("R", -1)):
        hip = np.array([0, y * 130.0, 0])
        poses[:, sk.index(f"{side}Hip")] = hip
        thigh = np.stack([np.cos(swing), np.full(n, 0.02 * y), np.sin(swing)], -1) if side == "L" else [[0, 0, -1]]
        poses[:, sk.index(f"{side}Knee")] = hip + 440 * np.asarray(thigh) / np.linalg.norm(thigh, axis=-1, keepdims=True)
        poses[:, sk.index(f"{side}Ankle")] = poses[:, sk.index(f"{side}Knee")] + [0, 0, -450]
        poses[:, sk.index(f"{side}Shoulder")] = poses[:, sk.index("Thorax")] + [0, y * 150, 0]
        poses[:, sk.index(f"{side}Elbow")] = poses[:, sk.index(f"{side}Shoulder")] + [0, 0, -280]
        poses[:, sk.index(f"{side}Wrist")] = poses[:, sk.index(f"{side}Elbow")] + [0, 0, -250]
    ankle = K.kinematic_tree("h36m17").limbs.index(sk.index("LAnkle"))
    steps = {}
    for frames in ("face", "transport"):
        v = K.inverse_kinematics(poses, "h36m17", "frame", frames).vectors[:, ankle]
        steps[frames] = np.linalg.norm(np.diff(v, axis=0), axis=-1).max()
        assert _round_trip_error(poses, "h36m17", "frame", frames)[0] < 1e-6
    assert steps["transport"] < 0.01  # the pose moves by 2.5 mrad a step
    assert steps["face"] > 0.1 and steps["face"] > 10 * steps["transport"]  # b whips round the thigh
