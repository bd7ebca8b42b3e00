"""Cameras and projection, Procrustes/Kabsch alignment, rotations.

Conventions (DESIGN.md): 3D joints in millimetres, camera frame x right, y down, z forward
(OpenCV). A camera maps world points by ``X_cam = R @ X_world + t``. Distortion coefficients
follow OpenCV's order ``(k1, k2, p1, p2, k3)``.

Alignment functions accept numpy arrays or torch tensors and return the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hpe_core.errors import InputError

AlignMode = Literal["rotation", "rigid", "similarity"]


# --------------------------------------------------------------------------- cameras
@dataclass(frozen=True)
class Camera:
    """A calibrated pinhole camera with OpenCV distortion."""

    K: np.ndarray  # (3, 3)
    R: np.ndarray = field(default_factory=lambda: np.eye(3))  # (3, 3) world -> camera
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))  # (3,) in mm
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))  # (k1, k2, p1, p2, k3)
    width: int = 0
    height: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "K", _as_matrix(self.K, (3, 3), "K"))
        object.__setattr__(self, "R", _as_matrix(self.R, (3, 3), "R"))
        object.__setattr__(self, "t", _as_matrix(self.t, (3,), "t"))
        d = np.zeros(5)
        dist = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        if dist.size > 5:
            raise InputError(f"camera {self.name or ''}: distortion has {dist.size} > 5 coefficients")
        d[: dist.size] = dist
        object.__setattr__(self, "dist", d)

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates, ``-R^T t``."""
        return -self.R.T @ self.t

    def to_dict(self) -> dict:
        return {"name": self.name, "K": self.K.tolist(), "R": self.R.tolist(), "t": self.t.tolist(),
                "dist": self.dist.tolist(), "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        try:
            return cls(K=d["K"], R=d.get("R", np.eye(3)), t=d.get("t", np.zeros(3)),
                       dist=d.get("dist", np.zeros(5)), width=int(d.get("width", 0)),
                       height=int(d.get("height", 0)), name=str(d.get("name", "")))
        except KeyError as exc:
            raise InputError(f"camera: missing field {exc.args[0]!r}") from None


def _as_matrix(value, shape: tuple[int, ...], name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == int(np.prod(shape)):
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise InputError(f"camera {name}: expected shape {shape}, got {np.shape(value)}")
    return arr


def world_to_camera(points: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(..., 3)`` world points to the camera frame: ``R X + t``."""
    points = np.asarray(points, dtype=np.float64)
    return points @ np.asarray(R, dtype=np.float64).T + np.asarray(t, dtype=np.float64).reshape(3)


def camera_to_world(points: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(..., 3)`` camera-frame points to the world: ``R^T (X - t)``."""
    points = np.asarray(points, dtype=np.float64)
    return (points - np.asarray(t, dtype=np.float64).reshape(3)) @ np.asarray(R, dtype=np.float64)


def distort(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Apply OpenCV radial/tangential distortion to normalised image points ``(..., 2)``."""
    k1, k2, p1, p2, k3 = np.asarray(dist, dtype=np.float64).reshape(-1)[:5].tolist() + [0.0] * (
        5 - min(5, np.asarray(dist).size))
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def project(points_cam: np.ndarray, K: np.ndarray, dist: np.ndarray | None = None) -> np.ndarray:
    """Project ``(..., 3)`` camera-frame points to ``(..., 2)`` pixels.

    Points at or behind the camera (z <= 0) project to NaN.
    """
    points_cam = np.asarray(points_cam, dtype=np.float64)
    if points_cam.shape[-1] != 3:
        raise InputError(f"points: expected (..., 3), got shape {points_cam.shape}")
    K = np.asarray(K, dtype=np.float64)
    z = points_cam[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = points_cam[..., :2] / np.where(z > 0, z, np.nan)
    if dist is not None and np.any(np.asarray(dist) != 0):
        xy = distort(xy, dist)
    u = K[0, 0] * xy[..., 0] + K[0, 1] * xy[..., 1] + K[0, 2]
    v = K[1, 1] * xy[..., 1] + K[1, 2]
    return np.stack([u, v], axis=-1)


def project_points(points_world: np.ndarray, camera: Camera) -> np.ndarray:
    """World points ``(..., 3)`` to pixels ``(..., 2)`` through ``camera``."""
    return project(world_to_camera(points_world, camera.R, camera.t), camera.K, camera.dist)


def look_at(eye, target, up=(0.0, -1.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """``(R, t)`` of a camera at ``eye`` looking at ``target`` (OpenCV axes, ``up`` in world)."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    # Rows (x, y, z) right-handed with image y pointing down, i.e. along -up: x = y x z = z x up.
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:
        raise InputError("look_at: viewing direction is parallel to up")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ eye


# ------------------------------------------------------------------------- procrustes
def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def procrustes(pred, target, mode: AlignMode = "similarity", weights=None, return_transform=False):
    """Align ``pred`` to ``target`` (both ``(N, J, 3)``) by the best transform of ``mode``.

    - ``rotation``: ``R p`` (no translation; root-centre the poses first),
    - ``rigid``: ``R p + t``,
    - ``similarity``: ``s R p + t`` (PA-MPJPE, Protocol #2).

    Kabsch via SVD with the reflection fix (``det R = +1``; a mirror image is never fitted).
    ``weights`` ``(N, J)`` excludes joints with weight 0 (e.g. NaN joints). Returns the aligned
    prediction, and ``(R, s, t)`` too with ``return_transform``. Works on numpy or torch; with
    torch, gradients flow through the SVD.
    """
    if mode not in ("rotation", "rigid", "similarity"):
        raise InputError(f"mode: expected rotation, rigid or similarity, got {mode!r}")
    if tuple(pred.shape) != tuple(target.shape) or len(pred.shape) != 3 or pred.shape[-1] != 3:
        raise InputError(
            f"pred, target: expected two (N, J, 3) arrays of one shape, got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}")
    if _is_torch(pred) or _is_torch(target):
        import torch

        device = (pred if _is_torch(pred) else target).device
        with torch.autocast(device.type, enabled=False):  # SVD and det need float32 or better
            return _procrustes_torch(pred, target, mode, weights, return_transform)
    return _procrustes_numpy(np.asarray(pred, np.float64), np.asarray(target, np.float64), mode,
                             weights, return_transform)


def _procrustes_numpy(p, g, mode, weights, return_transform):
    n, j, _ = p.shape
    w = np.ones((n, j)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(n, j)
    p0, g0 = np.nan_to_num(p), np.nan_to_num(g)
    wsum = np.maximum(w.sum(axis=1, keepdims=True), 1e-12)[..., None]  # (N,1,1)
    if mode == "rotation":
        mu_p = np.zeros((n, 1, 3))
        mu_g = np.zeros((n, 1, 3))
    else:
        mu_p = (w[..., None] * p0).sum(axis=1, keepdims=True) / wsum
        mu_g = (w[..., None] * g0).sum(axis=1, keepdims=True) / wsum
    pc, gc = p0 - mu_p, g0 - mu_g
    H = np.einsum("nj,nja,njb->nab", w, pc, gc)  # (N,3,3)
    U, S, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(U @ Vt))
    d[d == 0] = 1.0
    D = np.ones((n, 3))
    D[:, 2] = d
    Rt = U @ (D[:, :, None] * Vt)  # R^T (rows apply to row vectors)
    if mode == "similarity":
        var = np.einsum("nj,nja,nja->n", w, pc, pc)
        s = (S * D).sum(axis=1) / np.maximum(var, 1e-12)
    else:
        s = np.ones(n)
    aligned = s[:, None, None] * (pc @ Rt) + mu_g
    if not return_transform:
        return aligned
    R = np.swapaxes(Rt, 1, 2)
    t = mu_g[:, 0] - s[:, None] * np.einsum("nab,nb->na", R, mu_p[:, 0])
    return aligned, R, s, t


def _procrustes_torch(p, g, mode, weights, return_transform):
    import torch

    n, j, _ = p.shape
    ref = p if _is_torch(p) else g  # one of them may be a numpy array
    dtype = ref.dtype if ref.dtype in (torch.float32, torch.float64) else torch.float32
    p = torch.as_tensor(p, dtype=dtype, device=ref.device)
    g = torch.as_tensor(g, dtype=dtype, device=ref.device)
    w = torch.ones((n, j), dtype=dtype, device=p.device) if weights is None else \
        torch.as_tensor(weights, dtype=dtype, device=p.device).reshape(n, j)
    p0, g0 = torch.nan_to_num(p), torch.nan_to_num(g)
    wsum = w.sum(dim=1, keepdim=True).clamp_min(1e-12)[..., None]
    if mode == "rotation":
        mu_p = torch.zeros((n, 1, 3), dtype=dtype, device=p.device)
        mu_g = torch.zeros_like(mu_p)
    else:
        mu_p = (w[..., None] * p0).sum(dim=1, keepdim=True) / wsum
        mu_g = (w[..., None] * g0).sum(dim=1, keepdim=True) / wsum
    pc, gc = p0 - mu_p, g0 - mu_g
    H = torch.einsum("nj,nja,njb->nab", w, pc, gc)
    U, S, Vt = torch.linalg.svd(H)
    d = torch.sign(torch.linalg.det(U @ Vt))
    d = torch.where(d == 0, torch.ones_like(d), d)
    D = torch.ones((n, 3), dtype=dtype, device=p.device)
    D = torch.cat([D[:, :2], d[:, None]], dim=1)
    Rt = U @ (D[:, :, None] * Vt)
    if mode == "similarity":
        var = torch.einsum("nj,nja,nja->n", w, pc, pc)
        s = (S * D).sum(dim=1) / var.clamp_min(1e-12)
    else:
        s = torch.ones(n, dtype=dtype, device=p.device)
    aligned = s[:, None, None] * (pc @ Rt) + mu_g
    if not return_transform:
        return aligned
    R = Rt.transpose(1, 2)
    t = mu_g[:, 0] - s[:, None] * torch.einsum("nab,nb->na", R, mu_p[:, 0])
    return aligned, R, s, t


def random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, 3, 3)`` rotations uniform on SO(3) (QR of Gaussian matrices, sign-fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    det = np.linalg.det(q)
    q[det < 0, :, 0] *= -1
    return q


def rotation_matrix(axis, angle: float) -> np.ndarray:
    """Rotation by ``angle`` radians about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)
