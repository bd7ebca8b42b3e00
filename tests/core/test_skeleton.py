"""Skeleton invariants: one root, a tree, consistent left/right flips, conversions."""

import numpy as np
import pytest

from hpe_core.skeleton import (
    COCO17, COMMON14, H36M17, MPI3DHP17, PANOPTIC19, SKELETONS, SMPL24, Skeleton, check_joints, convert_joints,
    correspondence, get_skeleton,
)

ALL = [PANOPTIC19, H36M17, COCO17, MPI3DHP17, SMPL24, COMMON14]


@pytest.mark.parametrize("sk", ALL, ids=lambda s: s.name)
def test_tree_has_one_root_and_reaches_every_joint(sk):
    assert [i for i, p in enumerate(sk.parents) if p < 0] == [sk.root]
    order = sk.topological_order()
    assert sorted(order) == list(range(sk.num_joints))  # acyclic and connected
    seen = set()
    for j in order:
        assert j == sk.root or sk.parents[j] in seen
        seen.add(j)
    assert len(set(sk.joint_names)) == sk.num_joints
    assert len(sk.bones) == sk.num_joints - 1 + len(sk.extra_bones)


@pytest.mark.parametrize("sk", ALL, ids=lambda s: s.name)
def test_flip_pairs_swap_left_and_right(sk):
    perm = sk.flip_permutation
    assert np.array_equal(perm[perm], np.arange(sk.num_joints))  # an involution
    flat = [j for pair in sk.flip_pairs for j in pair]
    assert len(flat) == len(set(flat))
    for a, b in sk.flip_pairs:
        assert {sk.sides[a], sk.sides[b]} == {"L", "R"}
        strip = lambda n: n.lower().replace("left", "").replace("right", "").lstrip("lr_")  # noqa: E731
        assert strip(sk.joint_names[a]) == strip(sk.joint_names[b])
    paired = set(flat)
    for j, side in enumerate(sk.sides):
        assert (side == "C") == (j not in paired), sk.joint_names[j]
    # flipping labels maps the parent of a joint to the parent of its mirror
    for j, p in enumerate(sk.parents):
        if p >= 0:
            assert sk.parents[perm[j]] == perm[p]


@pytest.mark.parametrize("sk", ALL, ids=lambda s: s.name)
def test_colours_follow_sides(sk):
    colours = sk.joint_colours
    assert colours.shape == (sk.num_joints, 3) and (0 <= colours).all() and (colours <= 1).all()
    left = [j for j, s in enumerate(sk.sides) if s == "L"]
    right = [j for j, s in enumerate(sk.sides) if s == "R"]
    assert len(left) == len(right) > 0
    assert np.allclose(colours[left], colours[left[0]]) and not np.allclose(colours[left[0]], colours[right[0]])
    assert sk.bone_colours.shape == (len(sk.bones), 3)


def test_named_roots_and_dims():
    assert PANOPTIC19.joint_names[PANOPTIC19.root] == "Neck"
    assert H36M17.joint_names[H36M17.root] == "Pelvis"
    assert (PANOPTIC19.dims, H36M17.dims, COCO17.dims) == (3, 3, 2)
    assert PANOPTIC19.index("rWrist") == 11
    assert set(SKELETONS) == {"panoptic19", "h36m17", "coco17", "mpi3dhp17", "smpl24", "common14"}
    assert [sk.joint_names[sk.root] for sk in (MPI3DHP17, SMPL24, COMMON14)] == ["pelvis", "pelvis", "neck"]


def test_mirrored_pose_keeps_bone_lengths():
    rng = np.random.default_rng(0)
    pose = rng.normal(scale=300, size=(PANOPTIC19.num_joints, 3))
    mirrored = (pose * np.array([-1.0, 1.0, 1.0]))[PANOPTIC19.flip_permutation]
    for p, c in PANOPTIC19.bones:
        assert np.linalg.norm(mirrored[c] - mirrored[p]) == pytest.approx(
            np.linalg.norm(pose[PANOPTIC19.flip_permutation[c]] - pose[PANOPTIC19.flip_permutation[p]]))


def test_h36m_panoptic_correspondence_pairs_matching_joints():
    src, dst = correspondence("h36m17", "panoptic19")
    assert len(src) == 15
    for a, b in zip(src, dst):
        ha, pb = H36M17.joint_names[a].lower(), PANOPTIC19.joint_names[b].lower()
        assert H36M17.sides[a] == PANOPTIC19.sides[b]
        assert ha == pb or (ha, pb) in {("pelvis", "bodycenter"), ("thorax", "neck")}


def test_conversion_round_trip_and_missing_joints_are_nan():
    rng = np.random.default_rng(1)
    h36m = rng.normal(size=(4, 17, 3))
    pan = convert_joints(h36m, "h36m17", "panoptic19")
    assert pan.shape == (4, 19, 3)
    missing = [PANOPTIC19.index(n) for n in ("lEye", "lEar", "rEye", "rEar")]
    assert np.isnan(pan[:, missing]).all()
    back = convert_joints(pan, PANOPTIC19, H36M17)
    src, _ = correspondence("h36m17", "panoptic19")
    np.testing.assert_array_equal(back[:, src], h36m[:, src])
    assert np.isnan(back[:, [H36M17.index("Spine"), H36M17.index("Head")]]).all()
    np.testing.assert_array_equal(convert_joints(h36m, "h36m17", "h36m17"), h36m)


def test_bad_names_and_shapes_raise_value_errors():
    with pytest.raises(ValueError, match="unknown skeleton 'smpl22'; choose one of: panoptic19"):
        get_skeleton("smpl22")
    with pytest.raises(ValueError, match="no joint 'Elbow'"):
        PANOPTIC19.index("Elbow")
    with pytest.raises(ValueError, match="no joint correspondence between common14 and coco17"):
        correspondence("common14", "coco17")  # nothing converts out of the 14 common joints
    with pytest.raises(ValueError, match="joints: expected"):
        convert_joints(np.zeros((2, 19, 3)), "h36m17", "panoptic19")
    with pytest.raises(ValueError, match="pred: 17 joints, but skeleton panoptic19 has 19"):
        check_joints(np.zeros((2, 17, 3)), "panoptic19", "pred")
    with pytest.raises(ValueError, match="gt: empty array"):
        check_joints(np.zeros((0, 17, 3)), None, "gt")
    with pytest.raises(ValueError, match="one root"):
        Skeleton("bad", ("a", "b"), (-1, -1), ())
    with pytest.raises(ValueError, match="cycle"):
        Skeleton("bad", ("a", "b", "c"), (-1, 2, 1), ())
    with pytest.raises(ValueError, match="flip pair"):
        Skeleton("bad", ("a", "lb", "rb"), (-1, 0, 0), ((1, 3),))
