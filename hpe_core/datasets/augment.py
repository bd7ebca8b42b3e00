"""Augmentations in torch (no torchvision), carrying 2D and 3D joints along with the image.

Each op maps ``(image, target)`` to the same pair: ``image`` (3, H, W) float in [0, 1],
``target`` None or a dict of per-joint arrays, any of ``joints_2d`` (J, 2) px, ``joints_3d``
(J, 3) camera frame, ``visible`` (J,). Geometric ops move the joints: a horizontal flip mirrors x
(2D about the image centre, 3D through the optical axis) and swaps left and right entries of every
per-joint array through the skeleton's flip pairs; a rotation turns 2D joints about the centre and 3D joints about
the optical axis (exact when the principal point is the image centre, as in the synthetic data);
a crop moves 2D joints and leaves the 3D pose unchanged. Randomness comes from torch's global
generator, so seeding torch seeds the augmentations.

Presets: ``"simclr"`` (SimCLR's recipe: resized crop, flip, colour jitter 0.8, grayscale 0.2,
blur 0.5; the crop keeps at least 35% of the image so the person stays in view) and ``"pose"``
(milder crops, small rotations, flips with joints, colour jitter) for supervised regression.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from hpe_core.datasets.transforms import IMAGENET_MEAN
from hpe_core.errors import InputError
from hpe_core.skeleton import Skeleton, get_skeleton


def _rand() -> float:
    return float(torch.rand(()))


def _uniform(lo: float, hi: float) -> float:
    return lo + (hi - lo) * _rand()


def _with(target: dict | None, **changes) -> dict | None:
    """A copy of ``target`` with the given entries replaced (entries it lacks stay absent)."""
    if target is None:
        return None
    out = dict(target)
    for key, fn in changes.items():
        if out.get(key) is not None:
            out[key] = fn(np.asarray(out[key]))
    return out


class RandomResizedCrop:
    """A random box of ``scale`` of the area and ``ratio`` aspect, resized to ``size``."""

    def __init__(self, size: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)) -> None:
        self.size, self.scale, self.ratio = size, scale, ratio

    def box(self, h: int, w: int) -> tuple[int, int, int, int]:
        area = h * w
        for _ in range(10):
            target = area * _uniform(*self.scale)
            aspect = math.exp(_uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
            cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return int(torch.randint(0, h - ch + 1, ())), int(torch.randint(0, w - cw + 1, ())), ch, cw
        side = min(h, w)
        return (h - side) // 2, (w - side) // 2, side, side

    def __call__(self, image, target=None, **_):
        top, left, ch, cw = self.box(*image.shape[-2:])
        return crop_resize(image, target, top, left, ch, cw, self.size)


def crop_resize(image, target, top: int, left: int, ch: int, cw: int, size: int):
    """The box (top, left, height, width) of ``image`` resized to ``size`` x ``size``."""
    crop = image[:, top:top + ch, left:left + cw]
    out = F.interpolate(crop[None], size=(size, size), mode="bilinear", align_corners=False,
                        antialias=True)[0].clamp_(0, 1)
    scale = np.array([size / cw, size / ch])
    return out, _with(target, joints_2d=lambda j: (j + 0.5 - np.array([left, top])) * scale - 0.5)


class HorizontalFlip:
    """Mirror with probability ``p`` (or as ``flip`` says); joints swap sides."""

    def __init__(self, skeleton: Skeleton | str, p: float = 0.5) -> None:
        self.perm, self.p = get_skeleton(skeleton).flip_permutation, p

    def __call__(self, image, target=None, flip: bool | None = None, **_):
        do = (_rand() < self.p) if flip is None else bool(flip)
        return flip_sample(image, target, self.perm) if do else (image, target)


def flip_sample(image, target, perm: np.ndarray):
    """Always mirror: columns reversed, ``u -> W - 1 - u``, ``x -> -x``, every per-joint array
    (``visible`` too) permuted through ``perm``."""
    w = image.shape[-1]
    if target is not None:
        target = {k: (None if v is None else np.asarray(v)[perm]) for k, v in target.items()}
        target = _with(target, joints_2d=lambda j: mirror_2d(j, w), joints_3d=mirror_3d)
    return image.flip(-1), target


def mirror_2d(j: np.ndarray, width: int) -> np.ndarray:
    j = j.astype(np.float64)
    j[:, 0] = width - 1 - j[:, 0]
    return j


def mirror_3d(j: np.ndarray) -> np.ndarray:
    j = j.astype(np.float64)
    j[:, 0] = -j[:, 0]
    return j


class Rotation:
    """Rotate by an angle uniform in ``[-degrees, degrees]`` about the image centre, with ``p``."""

    def __init__(self, degrees: float, p: float = 1.0) -> None:
        self.degrees, self.p = degrees, p

    def __call__(self, image, target=None, **_):
        if _rand() >= self.p:
            return image, target
        return rotate(image, target, math.radians(_uniform(-self.degrees, self.degrees)))


def rotate(image, target, angle: float):
    """Rotate a square (3, S, S) image by ``angle`` radians (x right, y down), corners filled with
    the mean colour; 2D joints about the centre, 3D joints about the optical axis."""
    c, s = math.cos(angle), math.sin(angle)
    size = image.shape[-1]
    theta = torch.tensor([[c, s, 0.0], [-s, c, 0.0]], dtype=image.dtype)[None]  # output -> input
    grid = F.affine_grid(theta, [1, 3, size, size], align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN, dtype=image.dtype).view(3, 1, 1)
    out = F.grid_sample((image - mean)[None], grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)[0] + mean
    rot = np.array([[c, -s], [s, c]])
    centre = (size - 1) / 2.0

    def turn_3d(j):
        j = j.astype(np.float64)
        j[:, :2] = j[:, :2] @ rot.T
        return j

    return out.clamp_(0, 1), _with(target, joints_2d=lambda j: (j - centre) @ rot.T + centre, joints_3d=turn_3d)


def _gray(image):
    return (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2])[None]


class ColorJitter:
    """Brightness, contrast, saturation and hue in a random order, with probability ``p``."""

    def __init__(self, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p: float = 0.8) -> None:
        self.b, self.c, self.s, self.h, self.p = brightness, contrast, saturation, hue, p

    def __call__(self, image, target=None, **_):
        if _rand() >= self.p:
            return image, target
        for k in torch.randperm(4).tolist():
            if k == 0 and self.b:
                image = image * _uniform(1 - self.b, 1 + self.b)
            elif k == 1 and self.c:
                mean = _gray(image).mean()
                image = (image - mean) * _uniform(1 - self.c, 1 + self.c) + mean
            elif k == 2 and self.s:
                g = _gray(image)
                image = (image - g) * _uniform(1 - self.s, 1 + self.s) + g
            elif k == 3 and self.h:
                image = shift_hue(image.clamp(0, 1), _uniform(-self.h, self.h))
            image = image.clamp(0, 1)
        return image, target


def shift_hue(image, shift: float):
    """Rotate the hue of a (3, H, W) [0, 1] image by ``shift`` turns (HSV round trip)."""
    r, g, b = image
    mx, _ = image.max(0)
    mn, _ = image.min(0)
    delta = mx - mn
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(mx == r, ((g - b) / safe) % 6, torch.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    h = (torch.where(delta > 0, h, torch.zeros_like(h)) + shift) % 1.0
    s = torch.where(mx > 0, delta / torch.where(mx > 0, mx, torch.ones_like(mx)), torch.zeros_like(mx))

    def channel(n: int):
        k = (n + h * 6) % 6
        return mx - mx * s * torch.clamp(torch.minimum(k, 4 - k), 0, 1)

    return torch.stack([channel(5), channel(3), channel(1)])


class Grayscale:
    def __init__(self, p: float = 0.2) -> None:
        self.p = p

    def __call__(self, image, target=None, **_):
        if _rand() >= self.p:
            return image, target
        return _gray(image).expand(3, -1, -1).contiguous(), target


class GaussianBlur:
    """Blur with sigma uniform in ``sigma`` and a kernel of about ``fraction`` of the image size."""

    def __init__(self, p: float = 0.5, sigma=(0.1, 2.0), fraction: float = 0.1) -> None:
        self.p, self.sigma, self.fraction = p, sigma, fraction

    def __call__(self, image, target=None, **_):
        if _rand() >= self.p:
            return image, target
        return gaussian_blur(image, _uniform(*self.sigma), self.fraction), target


def gaussian_blur(image, sigma: float, fraction: float = 0.1):
    """Separable Gaussian blur of (3, H, W) with reflected borders."""
    radius = max(1, int(fraction * max(image.shape[-2:]) / 2))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    img = F.pad(image[None], (radius, radius, radius, radius), mode="reflect")
    img = F.conv2d(img, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    img = F.conv2d(img, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return img[0]


class Compose:
    """Ops applied in order; ``flip`` forces (True/False) or leaves random (None) every flip."""

    def __init__(self, ops: list) -> None:
        self.ops = list(ops)

    def __call__(self, image, target=None, flip: bool | None = None):
        for op in self.ops:
            image, target = op(image, target, flip=flip)
        return image, target


def simclr(size: int, skeleton: Skeleton | str = "panoptic19") -> Compose:
    return Compose([RandomResizedCrop(size, scale=(0.35, 1.0)), HorizontalFlip(skeleton, 0.5),
                    ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8), Grayscale(0.2), GaussianBlur(0.5)])


def pose(size: int, skeleton: Skeleton | str = "panoptic19") -> Compose:
    return Compose([RandomResizedCrop(size, scale=(0.6, 1.0), ratio=(0.85, 1.18)), Rotation(15.0, p=0.5),
                    HorizontalFlip(skeleton, 0.5), ColorJitter(0.3, 0.3, 0.3, 0.05, p=0.8), Grayscale(0.1)])


PRESETS = {"simclr": simclr, "pose": pose}


def get_augment(spec, size: int, skeleton: Skeleton | str = "panoptic19"):
    """None, a preset name ("simclr", "pose", "none") or a callable with the op signature."""
    if spec is None or spec == "none":
        return None
    if callable(spec):
        return spec
    if spec in PRESETS:
        return PRESETS[spec](size, skeleton)
    raise InputError(f"augment: unknown preset {spec!r}; choose one of: none, {', '.join(PRESETS)}")
