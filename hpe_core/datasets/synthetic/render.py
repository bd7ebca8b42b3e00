"""Draw one view of a synthetic person with OpenCV: a painter's algorithm over shaded capsules.

Body parts (torso and pelvis as convex hulls, limbs as capsules with a light-side highlight,
a head of skin and hair spheres with eyes and nose on the front, feet pointing forward, a chest
print on the front only) are sorted by camera depth and drawn far to near, so self-occlusion is
right. The floor, its grid and the person's shadow are projected through the same camera.
"""

from __future__ import annotations

import cv2
import numpy as np

from hpe_core.datasets.synthetic.appearance import Look

SHIFT = 4
ONE = 1 << SHIFT
AA = cv2.LINE_AA
NEAR = 50.0  # mm; points closer to the camera than this are not drawn
# Auxiliary world points appended after the 19 joints (see ``aux_points``).
AUX = ("head", "face", "hair", "l_toe", "r_toe", "l_hand", "r_hand", "chest", "stool_top",
       "stool_base", "shadow")
_J = {name: j for j, name in enumerate(("Neck", "Nose", "BodyCenter", "lShoulder", "lElbow", "lWrist",
                                         "lHip", "lKnee", "lAnkle", "rShoulder", "rElbow", "rWrist",
                                         "rHip", "rKnee", "rAnkle", "lEye", "lEar", "rEye", "rEar"))}
_A = {name: 19 + k for k, name in enumerate(AUX)}


def _unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def aux_points(joints: np.ndarray, frames: dict, head_radius: np.ndarray, foot: np.ndarray) -> np.ndarray:
    """(N, len(AUX), 3) world points the renderer needs besides the joints (N, 19, 3)."""
    h = frames["head"]
    r = head_radius[:, None]
    ears = 0.5 * (joints[:, _J["lEar"]] + joints[:, _J["rEar"]])
    head = ears + 0.15 * r * h["up"] + 0.12 * r * h["fwd"]
    down = -frames["up0"]
    out = [head, head + 0.3 * r * h["fwd"], head - 0.2 * r * h["fwd"] + 0.12 * r * h["up"]]
    for s in "lr":
        shin = _unit(joints[:, _J[f"{s}Ankle"]] - joints[:, _J[f"{s}Knee"]])
        toe = frames["fwd0"] - (frames["fwd0"] * shin).sum(-1, keepdims=True) * shin
        toe = np.where(np.linalg.norm(toe, axis=-1, keepdims=True) < 0.2, down, _unit(toe))
        out.append(joints[:, _J[f"{s}Ankle"]] + foot[:, None] * toe + 0.4 * 75.0 * down)
    for s in "lr":
        forearm = _unit(joints[:, _J[f"{s}Wrist"]] - joints[:, _J[f"{s}Elbow"]])
        out.append(joints[:, _J[f"{s}Wrist"]] + 0.6 * head_radius[:, None] * forearm)
    neck, centre = joints[:, _J["Neck"]], joints[:, _J["BodyCenter"]]
    out.append(neck + 0.3 * (centre - neck) + 1.1 * head_radius[:, None] * frames["fwd"])
    seat = centre + 0.9 * head_radius[:, None] * down
    base = seat.copy()
    base[:, 1] = 0.0
    shadow = centre.copy()
    shadow[:, 1] = 0.0
    out += [seat, base, shadow]
    return np.stack(out, axis=1)


def _shade(colour, factor: float) -> tuple:
    return tuple(int(min(255, max(0, c * factor))) for c in colour)


def _p(uv) -> tuple:
    return int(round(uv[0] * ONE)), int(round(uv[1] * ONE))


class View:
    """Projection of one pose through one camera, and the drawing of it onto ``img``."""

    def __init__(self, img: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray,
                 points_w: np.ndarray, light_w: np.ndarray) -> None:
        self.img, self.R, self.t = img, R, t
        self.f, self.centre = float(K[0, 0]), K[:2, 2]
        self.pc = points_w @ R.T + t
        self.ok = self.pc[:, 2] > NEAR
        self.uv = self.project(self.pc)
        light = R @ light_w
        self.light_c = light
        self.light2d = light[:2] / max(np.linalg.norm(light[:2]), 1e-6)

    def project(self, pc: np.ndarray) -> np.ndarray:
        return self.f * pc[:, :2] / np.maximum(pc[:, 2:3], NEAR) + self.centre

    def radius(self, mm: float, i: int) -> float:
        return mm * self.f / max(self.pc[i, 2], NEAR)

    def facing(self, normal_w: np.ndarray, i: int) -> float:
        """Cosine between a world normal at point ``i`` and the direction to the camera."""
        n = self.R @ normal_w
        to_cam = -self.pc[i] / max(np.linalg.norm(self.pc[i]), 1e-9)
        return float(n @ to_cam)

    def diffuse(self, normal_w: np.ndarray, ambient: float = 0.55) -> float:
        return ambient + (1 - ambient) * max(0.0, float((self.R @ normal_w) @ self.light_c))

    def capsule(self, i: int, j: int, mm: float, colour) -> None:
        if not (self.ok[i] and self.ok[j]):
            return
        r = 0.5 * (self.radius(mm, i) + self.radius(mm, j))
        a, b = self.uv[i], self.uv[j]
        cv2.line(self.img, _p(a), _p(b), _shade(colour, 0.6), max(1, int(round(2 * r))), AA, SHIFT)
        if r >= 1.5:
            off = self.light2d * 0.28 * r
            cv2.line(self.img, _p(a + off), _p(b + off), colour, max(1, int(round(1.2 * r))), AA, SHIFT)

    def disc(self, i: int, mm: float, colour, outline: bool = True) -> None:
        if not self.ok[i]:
            return
        r = self.radius(mm, i)
        if outline:
            cv2.circle(self.img, _p(self.uv[i]), int(round(r * ONE)), _shade(colour, 0.6), -1, AA, SHIFT)
            r = max(r - 1.0, 0.5)
        cv2.circle(self.img, _p(self.uv[i]), int(round(r * ONE)), colour, -1, AA, SHIFT)

    def hull(self, points_w: np.ndarray, colour, edge: float) -> None:
        """Fill the convex hull of the projected world points (K, 3) with a rounded edge."""
        pc = points_w @ self.R.T + self.t
        if np.any(pc[:, 2] <= NEAR):
            return
        hull = cv2.convexHull(np.round(self.project(pc) * ONE).astype(np.int32))
        cv2.fillConvexPoly(self.img, hull, colour, AA, SHIFT)
        cv2.polylines(self.img, [hull], True, _shade(colour, 0.7), max(1, int(round(edge))), AA, SHIFT)


def draw_person(view: View, joints_w: np.ndarray, frames: dict, radii: dict, look: Look,
                seated: bool) -> None:
    """Draw the person far to near; ``frames`` holds this pose's world unit vectors (3,)."""
    J, A = _J, _A
    prims = []  # (depth, callable)

    def add(depth, fn, *args):
        prims.append((depth, len(prims), fn, args))

    z = view.pc[:, 2]
    fwd_t, fwd0 = frames["fwd"], frames["fwd0"]
    front = view.facing(fwd_t, A["chest"]) > 0
    depth_t = 0.55 * radii["torso"] * 2
    torso_pts = np.concatenate([joints_w[[J["lShoulder"], J["rShoulder"], J["lHip"], J["rHip"]]] + s * depth_t * fwd_t
                                for s in (-0.5, 0.5)])
    lit = view.diffuse(fwd_t if front else -fwd_t)
    torso_z = z[[J["lShoulder"], J["rShoulder"], J["lHip"], J["rHip"]]].mean() + 25
    add(torso_z, _torso, view, torso_pts, look, lit, front, radii)
    pelvis = np.concatenate([joints_w[[J["lHip"], J["rHip"], J["BodyCenter"]]] + s * depth_t * fwd0
                             for s in (-0.5, 0.5)])
    add(z[[J["lHip"], J["rHip"]]].mean() + 30, view.hull, pelvis, _shade(look.pants, lit), view.radius(radii["thigh"] * 0.6, J["BodyCenter"]))
    add(z[J["Neck"]] + 15, view.capsule, J["Neck"], A["head"], radii["neck"], _shade(look.skin, 0.95))
    for s in "lr":
        sleeve = look.shirt if look.long_sleeves else look.skin
        legs = look.pants if look.long_pants else look.skin
        for a, b, mm, col in ((f"{s}Shoulder", f"{s}Elbow", radii["upper_arm"], look.shirt),
                              (f"{s}Elbow", f"{s}Wrist", radii["forearm"], sleeve),
                              (f"{s}Hip", f"{s}Knee", radii["thigh"], look.pants),
                              (f"{s}Knee", f"{s}Ankle", radii["shin"], legs)):
            add(0.5 * (z[J[a]] + z[J[b]]), view.capsule, J[a], J[b], mm, col)
        add(z[A[f"{s}_hand"]], view.disc, A[f"{s}_hand"], radii["hand"], look.skin)
        add(0.5 * (z[J[f"{s}Ankle"]] + z[A[f"{s}_toe"]]), view.capsule, J[f"{s}Ankle"], A[f"{s}_toe"],
            radii["foot"], look.shoes)
    add(z[A["head"]], _head, view, frames["head"], radii["head"], look)
    if seated:
        add(z[A["stool_top"]] + 60, view.capsule, A["stool_top"], A["stool_base"], radii["thigh"] * 1.6,
            (95, 70, 50))
    for _, _, fn, args in sorted(prims, key=lambda p: (-p[0], p[1])):
        fn(*args)


def _torso(view: View, pts, look: Look, lit: float, front: bool, radii: dict) -> None:
    edge = view.radius(radii["upper_arm"] * 0.9, _J["Neck"])
    view.hull(pts, _shade(look.shirt, lit), edge)
    if front:
        view.disc(_A["chest"], radii["torso"] * 0.45, _shade(look.print_, lit), outline=False)


def _head(view: View, head: dict, radius: float, look: Look) -> None:
    A = _A
    parts = [(view.pc[A["hair"], 2], A["hair"], 0.95 * radius, look.hair),
             (view.pc[A["face"], 2], A["face"], 0.8 * radius, look.skin)]
    for _, i, mm, colour in sorted(parts, key=lambda p: -p[0]):
        view.disc(i, mm, colour)
    if view.facing(head["fwd"], A["head"]) < 0.05:
        return
    for eye in ("lEye", "rEye"):
        if view.ok[_J[eye]] and view.facing(view.R.T @ (view.pc[_J[eye]] - view.pc[A["head"]]), _J[eye]) > 0.1:
            view.disc(_J[eye], 0.1 * radius, (30, 25, 25), outline=False)
    view.disc(_J["Nose"], 0.12 * radius, _shade(look.skin, 0.78), outline=False)


def draw_floor(view: View, K, floor_colour, rng: np.random.Generator, size: int, shadow_mm: float) -> None:
    """Fill the floor below the horizon, draw its grid and the person's shadow."""
    ry = view.R[:, 1]  # world y (down) in camera coordinates: floor rays have ry . d > 0
    f, c = K[0, 0], K[:2, 2]
    corners = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64) - 0.5
    g = lambda uv: ry[0] * (uv[..., 0] - c[0]) / f + ry[1] * (uv[..., 1] - c[1]) / f + ry[2]
    poly = _clip_polygon(corners, g)
    if len(poly) >= 3:
        cv2.fillConvexPoly(view.img, np.round(poly * ONE).astype(np.int32), floor_colour, AA, SHIFT)
    spacing = rng.uniform(400, 900)
    line = _shade(floor_colour, rng.uniform(0.6, 0.85))
    ks = np.arange(-6, 7) * spacing
    for k in ks:
        for a, b in (((k, -6 * spacing), (k, 6 * spacing)), ((-6 * spacing, k), (6 * spacing, k))):
            _segment(view, np.array([a[0], 0.0, a[1]]), np.array([b[0], 0.0, b[1]]), line)
    centre = view.pc[_A["shadow"]]
    if centre[2] > NEAR:
        ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        ring_w = np.stack([np.cos(ang), np.zeros_like(ang), np.sin(ang)], -1) * shadow_mm
        pc = ring_w @ view.R.T + centre
        if np.all(pc[:, 2] > NEAR):
            uv = f * pc[:, :2] / pc[:, 2:3] + c
            cv2.fillConvexPoly(view.img, np.round(uv * ONE).astype(np.int32), _shade(floor_colour, 0.7), AA, SHIFT)


def _segment(view: View, a_w, b_w, colour) -> None:
    a, b = view.R @ a_w + view.t, view.R @ b_w + view.t
    if a[2] <= NEAR and b[2] <= NEAR:
        return
    if a[2] <= NEAR or b[2] <= NEAR:
        s = (NEAR - a[2]) / (b[2] - a[2])
        cut = a + s * (b - a)
        a, b = (cut, b) if a[2] <= NEAR else (a, cut)
    uv = view.project(np.stack([a, b]))
    cv2.line(view.img, _p(uv[0]), _p(uv[1]), colour, 1, AA, SHIFT)


def _clip_polygon(poly: np.ndarray, g) -> np.ndarray:
    """Sutherland-Hodgman clip of ``poly`` (K, 2) to the half-plane ``g(uv) > 0`` (g affine)."""
    out = []
    vals = g(poly)
    for k in range(len(poly)):
        p, q, gp, gq = poly[k], poly[(k + 1) % len(poly)], vals[k], vals[(k + 1) % len(poly)]
        if gp > 0:
            out.append(p)
        if (gp > 0) != (gq > 0):
            out.append(p + (q - p) * (gp / (gp - gq)))
    return np.array(out)
