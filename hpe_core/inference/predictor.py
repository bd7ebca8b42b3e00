"""A loaded model ready to predict: device, precision and an inference copy of the network.

    predictor = Predictor("regressor.pt", device="auto", precision="bf16")
    predictor.predict_inputs({"image": x})    # one batch of tensors -> the family's Prediction

Every batch goes through its family's ``predict(model, batch) -> Prediction``
(:mod:`hpe_core.models.families`); :func:`hpe_core.inference.predict` feeds it any dataset.

The model runs on an inference copy of the checkpoint's network: BatchNorm folded into the
convolutions (exact algebra, float rounding aside), channels-last memory, ``torch.inference_mode``;
``precision`` bf16/fp16 adds autocast (fp32 is the exact reference). A batch of
letterboxed uint8 images is normalised in one pass (the same floats as training's ``to_tensor`` on
each) straight into the channels-last layout.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from hpe_core.errors import CheckpointError, InputError
from hpe_core.predictions import Prediction

__all__ = ["Predictor", "checkpoint_image_size", "fuse_batchnorm"]

DEFAULT_IMAGE_SIZE = 128


def checkpoint_image_size(info, default: int = DEFAULT_IMAGE_SIZE) -> int:
    """The image size a checkpoint was trained at (its stored training config), else ``default``."""
    training = getattr(info, "training", None) or {}
    data = (training.get("config") or {}).get("data") or {}
    size = data.get("image_size") or training.get("image_size")
    return int(size) if size else default


def fuse_batchnorm(encoder):
    """A copy of a ResNet ``encoder`` with every eval-mode BatchNorm folded into its convolution."""
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    enc = copy.deepcopy(encoder).eval()

    def fold(parent, conv_name, bn_name):
        conv, bn = getattr(parent, conv_name, None), getattr(parent, bn_name, None)
        if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
            setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
            setattr(parent, bn_name, torch.nn.Identity())

    for module in list(enc.modules()):
        for k in ("1", "2", "3"):
            fold(module, "conv" + k, "bn" + k)
        down = getattr(module, "downsample", None)
        if isinstance(down, torch.nn.Sequential) and len(down) == 2:
            fold(down, "0", "1")
    return enc


class Predictor:
    """Predict poses with a checkpoint (path) or a model of a family that outputs joints."""

    def __init__(self, checkpoint_or_model: Any, device: str = "auto", precision: str = "fp32",
                 batch_size: int = 32, image_size: int | None = None, channels_last: bool = True,
                 fuse: bool = True, queue_size: int = 4, keep_heatmaps: bool = False, info=None) -> None:
        """``info``: the :class:`CheckpointInfo` of a model given already loaded (its training image
        size, file hash, notes and path), when it came from a file."""
        import torch

        from hpe_core.devices import check_precision, resolve_device
        from hpe_core.models.families import family_of, predicts_pose

        self.device = resolve_device(device)
        self.precision = check_precision(precision)
        if int(batch_size) < 1:
            raise InputError(f"--batch-size: must be at least 1, got {batch_size}")
        self.batch_size, self.queue_size = int(batch_size), max(1, int(queue_size))
        self.keep_heatmaps = bool(keep_heatmaps)  # heatmap families: keep the (N, J, h, w) maps in the rows
        self.model, loaded_info, self.source = _load(checkpoint_or_model)
        info = info or loaded_info
        if info is not None and getattr(info, "path", None):
            self.source = info.path
        self.family = family_of(self.model)
        if not predicts_pose(self.model):
            raise CheckpointError(f"{self.source}: this {self.model.family} model has no pose head, so it "
                                  "cannot predict poses (use a regressor checkpoint, e.g. one from "
                                  "'hpe train' with task regress3d)")
        own = getattr(self.model, "image_size", None)  # a model that knows its input size (UniHPE)
        self.image_size = int(image_size or checkpoint_image_size(info, int(own) if own else DEFAULT_IMAGE_SIZE))
        self.skeleton = self.model.skeleton
        self.num_joints = int(self.model.num_joints)
        self.checkpoint_sha256 = getattr(info, "sha256", None)
        self.channels_last = bool(channels_last)
        self._net = copy.deepcopy(self.model).eval()
        if fuse and hasattr(self._net, "encoder"):
            self._net.encoder = fuse_batchnorm(self._net.encoder)
        self._net = self._net.to(self.device)
        self.notes = list(getattr(info, "notes", None) or []) + _precision_notes(self.device, self.precision)
        if self.channels_last:
            self._net = self._net.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ tensors and arrays
    def predict_inputs(self, batch: dict) -> Prediction:
        """A batch of model inputs (tensors, e.g. ``{"image": ...}`` or ``{"joints_2d": ...}``) on this
        predictor's device and precision -> the family's :class:`Prediction`."""
        import torch

        from hpe_core.devices import autocast

        batch = {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        with torch.inference_mode(), autocast(self.device, self.precision):
            return self.family.predict(self._net, batch)

    def predict_batch(self, x, extra: dict | None = None) -> Prediction:
        """(N, 3, S, S) normalised float images (and ``extra`` inputs of the same rows, e.g. the
        ``joints_2d`` a model of several modalities also embeds) -> their :class:`Prediction`."""
        import torch

        self._need_images("images")
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"images: expected (N, 3, H, W), got {tuple(x.shape)}")
        x = x.to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.predict_inputs({"image": x, "heatmaps": self.keep_heatmaps, **(extra or {})})

    def _need_images(self, source) -> None:
        if "image" not in self.family.inputs:
            raise InputError(f"{source}: this {self.family.name} model takes {', '.join(sorted(self.family.inputs))}, "
                             "not images; predict it on a dataset that has them")

    def predict_tensor(self, x) -> np.ndarray:
        """(N, 3, S, S) normalised float images -> (N, J, 3) float32 mm, root-relative."""
        return self.predict_batch(x).joints_3d

    def preprocess(self, image: np.ndarray):
        """(H, W, 3) uint8 RGB -> (3, S, S) float tensor, exactly as in training."""
        from hpe_core.datasets.transforms import to_tensor

        return to_tensor(image, self.image_size)

    def batch_tensor(self, images: list[np.ndarray]):
        """Letterboxed (S, S, 3) uint8 RGB images -> (N, 3, S, S) normalised float32, channels-last:
        the values of stacking :meth:`preprocess` of each (the same float operations, element by
        element), in one pass per step over the whole batch instead of a dozen small tensors per
        image, and already in the model's memory layout (an (N, S, S, 3) stack seen as NCHW)."""
        import torch

        from hpe_core.datasets.transforms import normalize

        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
        return normalize(x)

    def predict_arrays(self, images: Iterable[np.ndarray]) -> np.ndarray:
        """A list of (H, W, 3) uint8 RGB images -> (N, J, 3) mm."""
        from hpe_core.datasets.transforms import letterbox

        boxed = [letterbox(_check_image(im, f"image {i}"), self.image_size) for i, im in enumerate(images)]
        if not boxed:
            return np.zeros((0, self.num_joints, 3), np.float32)
        return np.concatenate([self.predict_tensor(self.batch_tensor(boxed[a:a + self.batch_size]))
                               for a in range(0, len(boxed), self.batch_size)])


def _precision_notes(device, precision: str) -> list[str]:
    """What a user should know about ``precision`` on ``device`` (e.g. no native bf16 on this CPU)."""
    import torch

    if device.type != "cpu" or precision == "fp32":
        return []
    probe = {"bf16": "_is_mkldnn_bf16_supported", "fp16": "_is_mkldnn_fp16_supported"}[precision]
    try:
        native = bool(getattr(torch.ops.mkldnn, probe)())
    except (AttributeError, RuntimeError):
        native = False
    if native:
        return []
    return [f"this CPU has no native {precision} support: {precision} is emulated and likely slower "
            "than fp32 (which is also the exact reference)"]


def _load(checkpoint_or_model):
    from hpe_core.models import load_checkpoint

    if not isinstance(checkpoint_or_model, (str, Path)):
        return checkpoint_or_model, None, f"<{getattr(checkpoint_or_model, 'family', 'unknown')} model>"
    path = Path(checkpoint_or_model)
    model, info = load_checkpoint(path, device="cpu")
    return model, info, path


def _check_image(image, name) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
        raise InputError(f"{name}: expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    return image
