"""Feature maps of one image: what conv1 and the deeper stages make of it.

- :func:`feature_maps` runs the model and returns the (C, h, w) maps of a named layer (conv1 is
  after BatchNorm + ReLU, as the network uses it; layer1..layer4 are the stages' outputs).
- :func:`filter_responses` convolves the image with the raw conv1 filters alone (no BatchNorm,
  no ReLU, stride 1), the pictures of seed 000's figures A12-A14: a high-pass filter shows
  edges, a low-pass one a blurred copy, an inverting one a photographic negative.
- :func:`feature_map_grid` lays maps side by side, each normalised on its own, as an image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hpe_core.analysis.kernels import conv1_weight, tile_images
from hpe_core.errors import InputError

MAP_LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")


def read_image(image) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array, or a path to an image file read as one."""
    if isinstance(image, (str, Path)):
        import cv2

        bgr = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(f"--image {image}: not a readable image")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"image: expected (H, W, 3) uint8 RGB, got {image.dtype} {image.shape}")
    return image


def feature_maps(model, image, layer: str = "conv1", image_size: int = 128, device="cpu") -> np.ndarray:
    """(C, h, w) float32 maps of ``layer`` for one image (array or path) through ``model``."""
    import torch

    from hpe_core.datasets.transforms import to_tensor

    if layer not in MAP_LAYERS:
        raise InputError(f"--layer {layer}: feature maps exist for {', '.join(MAP_LAYERS)}")
    x = to_tensor(read_image(image), int(image_size))[None].to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            maps = model.features(x, (layer,), pooled=False)[layer]
    finally:
        model.train(was_training)
    return maps[0].float().cpu().numpy()


def filter_responses(image, weights, image_size: int | None = None) -> np.ndarray:
    """(O, H, W) float32: the image (normalised as for the model) convolved with each raw filter.

    ``weights``: (O, 3, kh, kw) conv1 weights, or a model. ``image_size`` resizes first (None
    keeps the image's own size).
    """
    import torch

    from hpe_core.datasets.transforms import IMAGENET_MEAN, IMAGENET_STD

    w = torch.as_tensor(conv1_weight(weights))
    rgb = read_image(image)
    if image_size:
        import cv2

        rgb = cv2.resize(rgb, (int(image_size), int(image_size)), interpolation=cv2.INTER_AREA)
    x = torch.as_tensor(rgb, dtype=torch.float32).permute(2, 0, 1) / 255.0
    mean = torch.as_tensor(np.asarray(IMAGENET_MEAN, np.float32))[:, None, None]
    std = torch.as_tensor(np.asarray(IMAGENET_STD, np.float32))[:, None, None]
    x = ((x - mean) / std)[None]
    if w.shape[1] != x.shape[1]:
        raise InputError(f"conv1 takes {w.shape[1]} channels, the image has {x.shape[1]}")
    with torch.inference_mode():
        out = torch.nn.functional.conv2d(x, w, padding=(w.shape[2] // 2, w.shape[3] // 2))
    return out[0].numpy()


def feature_map_grid(maps: np.ndarray, columns: int | None = None, pad: int = 1,
                     limit: int | None = 64) -> np.ndarray:
    """(H, W, 3) uint8 grid of (C, h, w) maps, each scaled to its own min..max (grey)."""
    maps = np.asarray(maps, np.float32)
    if maps.ndim != 3:
        raise InputError(f"feature maps: expected (C, h, w), got shape {maps.shape}")
    if limit is not None:
        maps = maps[: int(limit)]
    tiles = []
    for m in maps:
        lo, hi = float(m.min()), float(m.max())
        norm = np.zeros_like(m) if hi <= lo else (m - lo) / (hi - lo)
        tiles.append(np.repeat(norm[:, :, None], 3, axis=2))
    return tile_images(tiles, columns or int(np.ceil(np.sqrt(len(tiles)))), 1, pad)
