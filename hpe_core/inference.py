"""Batched 3D pose prediction on images, folders, datasets and videos.

    predictor = Predictor("regressor.pt", device="auto", precision="bf16")
    result = predictor.predict_video("clip.mp4", progress, on_frame=show)
    result.prediction                 # a hpe_core.predictions.Prediction, one row per frame
    result.save("clip.json")          # .json, .csv or the Prediction .npz

Every batch goes through its family's ``predict(model, batch) -> Prediction``
(:mod:`hpe_core.models.families`); a run (:class:`PredictionRun`) gathers those rows.

The model runs on an inference copy of the checkpoint's network: BatchNorm folded into the
convolutions (exact algebra, float rounding aside), channels-last memory, ``torch.inference_mode``;
``precision`` bf16/fp16 adds autocast (fp32 is the exact reference). Images are read and
letterboxed in a background thread feeding a bounded queue (a video's own decode thread does both),
so decoding overlaps the model; a batch of letterboxed uint8 images is then normalised in one pass
(the same floats as training's ``to_tensor`` on each) straight into the channels-last layout.
Unreadable images and video frames are skipped and counted.
Predictions are (N, J, 3) millimetres, root-relative (the root row is zero).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from hpe_core.errors import CheckpointError, DatasetError, InputError
from hpe_core.inference_io import PredictionRun, Predictions, iter_image_files, prefetch
from hpe_core.predictions import Prediction
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled

__all__ = ["Prediction", "PredictionRun", "Predictions", "Predictor", "checkpoint_image_size", "fuse_batchnorm"]

DEFAULT_IMAGE_SIZE = 128
POSE_COLUMNS = {"pose2d": "joints_2d", "pose3d": "joints_3d"}  # family input -> dataset column


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
                 fuse: bool = True, queue_size: int = 4, keep_heatmaps: bool = False) -> None:
        import torch

        from hpe_core.devices import check_precision, resolve_device
        from hpe_core.models.families import family_of, predicts_pose

        self.device = resolve_device(device)
        self.precision = check_precision(precision)
        if int(batch_size) < 1:
            raise InputError(f"--batch-size: must be at least 1, got {batch_size}")
        self.batch_size, self.queue_size = int(batch_size), max(1, int(queue_size))
        self.keep_heatmaps = bool(keep_heatmaps)  # heatmap families: keep the (N, J, h, w) maps in the rows
        self.model, info, self.source = _load(checkpoint_or_model)
        self.family = family_of(self.model)
        if not predicts_pose(self.model):
            raise CheckpointError(f"{self.source}: this {self.model.family} model has no pose head, so it "
                                  "cannot predict poses (use a regressor checkpoint, e.g. one from "
                                  "'hpe train' with task regress3d)")
        self.image_size = int(image_size or checkpoint_image_size(info))
        self.skeleton = self.model.skeleton
        self.num_joints = int(self.model.num_joints)
        self.checkpoint_sha256 = getattr(info, "sha256", None)
        self.channels_last = bool(channels_last)
        self._net = copy.deepcopy(self.model).eval()
        if fuse and hasattr(self._net, "encoder"):
            self._net.encoder = fuse_batchnorm(self._net.encoder)
        self._net = self._net.to(self.device)
        self.notes = _precision_notes(self.device, self.precision)
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

    def predict_batch(self, x) -> Prediction:
        """(N, 3, S, S) normalised float images -> their :class:`Prediction` (the family's ``predict``)."""
        import torch

        self._need_images("images")
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"images: expected (N, 3, H, W), got {tuple(x.shape)}")
        x = x.to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.predict_inputs({"image": x, "heatmaps": self.keep_heatmaps})

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

    # ------------------------------------------------------------------ sources
    def predict_images(self, paths: str | Path | Iterable[str | Path], progress: ProgressSink | None = None,
                       on_frame: Callable[[dict], None] | None = None) -> PredictionRun:
        """An image file, a folder of images (sorted by name) or a list of image paths."""
        self._need_images(paths if isinstance(paths, (str, Path)) else "images")
        files = iter_image_files(paths)
        items = ((i, p.name, p) for i, p in enumerate(files))
        return self._run(items, len(files), self._read_file, progress, on_frame)

    def predict_dataset(self, dataset, indices=None, progress: ProgressSink | None = None,
                        on_frame: Callable[[dict], None] | None = None) -> PredictionRun:
        """Samples ``indices`` (default all) of a :class:`PoseDataset`; ``frame`` is the sample index.

        A family without an image input gets the dataset's columns instead (pose2d: ``joints_2d``
        px, pose3d: ``joints_3d`` mm, with ``visible``), read in batches without any image."""
        idx = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64)
        if "image" not in self.family.inputs:
            return self._run_columns(dataset, idx, progress, on_frame)
        items = ((int(i), dataset.sample_name(int(i)), int(i)) for i in idx)
        return self._run(items, len(idx), lambda i: dataset.load_image(i), progress, on_frame)

    def predict_video(self, path: str | Path, progress: ProgressSink | None = None,
                      on_frame: Callable[[dict], None] | None = None, stride: int = 1,
                      max_frames: int | None = None) -> PredictionRun:
        """Every ``stride``-th frame of a video file, decoded in a thread of its own."""
        from hpe_core.video_decode import decode_video

        self._need_images(path)
        frames, total = decode_video(path, self.image_size, stride=stride, max_frames=max_frames)
        return self._run(frames, total, None, progress, on_frame)

    def predict(self, source: str | Path, progress: ProgressSink | None = None,
                on_frame: Callable[[dict], None] | None = None) -> PredictionRun:
        """Dispatch on what ``source`` is: a video file, an image, a folder or a dataset."""
        from hpe_core.datasets import VIDEO_SUFFIXES

        path = Path(source).expanduser()
        if not path.exists():
            raise InputError(f"{source}: no such file or folder")
        from hpe_core.inference_io import IMAGE_SUFFIXES

        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            return self.predict_video(path, progress, on_frame)
        if (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES) or not _is_dataset(path):
            return self.predict_images(path, progress, on_frame)
        from hpe_core.datasets import open_dataset

        return self.predict_dataset(open_dataset(path), progress=progress, on_frame=on_frame)

    # ------------------------------------------------------------------ the pipeline
    def _read_file(self, path: Path) -> np.ndarray:
        import cv2

        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"{path}: not a readable image")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def _prepared(self, items: Iterator, read: Callable | None) -> Iterator[tuple]:
        """(frame, name, letterboxed uint8 image or None, reason) for each item; runs in the loader
        thread (a video's decode thread has letterboxed its frames already)."""
        from hpe_core.datasets.transforms import letterbox

        for frame, name, item in items:
            try:
                image = item if read is None else read(item)
                if image is None:  # the video decoder could not decode this frame
                    yield frame, name, None, "frame could not be decoded"
                    continue
                yield frame, name, letterbox(_check_image(image, name), self.image_size), None
            except (DatasetError, InputError, OSError) as exc:
                yield frame, name, None, str(exc)

    def _new_run(self) -> PredictionRun:
        return PredictionRun(skeleton=self.skeleton, num_joints=self.num_joints, source=str(self.source),
                             precision=self.precision, device=str(self.device),
                             checkpoint=self.checkpoint_sha256, notes=list(self.notes))

    def _run_columns(self, dataset, idx: np.ndarray, progress, on_frame) -> PredictionRun:
        import torch

        progress, result = progress or NullProgress(), self._new_run()
        start = time.perf_counter()
        for a in range(0, len(idx), self.batch_size):
            check_cancelled(progress)
            rows = idx[a:a + self.batch_size]
            batch = {"visible": torch.from_numpy(np.asarray(dataset.visible[rows], bool))}
            for name in sorted(self.family.inputs):
                column = POSE_COLUMNS[name]
                values = getattr(dataset, column, None)
                if values is None:
                    raise InputError(f"{dataset.path}: has no {column}, the {name} input of this "
                                     f"{self.family.name} model")
                batch[column] = torch.from_numpy(np.asarray(values[rows], np.float32))
            t0 = time.perf_counter()
            pred = self.predict_inputs(batch)
            names = [dataset.sample_name(int(i)) for i in rows]
            self._record(result, [int(i) for i in rows], names, pred, t0, on_frame, progress, len(idx))
        result.wall_s = time.perf_counter() - start
        progress.set_progress(1.0)
        return result

    def _run(self, items, total: int, read, progress, on_frame) -> PredictionRun:
        progress = progress or NullProgress()
        result = self._new_run()
        stream = self._prepared(items, read)  # a video: its decode thread already runs ahead, no second one
        if read is not None:
            stream = prefetch(stream, self.queue_size * self.batch_size)
        batch: list[tuple] = []
        start = time.perf_counter()
        try:
            for frame, name, image, reason in stream:
                check_cancelled(progress)
                if image is None:
                    result.add_skipped(name, reason)
                    continue
                batch.append((frame, name, image))
                if len(batch) == self.batch_size:
                    self._flush(batch, result, on_frame, progress, total)
            self._flush(batch, result, on_frame, progress, total)
        finally:
            stream.close()
        result.wall_s = time.perf_counter() - start
        progress.set_progress(1.0)
        return result

    def _flush(self, batch: list, result: PredictionRun, on_frame, progress, total: int) -> None:
        if not batch:
            return
        t0 = time.perf_counter()
        rows = self.predict_batch(self.batch_tensor([t for _, _, t in batch]))
        self._record(result, [f for f, _, _ in batch], [n for _, n, _ in batch], rows, t0, on_frame, progress, total)
        batch.clear()

    def _record(self, result: PredictionRun, frames: list, names: list, rows: Prediction, t0: float,
                on_frame, progress, total: int) -> None:
        """Add a batch's rows to ``result``, call ``on_frame`` per frame, report progress."""
        per_frame_ms = (time.perf_counter() - t0) * 1000.0 / len(frames)
        result.add_prediction(frames, names, rows, per_frame_ms)
        if on_frame is not None:
            for k, (frame, name) in enumerate(zip(frames, names)):
                on_frame({"frame": frame, "name": name, "prediction": rows.take([k]),
                          "joints_3d": None if rows.joints_3d is None else rows.joints_3d[k],
                          "time_ms": per_frame_ms})
        done = len(result) + result.skipped
        progress.set_progress(min(done / total, 0.999) if total else 0.0)
        progress.set_status(f"{done} of {total or '?'} frames")


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


def _is_dataset(path: Path) -> bool:
    from hpe_core.datasets import detect_format

    try:
        return detect_format(path) not in ("folder", "video")
    except DatasetError:
        return False
