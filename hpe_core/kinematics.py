"""Seed 004's forward kinematics: a canonical 3D pose from a hip-line angle, parent-relative unit
vectors in Gram-Schmidt frames and bone lengths (supplement, section 2), and its inverse.

The canonical frame: the pelvis at the origin, the neck on ``+Z`` at its bone length, the face
vector ``b = +X`` (``X = u x Z`` for the hip line ``u``, right hip -> left hip, so ``X`` points the
way the person faces), ``Y = Z x X``. The network's outputs are

- the neck-pelvis to hip-line angle ``psi`` as ``(sin psi, cos psi)``: ``u = sin psi Y + cos psi Z``;
- one unit vector per *limb joint* ``j`` in the frame of its parent limb: ``a`` along the parent
  bone ``Pa(Pa(j)) -> Pa(j)``, ``b`` the face vector made perpendicular to ``a`` (Gram-Schmidt),
  ``n = a x b``; ``g = v_x a + v_y b + v_z n`` and ``p(j) = p(Pa(j)) + length(j) g``.

The hips sit on the hip line (``hips="line"``, the seed: ``p(lHip) = L u``, ``p(rHip) = -L' u``,
exact for a pelvis on the line through the hips, as in BVH or Human3.6M skeletons) or are limb
joints whose parent limb is the hip line (``hips="frame"``, the default: exact for any pose, e.g.
the synthetic people whose hips sit below the body centre). The kinematic tree is the skeleton's
tree re-rooted at the pelvis, so every bone of the skeleton is a bone of the tree and keeps its
length. Bone lengths are indexed as in :func:`bone_lengths`: entry ``c``
is the length of the skeleton's bone ``parents[c] -> c`` (0 at the skeleton's root).

Torch throughout (differentiable, any float dtype); numpy arrays in give numpy arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from hpe_core.errors import InputError
from hpe_core.skeleton import Skeleton, get_skeleton

HipMode = Literal["frame", "line"]
FrameMode = Literal["face", "transport"]

#: (pelvis, neck, left hip, right hip) of each skeleton. Human3.6M's pelvis-to-neck bone is
#: Pelvis -> Spine (its only upward child), so its 13 limb joints are the seed's 13.
ANCHORS = {"panoptic19": ("BodyCenter", "Neck", "lHip", "rHip"),
           "h36m17": ("Pelvis", "Spine", "LHip", "RHip")}
_EPS = 1e-6


@dataclass(frozen=True)
class KinematicTree:
    """The FK tree of a skeleton: ``parents`` re-rooted at the pelvis, ``order`` parents first,
    ``limbs`` the joints that get a unit vector (all but pelvis and neck; not the hips in
    ``line`` mode), ``length_index[c]`` the skeleton bone whose length the tree edge into ``c`` has."""

    skeleton: Skeleton
    hips: HipMode
    pelvis: int
    neck: int
    left_hip: int
    right_hip: int
    parents: tuple[int, ...]
    order: tuple[int, ...]
    limbs: tuple[int, ...]
    length_index: tuple[int, ...]

    @property
    def num_outputs(self) -> int:
        """Width of a network output: 2 (angle) + 3 per limb joint."""
        return 2 + 3 * len(self.limbs)


@lru_cache(maxsize=None)
def _tree(name: str, hips: HipMode) -> KinematicTree:
    sk = get_skeleton(name)
    if name not in ANCHORS:
        raise InputError(f"skeleton {name}: no forward-kinematics anchors; supported: {', '.join(ANCHORS)}")
    pelvis, neck, lhip, rhip = (sk.index(n) for n in ANCHORS[name])
    adjacent: dict[int, list[int]] = {j: [] for j in range(sk.num_joints)}
    for c, p in enumerate(sk.parents):
        if p >= 0:
            adjacent[p].append(c)
            adjacent[c].append(p)
    parents = [-2] * sk.num_joints
    parents[pelvis] = -1
    order = [pelvis]
    for j in order:  # breadth first from the pelvis
        for k in sorted(adjacent[j]):
            if parents[k] == -2:
                parents[k] = j
                order.append(k)
    for j in (neck, lhip, rhip):
        if parents[j] != pelvis:
            raise InputError(f"skeleton {name}: {sk.joint_names[j]} is not a bone away from the pelvis")
    length_index = tuple(c if sk.parents[c] == p else p for c, p in enumerate(parents))
    special = {pelvis, neck} | ({lhip, rhip} if hips == "line" else set())
    limbs = tuple(j for j in order if j not in special)
    return KinematicTree(sk, hips, pelvis, neck, lhip, rhip, tuple(parents), tuple(order), limbs, length_index)


def kinematic_tree(skeleton: str | Skeleton, hips: HipMode = "frame") -> KinematicTree:
    """The :class:`KinematicTree` of ``skeleton`` (``panoptic19`` or ``h36m17``)."""
    if hips not in ("frame", "line"):
        raise InputError(f"hips: expected 'frame' or 'line', got {hips!r}")
    return _tree(get_skeleton(skeleton).name, hips)


@dataclass(frozen=True)
class FKParams:
    """A pose in FK parameters: ``angle`` (N, 2) = (sin, cos) of the hip-line angle, ``vectors``
    (N, K, 3) unit vectors of ``tree.limbs``, ``lengths`` (N, J) mm, and the rigid placement of the
    canonical pose in the input frame: ``rotation`` (N, 3, 3) (canonical = rotation @ (x - origin))
    and ``origin`` (N, 3), the pelvis."""

    angle: object
    vectors: object
    lengths: object
    rotation: object
    origin: object


# --------------------------------------------------------------------------- torch core
def _unit(v, eps: float = 1e-12):
    return v / v.norm(dim=-1, keepdim=True).clamp_min(eps)


def gram_schmidt_frame(a, face):
    """Rows ``(a, b, n)`` ``(..., 3, 3)``: unit ``a``, ``face`` made perpendicular to it, ``n = a x b``.
    Where ``a`` is parallel to ``face`` the frame uses ``+Y`` instead (a measure-zero case)."""
    import torch

    b = face - (face * a).sum(-1, keepdim=True) * a
    norm = b.norm(dim=-1, keepdim=True)
    alt = torch.zeros_like(a)
    alt[..., 1] = 1.0
    alt = alt - (alt * a).sum(-1, keepdim=True) * a
    b = torch.where(norm > _EPS, b / norm.clamp_min(_EPS), _unit(alt))
    return torch.stack([a, b, torch.linalg.cross(a, b)], dim=-2)


def _transport(v, x, y):
    """``v`` turned by the smallest rotation taking unit ``x`` to unit ``y`` (Rodrigues; ``x != -y``)."""
    import torch

    w = torch.linalg.cross(x, y)
    c = (x * y).sum(-1, keepdim=True)
    wv = torch.linalg.cross(w, v)
    return v + wv + torch.linalg.cross(w, wv) / (1 + c).clamp_min(1e-6)


def _frame_of(tree: KinematicTree, mode: str, c: int, dirs: list, frames: dict, face):
    """The frame the children of ``c`` read their vectors in: ``a`` along the bone into ``c``;
    ``b`` the face vector (``face`` mode, the seed) or, below the first limb level, the parent
    frame's ``b`` carried along by the smallest rotation from the parent bone to this one
    (``transport`` mode: never degenerate for a limb pointing forward)."""
    p = tree.parents[c]
    if mode == "face" or p == tree.pelvis:
        return gram_schmidt_frame(dirs[c], face)
    return gram_schmidt_frame(dirs[c], _transport(frames[p][:, 1], dirs[p], dirs[c]))


def _axes(like):
    import torch

    eye = torch.eye(3, dtype=like.dtype, device=like.device)
    return eye[0], eye[1], eye[2]


def _lengths(lengths, n: int, j: int, like):
    import torch

    lengths = torch.as_tensor(lengths, dtype=like.dtype, device=like.device)
    if lengths.shape not in ((j,), (n, j)):
        raise InputError(f"bone lengths: expected ({j},) or (N, {j}), got {tuple(lengths.shape)}")
    return lengths.expand(n, j)


def forward_kinematics(angle, vectors, lengths, skeleton: str | Skeleton, hips: HipMode = "frame",
                       frame_mode: FrameMode = "face"):
    """Canonical pose ``(N, J, 3)`` mm (pelvis at the origin) from ``angle`` (N, 2) = (sin, cos)
    of the hip-line angle, ``vectors`` (N, K, 3) for ``kinematic_tree(skeleton, hips).limbs`` and
    ``lengths`` (J,) or (N, J). Angle and vectors are normalised here; the result's bone lengths
    equal ``lengths`` exactly."""
    import torch

    if isinstance(angle, np.ndarray):
        out = forward_kinematics(torch.from_numpy(np.asarray(angle, np.float64)),
                                 torch.from_numpy(np.asarray(vectors, np.float64)), np.asarray(lengths, np.float64),
                                 skeleton, hips, frame_mode)
        return out.numpy()
    tree = kinematic_tree(skeleton, hips)
    n, j = angle.shape[0], tree.skeleton.num_joints
    if tuple(angle.shape) != (n, 2) or tuple(vectors.shape) != (n, len(tree.limbs), 3):
        raise InputError(f"FK parameters: expected angle (N, 2) and vectors (N, {len(tree.limbs)}, 3), "
                         f"got {tuple(angle.shape)} and {tuple(vectors.shape)}")
    L = _lengths(lengths, n, j, angle)
    X, Y, Z = _axes(angle)
    sc = _unit(angle)
    u = sc[:, :1] * Y + sc[:, 1:] * Z  # hip line, right -> left
    local = dict(zip(tree.limbs, _unit(vectors).unbind(1)))
    pos: list = [None] * j
    dirs: list = [None] * j
    pos[tree.pelvis] = angle.new_zeros(n, 3)
    dirs[tree.pelvis] = Z.expand(n, 3)  # the pelvis's virtual limb, for any other child of it
    frames = {tree.pelvis: gram_schmidt_frame(dirs[tree.pelvis], X)}
    for c in tree.order[1:]:
        p = tree.parents[c]
        dirs[c] = _bone_direction(tree, c, local, frames, u, (X, Z))
        frames[c] = _frame_of(tree, frame_mode, c, dirs, frames, X)
        pos[c] = pos[p] + L[:, tree.length_index[c], None] * dirs[c]
    return torch.stack(pos, dim=1)


def _bone_direction(tree: KinematicTree, c: int, local: dict, frames: dict, u, axes):
    """The unit direction ``(N, 3)`` of the tree edge into ``c``: the neck straight up (``Z``),
    the hips along the hip line ``u`` (``line`` mode), any other joint its local vector read in
    its parent's frame (a hip's parent frame is the hip line's)."""
    import torch

    X, Z = axes
    n = u.shape[0]
    if c == tree.neck:
        return Z.expand(n, 3)
    hip = c in (tree.left_hip, tree.right_hip)
    if hip and tree.hips == "line":
        return u if c == tree.left_hip else -u
    frame = gram_schmidt_frame(u, X) if hip else frames[tree.parents[c]]
    return _unit(torch.einsum("nk,nkd->nd", local[c], frame))


def canonical_rotation(joints, skeleton: str | Skeleton):
    """``(N, 3, 3)`` rotations whose rows are the canonical axes (X, Y, Z) of ``joints`` (N, J, 3)
    in its frame: ``canonical = (joints - pelvis) @ R^T``."""
    import torch

    tree = kinematic_tree(skeleton)
    P = joints - joints[:, tree.pelvis:tree.pelvis + 1]
    Z = _unit(P[:, tree.neck])
    u = _unit(P[:, tree.left_hip] - P[:, tree.right_hip])
    X = _unit(torch.linalg.cross(u, Z))
    Y = torch.linalg.cross(Z, X)
    return torch.stack([X, Y, Z], dim=1)


def canonicalize(joints, skeleton: str | Skeleton):
    """``joints`` (N, J, 3) in any frame -> the same pose in the canonical frame (pelvis at 0)."""
    if isinstance(joints, np.ndarray):
        import torch

        return canonicalize(torch.from_numpy(np.asarray(joints, np.float64)), skeleton).numpy()
    tree = kinematic_tree(skeleton)
    R = canonical_rotation(joints, skeleton)
    return (joints - joints[:, tree.pelvis:tree.pelvis + 1]) @ R.transpose(1, 2)


def inverse_kinematics(joints, skeleton: str | Skeleton, hips: HipMode = "frame",
                       frame_mode: FrameMode = "face") -> FKParams:
    """The FK parameters of ``joints`` (N, J, 3) mm: ``FK(IK(x))`` is ``x`` in the canonical frame,
    and ``from_canonical(FK(...), p.rotation, p.origin)`` is ``x`` itself (exact in ``frame`` mode;
    in ``line`` mode for poses whose pelvis is on the line through the hips)."""
    if isinstance(joints, np.ndarray):
        import torch

        p = inverse_kinematics(torch.from_numpy(np.asarray(joints, np.float64)), skeleton, hips, frame_mode)
        return FKParams(*(t.numpy() for t in (p.angle, p.vectors, p.lengths, p.rotation, p.origin)))
    import torch

    tree = kinematic_tree(skeleton, hips)
    if joints.ndim != 3 or joints.shape[1:] != (tree.skeleton.num_joints, 3):
        raise InputError(f"joints: expected (N, {tree.skeleton.num_joints}, 3), got {tuple(joints.shape)}")
    R = canonical_rotation(joints, skeleton)
    C = canonicalize(joints, skeleton)
    n, j = C.shape[:2]
    X, _, Z = _axes(C)
    u = _unit(C[:, tree.left_hip] - C[:, tree.right_hip])
    angle = torch.stack([u[:, 1], u[:, 2]], dim=1)
    lengths = C.new_zeros(n, j)
    dirs: list = [None] * j
    dirs[tree.pelvis] = Z.expand(n, 3)
    frames = {tree.pelvis: gram_schmidt_frame(dirs[tree.pelvis], X)}
    vectors = {}
    for c in tree.order[1:]:
        p = tree.parents[c]
        bone = C[:, c] - C[:, p]
        lengths[:, tree.length_index[c]] = bone.norm(dim=-1)
        g = _unit(bone)
        dirs[c] = g
        if c in tree.limbs:
            frame = gram_schmidt_frame(u, X) if c in (tree.left_hip, tree.right_hip) else frames[p]
            vectors[c] = torch.einsum("nkd,nd->nk", frame, g)
        frames[c] = _frame_of(tree, frame_mode, c, dirs, frames, X)
    vec = torch.stack([vectors[c] for c in tree.limbs], dim=1)
    return FKParams(angle, vec, lengths, R, joints[:, tree.pelvis].clone())


def from_canonical(canonical, rotation, origin):
    """Canonical poses (N, J, 3) back into the frame :func:`inverse_kinematics` read them in."""
    return canonical @ rotation + origin[:, None, :]


def bone_lengths(joints, skeleton: str | Skeleton) -> np.ndarray:
    """``(N, J)`` lengths of the skeleton's bones, entry ``c`` for the bone into ``c`` (0 at the root)."""
    sk = get_skeleton(skeleton)
    x = np.asarray(joints, dtype=np.float64)
    out = np.zeros(x.shape[:2])
    for c, p in enumerate(sk.parents):
        if p >= 0:
            out[:, c] = np.linalg.norm(x[:, c] - x[:, p], axis=-1)
    return out


def mean_bone_lengths(joints, skeleton: str | Skeleton) -> np.ndarray:
    """``(J,)`` mean bone lengths (mm) of the poses ``joints`` (N, J, 3), NaN poses ignored."""
    lengths = bone_lengths(joints, skeleton)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(lengths), lengths, np.nan), axis=0)
    if not np.all(np.isfinite(mean)):
        raise InputError("bone lengths: no finite pose to average")
    return mean
