"""The joint variants the protocols score, each named and made from the dataset's joint set.

A :class:`JointVariant` turns a dataset's ``(N, J, 3)`` joints into the joints a protocol scores:
``weights`` ``(J', J)`` (each scored joint an affine combination of the dataset's; a copy is a one-hot
row) after centring on ``root`` (weights ``(J,)`` over the dataset's joints). ``pck_joints`` are the
scored joints that PCK / AUC count and ``groups`` the test kit's joint groups among them.

- Human3.6M (``h36m17``): 17 = every joint; 16 = the 17 without the root (Pelvis, whose error is 0
  once both poses are root-centred: MPJPE_16 = 17/16 x MPJPE_17); 14 = ``common14``
  (:func:`hpe_core.skeleton.joint_map` ``h36m17 -> common14``: limbs, Thorax as neck, Head).
- MPI-INF-3DHP (``mpi3dhp17``, the kit's joint order): MPJPE over the 17 joints as
  ``mpii_evaluate_errors.m`` takes it; PCK / AUC over the groups of ``mpii_get_pck_auc_joint_groups.m``:
  14 joints (head top, neck, shoulders, elbows, wrists, hips, knees, ankles: without pelvis, spine
  and head), or the 17-joint groups in circulation (Head = head top + head, spine, Hip = hips + pelvis).
- 3DPW (``smpl24``): ``common14`` by ``joint_map`` (SMPL's head joint is the head's centre), centred
  on the pelvis as SPIN / VIBE take it: the mid-point of the two hips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.skeleton import COMMON14, H36M17, MPI3DHP17, joint_map


@dataclass(frozen=True, eq=False)
class JointVariant:
    skeleton: str  # the dataset's joint set
    count: int  # the variant's name: how many joints PCK / AUC or the errors count
    names: tuple[str, ...]  # the scored joints (rows of weights)
    weights: np.ndarray  # (J', J)
    root: np.ndarray  # (J,)
    mapping: str  # how the scored joints are made, named
    pck_joints: tuple[int, ...] = ()  # among the scored joints (default: all)
    groups: tuple[tuple[str, tuple[int, ...]], ...] = ()  # the kit's joint groups, indices of scored joints

    @property
    def counted(self) -> tuple[int, ...]:
        return self.pck_joints or tuple(range(len(self.names)))

    def describe(self) -> str:
        return f"{self.count} of {self.skeleton}: {self.mapping}"


def _one_hot(n: int, index: int) -> np.ndarray:
    out = np.zeros(n)
    out[index] = 1.0
    return out


def _select(skeleton, keep: list[int]) -> np.ndarray:
    return np.eye(skeleton.num_joints)[keep]


def _h36m() -> dict:
    sk, root = H36M17, _one_hot(17, H36M17.root)
    to14 = joint_map("h36m17", "common14")
    without_root = [j for j in range(17) if j != H36M17.root]
    return {
        ("h36m", "h36m17", 17): JointVariant("h36m17", 17, sk.joint_names, np.eye(17), root, "every joint"),
        ("h36m", "h36m17", 16): JointVariant("h36m17", 16, tuple(sk.joint_names[j] for j in without_root),
                                             _select(sk, without_root), root, "the 17 without the root (Pelvis)"),
        ("h36m", "h36m17", 14): JointVariant("h36m17", 14, COMMON14.joint_names, to14.weights, root,
                                             f"common14 ({to14.name}: limbs, Thorax as neck, Head)"),
    }


KIT_GROUPS_14 = (("Head", (0,)), ("Neck", (1,)), ("Shou", (2, 5)), ("Elbow", (3, 6)), ("Wrist", (4, 7)),
                 ("Hip", (8, 11)), ("Knee", (9, 12)), ("Ankle", (10, 13)))
KIT_GROUPS_17 = (("Head", (0, 16)), ("Neck", (1,)), ("Shou", (2, 5)), ("Elbow", (3, 6)), ("Wrist", (4, 7)),
                 ("spine", (15,)), ("Hip", (8, 11, 14)), ("Knee", (9, 12)), ("Ankle", (10, 13)))


def _3dhp() -> dict:
    sk, root = MPI3DHP17, _one_hot(17, MPI3DHP17.index("pelvis"))
    out = {}
    for count, groups, what in ((14, KIT_GROUPS_14, "PCK/AUC on the kit's 14 joints (without pelvis, spine, head)"),
                                (17, KIT_GROUPS_17, "PCK/AUC on the 17-joint groups (head top + head, spine, "
                                                    "hips + pelvis)")):
        counted = tuple(sorted(j for _, js in groups for j in js))
        out[("3dhp", "mpi3dhp17", count)] = JointVariant("mpi3dhp17", count, sk.joint_names, np.eye(17), root,
                                                         f"{what}; MPJPE over the 17 as the kit", counted, groups)
    return out


def _3dpw() -> dict:
    to14 = joint_map("smpl24", "common14")
    hips = [COMMON14.index("left_hip"), COMMON14.index("right_hip")]
    root = to14.weights[hips].mean(axis=0)  # the pelvis of the 14: mid-hip, over smpl24's joints
    note = "; ".join(n.split(": ", 1)[-1] for n in to14.notes) or "limbs, neck, head"
    return {("3dpw", "smpl24", 14): JointVariant("smpl24", 14, COMMON14.joint_names, to14.weights, root,
                                                 f"common14 ({to14.name}: {note})")}


VARIANTS: dict[tuple[str, str, int], JointVariant] = {**_h36m(), **_3dhp(), **_3dpw()}
