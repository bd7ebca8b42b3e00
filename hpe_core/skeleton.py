"""Joint sets as frozen dataclasses: one definition each, read by the renderer, the metrics,
the flips of the augmentations and the readers.

- ``panoptic19``: CMU Panoptic coco19 order; root = Neck (as in seed 000).
- ``h36m17``: Human3.6M 17 joints in VideoPose3D order; root = pelvis.
- ``coco17``: COCO keypoints (2D); root = nose.
- ``mpi3dhp17``: MPI-INF-3DHP's 17 test joints (its ``mpii_get_joints('relevant')`` order); root = pelvis.
- ``smpl24``: the SMPL body model's 24 joints (3DPW); root = pelvis.
- ``common14``: the 14 joints the others share (LSP's 14: limbs, neck, head), for protocols; root = neck.

Named conversions between them (:func:`joint_map`, ``_TABLE``) make each joint of one set an
affine combination of the other's joints, saying what they derived.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from hpe_core.errors import InputError

LEFT_COLOUR = (0.18, 0.47, 0.85)   # blue
RIGHT_COLOUR = (0.89, 0.29, 0.20)  # red
CENTRE_COLOUR = (0.35, 0.70, 0.35)  # green


@dataclass(frozen=True)
class Skeleton:
    """A joint set. ``parents[i]`` is the parent of joint ``i`` (-1 for the root)."""

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    extra_bones: tuple[tuple[int, int], ...] = ()
    dims: int = 3  # 3 for 3D joint sets, 2 for 2D-only ones
    sides: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if len(self.parents) != n:
            raise ValueError(f"skeleton {self.name}: {n} names but {len(self.parents)} parents")
        roots = [i for i, p in enumerate(self.parents) if p < 0]
        if len(roots) != 1:
            raise ValueError(f"skeleton {self.name}: expected one root, found {roots}")
        for i, p in enumerate(self.parents):
            if p >= n:
                raise ValueError(f"skeleton {self.name}: parent of joint {i} is out of range")
        if len(self.topological_order()) != n:
            raise ValueError(f"skeleton {self.name}: parents form a cycle; not every joint reaches the root")
        for a, b in self.flip_pairs + self.extra_bones:
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(f"skeleton {self.name}: flip pair or bone ({a}, {b}) is out of range")
        if not self.sides:
            object.__setattr__(self, "sides", tuple(_side_of(name) for name in self.joint_names))

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(parent, child) pairs of the kinematic tree, then any extra drawn bones."""
        tree = tuple((p, c) for c, p in enumerate(self.parents) if p >= 0)
        return tree + self.extra_bones

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps left and right joints: ``joints[..., perm, :]`` mirrors labels."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def joint_colours(self) -> np.ndarray:
        """(J, 3) RGB in 0..1: left blue, right red, centre green."""
        table = {"L": LEFT_COLOUR, "R": RIGHT_COLOUR, "C": CENTRE_COLOUR}
        return np.array([table[s] for s in self.sides], dtype=np.float32)

    @property
    def bone_colours(self) -> np.ndarray:
        """(B, 3) RGB in 0..1, coloured by the side of the bone's child joint."""
        colours = self.joint_colours
        return np.array([colours[c] for _, c in self.bones], dtype=np.float32).reshape(-1, 3)

    def topological_order(self) -> tuple[int, ...]:
        """Joints ordered so every parent comes before its children."""
        order: list[int] = [self.root]
        children: dict[int, list[int]] = {}
        for c, p in enumerate(self.parents):
            if p >= 0:
                children.setdefault(p, []).append(c)
        i = 0
        while i < len(order):
            order.extend(children.get(order[i], []))
            i += 1
        return tuple(order)

    def index(self, joint_name: str) -> int:
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise InputError(
                f"skeleton {self.name} has no joint {joint_name!r}; joints: {', '.join(self.joint_names)}"
            ) from None


def _side_of(name: str) -> str:
    low = name.lower()
    if low.startswith(("l", "left")) and not low.startswith("low"):
        if low.startswith("left") or (len(name) > 1 and name[1].isupper()):
            return "L"
    if low.startswith(("r", "right")):
        if low.startswith("right") or (len(name) > 1 and name[1].isupper()):
            return "R"
    return "C"


PANOPTIC19 = Skeleton(
    name="panoptic19",
    joint_names=(
        "Neck", "Nose", "BodyCenter",
        "lShoulder", "lElbow", "lWrist", "lHip", "lKnee", "lAnkle",
        "rShoulder", "rElbow", "rWrist", "rHip", "rKnee", "rAnkle",
        "lEye", "lEar", "rEye", "rEar",
    ),
    parents=(-1, 0, 0, 0, 3, 4, 2, 6, 7, 0, 9, 10, 2, 12, 13, 1, 15, 1, 17),
    flip_pairs=((3, 9), (4, 10), (5, 11), (6, 12), (7, 13), (8, 14), (15, 17), (16, 18)),
)

H36M17 = Skeleton(
    name="h36m17",
    joint_names=(
        "Pelvis", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle",
        "Spine", "Thorax", "Nose", "Head",
        "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    flip_pairs=((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16)),
)

COCO17 = Skeleton(
    name="coco17",
    joint_names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    extra_bones=((5, 6), (11, 12)),
    dims=2,
)

MPI3DHP17 = Skeleton(
    name="mpi3dhp17",
    joint_names=(
        "head_top", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
        "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "pelvis", "spine", "head",
    ),
    parents=(16, 15, 1, 2, 3, 1, 5, 6, 14, 8, 9, 14, 11, 12, -1, 14, 1),
    flip_pairs=((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13)),
)

SMPL24 = Skeleton(
    name="smpl24",
    joint_names=(
        "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
        "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hand", "right_hand",
    ),
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21),
    flip_pairs=((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23)),
)

COMMON14 = Skeleton(
    name="common14",
    joint_names=(
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
        "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "neck", "head",
    ),
    parents=(1, 2, 12, 12, 3, 4, 7, 8, 12, 12, 9, 10, -1, 12),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
    extra_bones=((2, 3),),
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (PANOPTIC19, H36M17, COCO17, MPI3DHP17, SMPL24, COMMON14)}


def _limb(skeleton: str, side: str, part: str) -> str:
    if skeleton == "h36m17":
        return f"{side[0].upper()}{part.capitalize()}"  # RShoulder
    if skeleton == "panoptic19":
        return f"{side[0]}{part.capitalize()}"  # rShoulder
    return f"{side}_{part}"  # right_shoulder


def _limbs(source: str, target: str) -> dict[str, str]:
    """The 12 limb joints every set has (shoulders, elbows, wrists, hips, knees, ankles): target <- source."""
    return {_limb(target, side, part): _limb(source, side, part)
            for side in ("left", "right") for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")}


_MID_HIP = {"left_hip": 0.5, "right_hip": 0.5}
_MID_SHOULDER = {"left_shoulder": 0.5, "right_shoulder": 0.5}
# COCO has no head joint: the nose moved away from the mid-shoulder point by a quarter of their distance
_COCO_HEAD = {"nose": 1.25, "left_shoulder": -0.125, "right_shoulder": -0.125}

# The named conversions: (source, target) -> (target joint <- a source joint, or {source joint: weight}
# with weights summing to 1; whether the copied joints also convert back; what the conversion derived).
# Any other pair goes through these (e.g. coco17 -> mpi3dhp17 is coco17 -> h36m17 -> mpi3dhp17).
_TABLE: dict[tuple[str, str], tuple[dict, bool, str]] = {
    # MPI-INF-3DHP's 17 test joints are Human3.6M's 17 (as its test kit and the lifting literature pair them)
    ("h36m17", "mpi3dhp17"): ({**_limbs("h36m17", "mpi3dhp17"), "head_top": "Head", "neck": "Thorax",
                               "pelvis": "Pelvis", "spine": "Spine", "head": "Nose"}, True, ""),
    ("h36m17", "panoptic19"): ({**_limbs("h36m17", "panoptic19"), "BodyCenter": "Pelvis", "Neck": "Thorax",
                                "Nose": "Nose"}, True, ""),
    ("smpl24", "h36m17"): ({**_limbs("smpl24", "h36m17"), "Pelvis": "pelvis", "Thorax": "neck", "Head": "head"},
                           True, "smpl24 <-> h36m17: SMPL's neck joint is the Thorax, its head joint (the head's "
                           "centre, not its top) the Head"),
    ("coco17", "h36m17"): ({**_limbs("coco17", "h36m17"), "Nose": "nose", "Pelvis": _MID_HIP,
                            "Thorax": _MID_SHOULDER, "Spine": dict.fromkeys([*_MID_HIP, *_MID_SHOULDER], 0.25),
                            "Head": _COCO_HEAD}, True,
                           "coco17 -> h36m17: Pelvis derived as the mid-hip point, Thorax as the mid-shoulder "
                           "point, Spine midway between them, Head from the nose and thorax"),
    ("coco17", "panoptic19"): ({**_limbs("coco17", "panoptic19"), "Nose": "nose", "lEye": "left_eye",
                                "lEar": "left_ear", "rEye": "right_eye", "rEar": "right_ear",
                                "Neck": _MID_SHOULDER, "BodyCenter": _MID_HIP}, True,
                               "coco17 -> panoptic19: Neck derived as the mid-shoulder point, BodyCenter as the "
                               "mid-hip point"),
    # the 14 joints common to them (LSP's 14, as protocols over 14 joints take them)
    ("h36m17", "common14"): ({**_limbs("h36m17", "common14"), "neck": "Thorax", "head": "Head"}, False, ""),
    ("mpi3dhp17", "common14"): ({**_limbs("mpi3dhp17", "common14"), "neck": "neck", "head": "head_top"}, False, ""),
    ("smpl24", "common14"): ({**_limbs("smpl24", "common14"), "neck": "neck", "head": "head"}, False,
                             "smpl24 -> common14: head is SMPL's head joint (the head's centre, not its top)"),
    ("coco17", "common14"): ({**_limbs("coco17", "common14"), "neck": _MID_SHOULDER, "head": _COCO_HEAD}, False,
                             "coco17 -> common14: neck derived as the mid-shoulder point, head from the nose "
                             "and the neck"),
}

def get_skeleton(name: str | Skeleton) -> Skeleton:
    """The skeleton called ``name``; an :class:`InputError` lists the valid names."""
    if isinstance(name, Skeleton):
        return name
    try:
        return SKELETONS[name]
    except KeyError:
        raise InputError(f"unknown skeleton {name!r}; choose one of: {', '.join(SKELETONS)}") from None


@dataclass(frozen=True)
class JointMap:
    """A named conversion: each ``target`` joint is an affine combination of ``source`` joints,
    ``weights`` (J_target, J_source) with rows summing to 1, so a map commutes with rotations,
    translations and scaling and works on 2D px and 3D mm alike. A joint not ``defined`` has no
    counterpart (NaN)."""

    name: str
    source: str
    target: str
    weights: np.ndarray  # (J_target, J_source)
    defined: np.ndarray  # (J_target,) bool
    notes: tuple[str, ...] = ()

    def __call__(self, joints: np.ndarray) -> np.ndarray:
        """(..., J_source, D) -> (..., J_target, D) float64; NaN where a joint has no counterpart or
        a source joint it is made of is NaN."""
        joints = np.asarray(joints, dtype=np.float64)
        missing = np.isnan(joints).any(axis=-1)
        out = np.einsum("ts,...sd->...td", self.weights, np.where(missing[..., None], 0.0, joints))
        uses = (self.weights != 0).T.astype(np.float64)
        bad = ~self.defined | ((missing.astype(np.float64) @ uses) > 0)
        out[bad] = np.nan
        return out

    def then(self, other: "JointMap") -> "JointMap":
        """This map followed by ``other`` (whose source is this map's target)."""
        defined = other.defined & ~((other.weights != 0) & ~self.defined[None, :]).any(axis=1)
        weights = np.where(defined[:, None], other.weights @ self.weights, 0.0)
        return JointMap(f"{self.name} -> {other.target}", self.source, other.target, weights, defined,
                        self.notes + other.notes)


def _table_map(source: str, target: str) -> JointMap | None:
    """The table's map ``source -> target``, or the copies of ``target -> source`` turned back."""
    src, dst = SKELETONS[source], SKELETONS[target]
    if (source, target) in _TABLE:
        table, _, note = _TABLE[(source, target)]
        mapping, notes = table, (note,) if note else ()
    elif _TABLE.get((target, source), ({}, False, ""))[1]:
        table, _, note = _TABLE[(target, source)]
        mapping = {s: t for t, s in table.items() if isinstance(s, str)}
        notes = (note,) if note and len(mapping) == len(table) else ()  # a derivation does not turn back
    else:
        return None
    weights = np.zeros((dst.num_joints, src.num_joints))
    for name, made_of in mapping.items():
        for joint, weight in ({made_of: 1.0} if isinstance(made_of, str) else made_of).items():
            weights[dst.index(name), src.index(joint)] = weight
    return JointMap(f"{source} -> {target}", source, target, weights, weights.any(axis=1), notes)


@functools.lru_cache(maxsize=None)
def joint_map(source: str | Skeleton, target: str | Skeleton) -> JointMap:
    """The conversion ``source -> target``: the table's own, else the shortest chain of them;
    :class:`InputError` when the sets are not connected (nothing converts out of ``common14``)."""
    src, dst = get_skeleton(source).name, get_skeleton(target).name
    if src == dst:
        n = SKELETONS[src].num_joints
        return JointMap(src, src, src, np.eye(n), np.ones(n, bool))
    paths, frontier = {src: None}, [src]
    while frontier and dst not in paths:
        step = []
        for here in frontier:
            for there in SKELETONS:
                if there not in paths and _table_map(here, there) is not None:
                    paths[there] = here
                    step.append(there)
        frontier = step
    if dst not in paths:
        raise InputError(f"no joint correspondence between {src} and {dst}")
    chain = [dst]
    while paths[chain[-1]] is not None:
        chain.append(paths[chain[-1]])
    chain.reverse()
    out = _table_map(chain[0], chain[1])
    for a, b in zip(chain[1:], chain[2:]):
        out = out.then(_table_map(a, b))
    return out


def correspondence(source: str | Skeleton, target: str | Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays ``(src_idx, dst_idx)`` of the joints that one joint of the other set gives as is."""
    m = joint_map(source, target)
    copied = m.defined & ((m.weights == 1.0).sum(axis=1) == 1) & ((m.weights != 0).sum(axis=1) == 1)
    dst_idx = np.flatnonzero(copied)
    return m.weights[dst_idx].argmax(axis=1), dst_idx


def convert_joints(joints: np.ndarray, source: str | Skeleton, target: str | Skeleton) -> np.ndarray:
    """Map ``(..., J_src, D)`` joints onto ``target`` (:func:`joint_map`); joints with no counterpart are NaN."""
    src, dst = get_skeleton(source), get_skeleton(target)
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim < 2 or joints.shape[-2] != src.num_joints:
        raise InputError(f"joints: expected (..., {src.num_joints}, D) for {src.name}, got shape {joints.shape}")
    return joint_map(src, dst)(joints)

def check_joints(array, skeleton: str | Skeleton | None, argument: str, dims: tuple[int, ...] = (2, 3)) -> None:
    """Raise :class:`InputError` naming ``argument`` unless it is ``(N, J, D)`` fitting ``skeleton``."""
    shape = tuple(array.shape)
    if len(shape) != 3 or shape[-1] not in dims:
        want = " or ".join(f"(N, J, {d})" for d in dims)
        raise InputError(f"{argument}: expected shape {want}, got {shape}")
    if shape[0] == 0 or shape[1] == 0:
        raise InputError(f"{argument}: empty array of shape {shape}")
    if skeleton is not None:
        sk = get_skeleton(skeleton)
        if shape[1] != sk.num_joints:
            raise InputError(
                f"{argument}: {shape[1]} joints, but skeleton {sk.name} has {sk.num_joints}"
            )


def map_joints(joints: np.ndarray, source: str | None, target: str, path: str = "keypoints") -> tuple[np.ndarray, list[str]]:
    """(N, J_src, 2) in ``source``'s joint set -> (N, J_target, 2) by :func:`joint_map`, with the
    notes of what was derived or has no counterpart. ``source`` None: as is when the counts agree,
    else 17 joints are COCO's (coco17 -> h36m17 derives Pelvis = mid-hip, Thorax = mid-shoulder,
    Spine midway between them, Head = the nose moved away from the thorax by a quarter of the
    thorax-nose distance; coco17 -> panoptic19 derives BodyCenter = mid-hip, Neck = mid-shoulder)."""
    sk = get_skeleton(target)
    j = joints.shape[1]
    if source is None:
        if j == sk.num_joints:
            return joints, []
        if j == 17:
            source = "coco17"
        else:
            raise InputError(f"{path}: {j} joints per pose, but the lifter takes {sk.num_joints} ({sk.name}) "
                             "or 17 COCO keypoints")
    src = get_skeleton(source)
    if j != src.num_joints:
        raise InputError(f"{path}: {j} joints per pose, but {src.name} has {src.num_joints}")
    if src.name == sk.name:
        return joints, []
    m = joint_map(src, sk)
    missing = [sk.joint_names[k] for k in np.flatnonzero(~m.defined)]
    notes = list(m.notes) + ([f"{src.name} -> {sk.name}: no counterpart for {', '.join(missing)}"] if missing else [])
    return m(joints), notes
