"""Seed 004's part maps (supplement, section 1): a differentiable renderer of body-part maps
from 2D joints.

Each part has one canonical template, aligned with +x, its two anchors at ``x = -0.5`` and
``x = +0.5`` of the template's ``[-1, 1]`` square. The per-part spatial transform maps every
output pixel ``u'`` to the template: a rotation by ``theta = -atan2(dy, dx)`` of the anchor vector
``d = q2 - q1``, a translation by the anchors' midpoint ``mu``, a scale along x of
``|r2 - r1| / |q2 - q1|`` and, for limbs, none across (``gamma_y = 1``: a limb keeps its width in
pixels). The torso is anchored on its four joints: the line from the hips' midpoint to the
shoulders' midpoint gives rotation and x-scale, the shoulder and hip widths the y-scale. The
template is read with ``grid_sample`` (bilinear), so the maps are differentiable in the joints.

Widths are fractions of the map size, fitted to person-centred crops in which a 1.75 m person
spans about two thirds of the height (the synthetic set; the seed's crops are alike).
``render_part_maps(joints_2d, skeleton, size)`` -> ``(N, P, H, W)`` in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError
from hpe_core.skeleton import Skeleton, get_skeleton

TEMPLATE_SIZE = 64
_SOFT = 10.0  # steepness of the template's edge


@dataclass(frozen=True)
class Part:
    """A body part: ``kind`` limb (anchors ``a`` -> ``b``, each the mean of its joints) or torso
    (``a`` = (left shoulder, right shoulder), ``b`` = (left hip, right hip)); ``width`` and
    ``length`` (nominal, for the shape of the rounded ends) as fractions of the map size."""

    name: str
    kind: str
    a: tuple[str, ...]
    b: tuple[str, ...]
    width: float
    length: float = 0.12


def _limbs(sh, el, wr, hip, kn, an, side):
    return (Part(f"{side}_upper_arm", "limb", (sh,), (el,), 0.036, 0.12),
            Part(f"{side}_forearm", "limb", (el,), (wr,), 0.031, 0.10),
            Part(f"{side}_thigh", "limb", (hip,), (kn,), 0.058, 0.17),
            Part(f"{side}_shin", "limb", (kn,), (an,), 0.043, 0.17))


PARTS: dict[str, tuple[Part, ...]] = {
    "panoptic19": (Part("torso", "torso", ("lShoulder", "rShoulder"), ("lHip", "rHip"), 0.045, 0.22),
                   Part("head", "head", ("Neck",), ("lEar", "rEar"), 0.070, 0.07),
                   *_limbs("lShoulder", "lElbow", "lWrist", "lHip", "lKnee", "lAnkle", "l"),
                   *_limbs("rShoulder", "rElbow", "rWrist", "rHip", "rKnee", "rAnkle", "r")),
    "h36m17": (Part("torso", "torso", ("LShoulder", "RShoulder"), ("LHip", "RHip"), 0.045, 0.22),
               Part("head", "head", ("Thorax",), ("Head",), 0.070, 0.07),
               *_limbs("LShoulder", "LElbow", "LWrist", "LHip", "LKnee", "LAnkle", "l"),
               *_limbs("RShoulder", "RElbow", "RWrist", "RHip", "RKnee", "RAnkle", "r")),
}
#: one colour (RGB 0..1) per part name, for pictures
PART_COLOURS = {"torso": (0.95, 0.75, 0.2), "head": (0.9, 0.9, 0.9), "l_upper_arm": (0.2, 0.45, 0.95),
                "l_forearm": (0.35, 0.75, 1.0), "l_thigh": (0.1, 0.6, 0.5), "l_shin": (0.4, 0.9, 0.6),
                "r_upper_arm": (0.95, 0.25, 0.2), "r_forearm": (1.0, 0.55, 0.45), "r_thigh": (0.7, 0.2, 0.6),
                "r_shin": (0.95, 0.5, 0.85)}


def parts_of(skeleton: str | Skeleton) -> tuple[Part, ...]:
    sk = get_skeleton(skeleton)
    if sk.name not in PARTS:
        raise InputError(f"part maps: no parts defined for skeleton {sk.name}; supported: {', '.join(PARTS)}")
    return PARTS[sk.name]


def _template(part: Part, size: int = TEMPLATE_SIZE):
    """(size, size) canonical map of ``part`` on the template square ``[-1, 1]^2`` (x along)."""
    import torch

    c = (torch.arange(size, dtype=torch.float64) + 0.5) / size * 2 - 1
    eta, xi = torch.meshgrid(c, c, indexing="ij")
    if part.kind == "torso":  # a rounded box: hips to shoulders, plus a little above and below
        dx = (xi.abs() - 0.5).clamp_min(0) / 0.12
        dy = (eta.abs() - 0.36).clamp_min(0) / 0.14
        r = torch.sqrt(dx ** 2 + dy ** 2)
    else:
        cap = 0.5 * part.width / part.length  # round ends of the width's radius at nominal length
        end = 0.5 + (0.6 * part.width / part.length if part.kind == "head" else 0.0)
        dx = (xi.abs() - 0.5).clamp_min(0)
        dx = torch.where(xi > 0, (xi - end).clamp_min(0), dx) / cap
        dy = eta.abs() / 0.5
        r = torch.sqrt(dx ** 2 + dy ** 2)
    return torch.sigmoid((1 - r) * _SOFT)


def templates(skeleton: str | Skeleton, size: int = TEMPLATE_SIZE):
    """``(P, size, size)`` float32 canonical templates of the skeleton's parts."""
    import torch

    return torch.stack([_template(p, size) for p in parts_of(skeleton)]).float()


def _anchor(joints, names: tuple[str, ...], sk: Skeleton):
    idx = [sk.index(n) for n in names]
    return joints[:, idx].mean(dim=1)


def render_part_maps(joints_2d, skeleton: str | Skeleton, size: int | tuple[int, int],
                     width_scale: float = 1.0):
    """Part maps ``(N, P, H, W)`` in [0, 1] from 2D joints ``(N, J, 2)`` px of an ``H x W`` image.

    Differentiable in ``joints_2d`` (a torch tensor; numpy arrays give a numpy result). Parts
    whose joints are not finite come out empty. ``width_scale`` widens or narrows every part.
    """
    if isinstance(joints_2d, np.ndarray):
        import torch

        return render_part_maps(torch.from_numpy(joints_2d.astype(np.float32)), skeleton, size,
                                width_scale).numpy()
    import torch
    import torch.nn.functional as F

    sk = get_skeleton(skeleton)
    h, w = (size, size) if isinstance(size, int) else size
    if joints_2d.ndim != 3 or joints_2d.shape[1:] != (sk.num_joints, 2):
        raise InputError(f"joints_2d: expected (N, {sk.num_joints}, 2) for {sk.name}, got {tuple(joints_2d.shape)}")
    parts = parts_of(sk)
    n, dtype, device = joints_2d.shape[0], joints_2d.dtype, joints_2d.device
    finite = torch.isfinite(joints_2d).all(-1)
    q = torch.nan_to_num(joints_2d)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=dtype, device=device), torch.arange(w, dtype=dtype, device=device),
                            indexing="ij")
    pix = torch.stack([xs, ys], -1)  # pixel centres u' (H, W, 2)
    scale = float(min(h, w)) * width_scale
    grid = torch.stack([_part_grid(part, q, pix, sk, scale) for part in parts], 1).reshape(n * len(parts), h, w, 2)
    alive = torch.stack([finite[:, [sk.index(j) for j in part.a + part.b]].all(-1) for part in parts], 1)
    tmpl = templates(sk).to(dtype=dtype, device=device)
    tmpl = tmpl[None].expand(n, -1, -1, -1).reshape(n * len(parts), 1, TEMPLATE_SIZE, TEMPLATE_SIZE)
    maps = F.grid_sample(tmpl, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return maps.reshape(n, len(parts), h, w) * alive.to(dtype)[..., None, None]


def _part_grid(part: Part, q, pix, sk: Skeleton, scale: float):
    """``(N, H, W, 2)``: where each pixel of ``pix`` ``(H, W, 2)`` falls on ``part``'s template
    (``xi`` along, anchors at +-0.5; ``eta`` across) for the joints ``q`` ``(N, J, 2)``."""
    import torch

    a, b = _anchor(q, part.a, sk), _anchor(q, part.b, sk)
    if part.kind == "torso":  # the axis runs from the hips (x = -0.5) to the shoulders (+0.5)
        a, b = b, a
    d = b - a
    length2 = (d ** 2).sum(-1).clamp_min(1e-6)
    normal = torch.stack([-d[:, 1], d[:, 0]], -1) / length2.sqrt()[:, None]
    across = _across(part, q, normal, sk, scale)
    v = pix[None] - (0.5 * (a + b))[:, None, None]  # translation by the midpoint mu
    xi = (v * d[:, None, None]).sum(-1) / length2[:, None, None]  # rotation + x-scale: anchors at +-0.5
    eta = (v * normal[:, None, None]).sum(-1) / across[:, None, None]  # across: gamma_y = 1 for limbs
    return torch.stack([xi, eta], -1)


def _across(part: Part, q, normal, sk: Skeleton, scale: float):
    """``(N,)`` the part's half-extent across its axis in pixels: its width for a limb; for the
    torso, the shoulder and hip widths across the axis, with its depth when seen from the side."""
    import torch

    if part.kind != "torso":
        return torch.full((q.shape[0],), part.width * scale, dtype=q.dtype, device=q.device)
    ls, rs, lh, rh = (q[:, sk.index(j)] for j in part.a + part.b)
    across = 0.5 * (((ls - rs) * normal).sum(-1).abs() + ((lh - rh) * normal).sum(-1).abs())
    return torch.sqrt(across ** 2 + (part.width * scale) ** 2)


def colour_parts(maps: np.ndarray, skeleton: str | Skeleton) -> np.ndarray:
    """``(P, H, W)`` maps -> ``(H, W, 4)`` float RGBA picture (each pixel the colour of its
    strongest part, alpha its value)."""
    parts = parts_of(skeleton)
    maps = np.asarray(maps, dtype=np.float32)
    colours = np.array([PART_COLOURS.get(p.name, (1.0, 1.0, 1.0)) for p in parts], dtype=np.float32)
    strongest = maps.argmax(axis=0)
    rgba = np.zeros(maps.shape[1:] + (4,), dtype=np.float32)
    rgba[..., :3] = colours[strongest]
    rgba[..., 3] = maps.max(axis=0)
    return rgba


# ----------------------------------------------------------------------------- hpe parts
