"""The named joint-set conversions of skeleton.py: h36m17 <-> mpi3dhp17 <-> coco17 <-> smpl24 -> common14.

The pairings follow the sets' own definitions: MPI-INF-3DHP's 17 test joints as its test kit names
them (``mpii_get_joints('relevant')``; mmpose ``configs/_base_/datasets/mpi_inf_3dhp.py``), paired
with Human3.6M's 17 as the 3DHP lifting code pairs them (Head = head_top, Nose = head, Thorax = neck);
SMPL's 24 joints in the SMPL model's order; the 14 common joints are LSP's 14 (limbs, neck, head).
"""

import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hpe_core.skeleton import COMMON14, H36M17, MPI3DHP17, SKELETONS, SMPL24, convert_joints, joint_map, map_joints

SETS = ["h36m17", "mpi3dhp17", "coco17", "smpl24", "panoptic19"]
PAIRS = [(a, b) for a, b in itertools.product(SETS, SETS + ["common14"]) if a != b]


@pytest.mark.parametrize("pair", PAIRS, ids="->".join)
def test_every_conversion_is_affine_and_commutes_with_a_similarity(pair):
    """Rows sum to 1, so mapping then moving (rotation, scale, translation) equals moving then mapping."""
    m = joint_map(*pair)
    assert np.allclose(m.weights[m.defined].sum(axis=1), 1.0) and not m.weights[~m.defined].any()
    rng = np.random.default_rng(0)
    x = rng.normal(0, 300, (5, SKELETONS[pair[0]].num_joints, 3))
    R, s, t = Rotation.random(random_state=1).as_matrix(), 1.7, np.array([10.0, -200.0, 3000.0])
    moved = s * x @ R.T + t
    np.testing.assert_allclose(m(moved)[:, m.defined], (s * m(x) @ R.T + t)[:, m.defined], atol=1e-9)
    assert np.isnan(m(x)[:, ~m.defined]).all()


@pytest.mark.parametrize("pair", PAIRS, ids="->".join)
def test_a_copied_joint_keeps_its_side(pair):
    """A joint taken as is from the other set is on the same side (no left/right swap)."""
    m = joint_map(*pair)
    src, dst = SKELETONS[pair[0]], SKELETONS[pair[1]]
    for t in np.flatnonzero(m.defined & ((m.weights != 0).sum(axis=1) == 1)):
        assert dst.sides[t] == src.sides[int(m.weights[t].argmax())], (dst.joint_names[t], m.weights[t])


def test_h36m17_and_mpi3dhp17_are_the_same_joints_in_another_order():
    rng = np.random.default_rng(2)
    h36m = rng.normal(0, 300, (4, 17, 3))
    mpi = convert_joints(h36m, "h36m17", "mpi3dhp17")
    np.testing.assert_array_equal(convert_joints(mpi, "mpi3dhp17", "h36m17"), h36m)
    pairs = {"head_top": "Head", "neck": "Thorax", "right_wrist": "RWrist", "left_knee": "LKnee",
             "pelvis": "Pelvis", "spine": "Spine", "head": "Nose"}
    for m_name, h_name in pairs.items():
        np.testing.assert_array_equal(mpi[:, MPI3DHP17.index(m_name)], h36m[:, H36M17.index(h_name)])
    assert MPI3DHP17.root == 14 and mpi[0, MPI3DHP17.root].tolist() == h36m[0, H36M17.root].tolist()


def _coco_to_h36m_reference(c):
    """Written out from the definitions (coco17 indices: 0 nose, 5/6 shoulders, 11/12 hips)."""
    pelvis, thorax = (c[:, 11] + c[:, 12]) / 2, (c[:, 5] + c[:, 6]) / 2
    nose = c[:, 0]
    return np.stack([pelvis, c[:, 12], c[:, 14], c[:, 16], c[:, 11], c[:, 13], c[:, 15], (pelvis + thorax) / 2,
                     thorax, nose, nose + 0.25 * (nose - thorax), c[:, 5], c[:, 7], c[:, 9], c[:, 6], c[:, 8],
                     c[:, 10]], 1)


def test_coco17_to_h36m17_derives_the_missing_joints_and_says_so():
    coco = np.random.default_rng(3).uniform(0, 640, (6, 17, 2))
    out, notes = map_joints(coco, "coco17", "h36m17")
    np.testing.assert_allclose(out, _coco_to_h36m_reference(coco), atol=1e-9)
    assert notes == ["coco17 -> h36m17: Pelvis derived as the mid-hip point, Thorax as the mid-shoulder point, "
                     "Spine midway between them, Head from the nose and thorax"]
    out, notes = map_joints(coco, "coco17", "mpi3dhp17")  # through h36m17
    np.testing.assert_allclose(out, convert_joints(_coco_to_h36m_reference(coco), "h36m17", "mpi3dhp17"), atol=1e-9)
    assert "Pelvis derived" in notes[0]


@pytest.mark.parametrize("source", ["h36m17", "mpi3dhp17", "coco17", "smpl24"])
def test_each_set_gives_the_14_common_joints_the_same_way_as_through_h36m17(source):
    rng = np.random.default_rng(4)
    x = rng.normal(0, 300, (3, SKELETONS[source].num_joints, 3))
    direct = convert_joints(x, source, "common14")
    assert np.isfinite(direct).all() and direct.shape == (3, 14, 3)
    via = convert_joints(convert_joints(x, source, "h36m17"), "h36m17", "common14")
    np.testing.assert_allclose(direct, via, atol=1e-9)
    names = SKELETONS[source].joint_names
    limb = {"h36m17": "RAnkle", "mpi3dhp17": "right_ankle", "coco17": "right_ankle", "smpl24": "right_ankle"}[source]
    np.testing.assert_array_equal(direct[:, COMMON14.index("right_ankle")], x[:, names.index(limb)])


def test_smpl24_shares_the_limbs_pelvis_neck_and_head_and_says_what_is_approximate():
    x = np.random.default_rng(5).normal(0, 300, (2, 24, 3))
    out, notes = map_joints(x, "smpl24", "h36m17")
    np.testing.assert_array_equal(out[:, H36M17.index("Thorax")], x[:, SMPL24.index("neck")])
    np.testing.assert_array_equal(out[:, H36M17.index("LWrist")], x[:, SMPL24.index("left_wrist")])
    assert np.isnan(out[:, [H36M17.index("Spine"), H36M17.index("Nose")]]).all()
    assert "the head's centre, not its top" in notes[0] and notes[-1] == "smpl24 -> h36m17: no counterpart for Spine, Nose"
    back = convert_joints(out, "h36m17", "smpl24")
    shared = [SMPL24.index(n) for n in ("pelvis", "neck", "head", "left_hip", "right_elbow")]
    np.testing.assert_array_equal(back[:, shared], x[:, shared])
    assert np.isnan(back[:, SMPL24.index("spine2")]).all()


def test_a_missing_source_joint_is_missing_only_where_it_is_used():
    coco = np.random.default_rng(6).uniform(0, 640, (1, 17, 2))
    coco[0, 11] = np.nan  # left hip
    out = convert_joints(coco, "coco17", "h36m17")
    missing = {H36M17.joint_names[k] for k in np.flatnonzero(np.isnan(out[0]).any(-1))}
    assert missing == {"Pelvis", "LHip", "Spine"}
