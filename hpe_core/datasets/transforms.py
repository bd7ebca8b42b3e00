"""From an image on disk to what a model takes: the one path shared by training and inference.

``to_tensor(image, size)``: an (H, W, 3) uint8 RGB image is letterboxed to ``size`` x ``size``
(scaled so its longer side fits, centred, padded with the ImageNet mean colour, which is zero
after normalisation), turned into a float (3, size, size) tensor in [0, 1] and normalised with
the ImageNet mean and std. Square images are simply resized. Training without augmentation gives
exactly the same tensor. ``letterbox_joints`` maps 2D joints the same way.

A person crop (top-down) is a :class:`Region` of the stored image: ``crop_region(box)`` is the square
around a person box, :data:`CROP_MARGIN` times its longer side (aspect kept), in whole pixels;
``crop_box`` cuts it out (padded with the mean colour where it leaves the image) and letterboxes it to
``size`` -- a plain resize, the region being square -- and ``crop_joints`` / ``uncrop_joints`` map 2D
joints into that input and back. The whole frame is ``Region.whole(h, w)``, for which all three are
exactly ``letterbox`` / ``letterbox_joints`` / ``unletterbox_joints``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hpe_core.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_PAD = tuple(int(round(255 * m)) for m in IMAGENET_MEAN)


def check_image(image, argument: str = "image") -> np.ndarray:
    """(H, W, 3) uint8 RGB from an (H, W, 3|4) or (H, W) uint8 array; :class:`InputError` otherwise."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(f"{argument}: expected uint8 pixels, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 1:
        raise InputError(f"{argument}: expected an (H, W, 3) RGB image, got shape {image.shape}")
    return np.ascontiguousarray(image[..., :3])


def letterbox_params(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    """``(new_width, new_height, offset_x, offset_y)`` of a (height, width) image letterboxed to ``size``."""
    scale = size / max(height, width)
    new_w, new_h = max(1, int(round(width * scale))), max(1, int(round(height * scale)))
    return new_w, new_h, (size - new_w) // 2, (size - new_h) // 2


def fit(image: np.ndarray, size: int) -> np.ndarray:
    """The resize step of :func:`letterbox`: ``image`` (H, W, C) scaled so its longer side is
    ``size``. It acts on each channel alike, so it may run before a colour conversion (a video
    frame is shrunk in its decoder's BGR and converted afterwards, at a fraction of the cost)."""
    import cv2

    h, w = image.shape[:2]
    new_w, new_h, _, _ = letterbox_params(h, w, size)
    if (new_w, new_h) == (w, h):
        return image
    interp = cv2.INTER_AREA if new_w < w else cv2.INTER_LINEAR
    return cv2.resize(image, (new_w, new_h), interpolation=interp)


def letterbox(image: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) uint8: ``image`` scaled to fit, centred, padded with the mean colour."""
    import cv2

    image = check_image(image)
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    new_w, new_h, ox, oy = letterbox_params(h, w, size)
    resized = fit(image, size)
    if (new_w, new_h) == (size, size):
        return resized
    return cv2.copyMakeBorder(resized, oy, size - new_h - oy, ox, size - new_w - ox,
                              cv2.BORDER_CONSTANT, value=_PAD)


def letterbox_joints(joints_2d: np.ndarray, height: int, width: int, size: int) -> np.ndarray:
    """``(..., 2)`` pixel coordinates of a (height, width) image mapped into the letterboxed square
    (pixel centres at integers, as ``cv2.resize`` treats them)."""
    new_w, new_h, ox, oy = letterbox_params(height, width, size)
    scale = np.array([new_w / width, new_h / height])
    return (np.asarray(joints_2d, dtype=np.float64) + 0.5) * scale - 0.5 + np.array([ox, oy])


def unletterbox_joints(joints: np.ndarray, height: int, width: int, size: int) -> np.ndarray:
    """(..., 2) px of the letterboxed S x S image -> px of the (height, width) image (the inverse of
    :func:`letterbox_joints`)."""
    new_w, new_h, ox, oy = letterbox_params(height, width, size)
    scale = np.array([new_w / width, new_h / height])
    return (np.asarray(joints, dtype=np.float64) - np.array([ox, oy]) + 0.5) / scale - 0.5


#: a person crop is this many times the box's longer side (mmpose's top-down padding, 1.25)
CROP_MARGIN = 1.25
_MAX_CROP_AREA = 16  # a crop over 16x the image's area is refused: the box cannot be a person in it


@dataclass(frozen=True)
class Region:
    """The part of a stored image a model sees: ``width`` x ``height`` px from pixel (``x0``, ``y0``);
    it may reach past the image (that part is padded)."""

    x0: int
    y0: int
    width: int
    height: int

    @classmethod
    def whole(cls, height: int, width: int) -> "Region":
        return cls(0, 0, int(width), int(height))

    def is_whole(self, height: int, width: int) -> bool:
        return self == Region.whole(height, width)


def crop_region(box, margin: float = CROP_MARGIN) -> Region:
    """The square :class:`Region` centred on ``box`` (x0, y0, x1, y1 px), ``margin`` x its longer side."""
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    if not np.isfinite([x0, y0, x1, y1]).all() or x1 <= x0 or y1 <= y0:
        raise InputError(f"box: expected finite x0 < x1 and y0 < y1 px, got {[x0, y0, x1, y1]}")
    if not margin > 0:
        raise InputError(f"crop margin: expected a positive factor, got {margin}")
    side = max(1, int(round(max(x1 - x0, y1 - y0) * margin)))
    return Region(int(round((x0 + x1 - side) / 2)), int(round((y0 + y1 - side) / 2)), side, side)


def crop(image: np.ndarray, region: Region) -> np.ndarray:
    """(region.height, region.width, 3) uint8: the region's pixels, the mean colour outside the image."""
    import cv2

    image = check_image(image)
    h, w = image.shape[:2]
    if region.is_whole(h, w):
        return image
    if region.width * region.height > _MAX_CROP_AREA * h * w + 4096:
        raise InputError(f"box: a {region.width} x {region.height} px crop of a {w} x {h} px image is no person box")
    ax, ay = max(region.x0, 0), max(region.y0, 0)
    bx, by = min(region.x0 + region.width, w), min(region.y0 + region.height, h)
    if bx <= ax or by <= ay:
        return np.full((region.height, region.width, 3), _PAD, np.uint8)
    return cv2.copyMakeBorder(np.ascontiguousarray(image[ay:by, ax:bx]), ay - region.y0,
                              region.y0 + region.height - by, ax - region.x0, region.x0 + region.width - bx,
                              cv2.BORDER_CONSTANT, value=_PAD)


def crop_box(image: np.ndarray, region: Region, size: int) -> np.ndarray:
    """(size, size, 3) uint8: ``region`` of ``image`` letterboxed to ``size`` (see the module doc)."""
    return letterbox(crop(image, region), size)


def crop_joints(joints_2d: np.ndarray, region: Region, size: int) -> np.ndarray:
    """(..., 2) px of the stored image -> px of :func:`crop_box`'s ``size`` x ``size`` input."""
    shifted = np.asarray(joints_2d, np.float64) - np.array([region.x0, region.y0])
    return letterbox_joints(shifted, region.height, region.width, size)


def uncrop_joints(joints: np.ndarray, region: Region, size: int) -> np.ndarray:
    """(..., 2) px of :func:`crop_box`'s input -> px of the stored image (the inverse of :func:`crop_joints`)."""
    return unletterbox_joints(joints, region.height, region.width, size) + np.array([region.x0, region.y0])


def to_float(image: np.ndarray) -> torch.Tensor:
    """(3, H, W) float32 in [0, 1] from (H, W, 3) uint8."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(255.0)


_MEAN = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
_STD = torch.tensor(IMAGENET_STD).view(3, 1, 1)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """ImageNet normalisation of (..., 3, H, W) floats in [0, 1]."""
    if x.dtype == torch.float32 and x.device.type == "cpu":
        return (x - _MEAN) / _STD
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`normalize`: back to [0, 1] floats."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return x * std + mean


def to_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """Normalised float (3, size, size) tensor of an (H, W, 3) uint8 RGB image (see module doc)."""
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise InputError(f"size: expected an image size of at least 8 px, got {size!r}")
    return normalize(to_float(letterbox(image, int(size))))


def to_image(x: torch.Tensor) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a normalised (3, H, W) tensor, for showing what a model saw."""
    x = denormalize(x.detach().float().cpu()).clamp(0, 1)
    return (x.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
