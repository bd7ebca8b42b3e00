"""Joint sets as frozen dataclasses: one definition each, read by the renderer, the metrics,
the flips of the augmentations and the readers.

- ``panoptic19``: CMU Panoptic coco19 order; root = Neck (as in seed 000).
- ``h36m17``: Human3.6M 17 joints in VideoPose3D order; root = pelvis.
- ``coco17``: COCO keypoints (2D); root = nose.
"""

from __future__ import annotations

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

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (PANOPTIC19, H36M17, COCO17)}

# Joints that mean the same body point in both sets: (h36m17 index, panoptic19 index).
_H36M_PANOPTIC = (
    (0, 2),    # Pelvis    ~ BodyCenter
    (1, 12), (2, 13), (3, 14),   # right leg
    (4, 6), (5, 7), (6, 8),      # left leg
    (8, 0),    # Thorax    ~ Neck
    (9, 1),    # Nose
    (11, 3), (12, 4), (13, 5),   # left arm
    (14, 9), (15, 10), (16, 11),  # right arm
)


def get_skeleton(name: str | Skeleton) -> Skeleton:
    """The skeleton called ``name``; an :class:`InputError` lists the valid names."""
    if isinstance(name, Skeleton):
        return name
    try:
        return SKELETONS[name]
    except KeyError:
        raise InputError(f"unknown skeleton {name!r}; choose one of: {', '.join(SKELETONS)}") from None


def correspondence(source: str | Skeleton, target: str | Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays ``(src_idx, dst_idx)`` of joints that correspond between two skeletons."""
    src, dst = get_skeleton(source), get_skeleton(target)
    if src.name == dst.name:
        idx = np.arange(src.num_joints)
        return idx, idx
    pairs = {("h36m17", "panoptic19"): _H36M_PANOPTIC,
             ("panoptic19", "h36m17"): tuple((b, a) for a, b in _H36M_PANOPTIC)}
    if (src.name, dst.name) not in pairs:
        raise InputError(f"no joint correspondence between {src.name} and {dst.name}")
    table = np.array(pairs[(src.name, dst.name)])
    return table[:, 0], table[:, 1]


def convert_joints(joints: np.ndarray, source: str | Skeleton, target: str | Skeleton) -> np.ndarray:
    """Map ``(..., J_src, D)`` joints onto ``target``; joints with no counterpart are NaN."""
    src, dst = get_skeleton(source), get_skeleton(target)
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim < 2 or joints.shape[-2] != src.num_joints:
        raise InputError(
            f"joints: expected (..., {src.num_joints}, D) for {src.name}, got shape {joints.shape}"
        )
    s_idx, d_idx = correspondence(src, dst)
    out = np.full(joints.shape[:-2] + (dst.num_joints, joints.shape[-1]), np.nan)
    out[..., d_idx, :] = joints[..., s_idx, :]
    return out


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


# coco17 indices
_NOSE, _LEYE, _REYE, _LEAR, _REAR, _LSH, _RSH, _LEL, _REL, _LWR, _RWR, _LHIP, _RHIP, _LKN, _RKN, _LAN, _RAN = range(17)


def map_joints(joints: np.ndarray, source: str | None, target: str, path: str = "keypoints") -> tuple[np.ndarray, list[str]]:
    """(N, J_src, 2) in ``source``'s joint set -> (N, J_target, 2), with the notes of what was derived.

    ``source`` None: as is when the counts agree, else 17 joints are COCO's. coco17 -> h36m17 as
    usual (Pelvis = mid-hip, Thorax = mid-shoulder, Spine midway between them, Head = the nose moved
    away from the thorax by a quarter of the thorax-nose distance) and coco17 -> panoptic19
    (BodyCenter = mid-hip, Neck = mid-shoulder); other sets by their shared joint names."""
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
    if src.name == "coco17" and sk.name in ("h36m17", "panoptic19"):
        return _from_coco(joints, sk.name)
    out = convert_joints(joints, src, sk)
    missing = [sk.joint_names[k] for k in range(sk.num_joints) if np.isnan(out[:, k]).all()]
    return out, [f"{src.name} -> {sk.name}: no counterpart for {', '.join(missing)}"] if missing else []


def _mid(a, b):
    return (a + b) / 2.0


def _from_coco(c: np.ndarray, target: str) -> tuple[np.ndarray, list[str]]:
    pelvis, thorax = _mid(c[:, _LHIP], c[:, _RHIP]), _mid(c[:, _LSH], c[:, _RSH])
    if target == "panoptic19":
        order = [thorax, c[:, _NOSE], pelvis, c[:, _LSH], c[:, _LEL], c[:, _LWR], c[:, _LHIP], c[:, _LKN], c[:, _LAN],
                 c[:, _RSH], c[:, _REL], c[:, _RWR], c[:, _RHIP], c[:, _RKN], c[:, _RAN],
                 c[:, _LEYE], c[:, _LEAR], c[:, _REYE], c[:, _REAR]]
        return np.stack(order, 1), ["coco17 -> panoptic19: Neck derived as the mid-shoulder point, "
                                    "BodyCenter as the mid-hip point"]
    nose = c[:, _NOSE]
    spine = _mid(pelvis, thorax)
    head = nose + 0.25 * (nose - thorax)
    order = [pelvis, c[:, _RHIP], c[:, _RKN], c[:, _RAN], c[:, _LHIP], c[:, _LKN], c[:, _LAN], spine, thorax, nose,
             head, c[:, _LSH], c[:, _LEL], c[:, _LWR], c[:, _RSH], c[:, _REL], c[:, _RWR]]
    return np.stack(order, 1), ["coco17 -> h36m17: Pelvis derived as the mid-hip point, Thorax as the "
                                "mid-shoulder point, Spine midway between them, Head from the nose and thorax"]
