"""Rows' images, cropped and letterboxed for a model, read ahead of it.

    with letterboxed(dataset, rows, size) as stream:
        for row, name, image, region, reason in stream: ...   # image None: unreadable, and why

``region`` is the :class:`~hpe_core.datasets.transforms.Region` of the stored image the model sees:
the row's person crop when the dataset has boxes (:func:`hpe_core.datasets.boxes.row_region`), else
the whole frame; ``uncrop_joints(j, region, size)`` maps the model's 2D back to the stored image.
Images are read, cropped and letterboxed in a prefetch thread feeding a bounded queue, so reading overlaps
the model. A video's rows in order (every k-th frame from the first) come from its own decode
thread instead, which shrinks each frame before converting its colours (:mod:`hpe_core.inference.video`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np

from hpe_core.datasets.transforms import Region
from hpe_core.errors import DatasetError, InputError
from hpe_core.inference.run import prefetch


@contextmanager
def letterboxed(dataset, rows: np.ndarray, size: int, queue_size: int = 64):
    """``(row, name, (size, size, 3) uint8 or None, Region or None, reason)`` per row."""
    stream = _video_stream(dataset, rows, size, queue_size)
    if stream is None:
        stream = prefetch(_read(dataset, rows, size), queue_size)
    try:
        yield stream
    finally:
        stream.close()


def _read(dataset, rows: np.ndarray, size: int) -> Iterator[tuple]:
    from hpe_core.datasets.boxes import row_region
    from hpe_core.datasets.transforms import crop_box

    boxed = dataset.has("boxes")
    for row in rows.tolist():
        name = dataset.sample_name(row)
        try:
            region = row_region(dataset, row, (0, 0)) if boxed else None
            if boxed and region is None:
                yield row, name, None, None, f"no person box ({dataset.extra.get('boxes', 'boxes')})"
                continue
            image = _check_image(dataset.load_image(row), name)
            region = region or Region.whole(*image.shape[:2])
            yield row, name, crop_box(image, region, size), region, None
        except (DatasetError, InputError, OSError) as exc:
            yield row, name, None, None, str(exc)


def _check_image(image, name) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
        raise InputError(f"{name}: expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    return image


class _VideoStream:
    """A video's decode thread as the stream of :func:`letterboxed` (its frames are its rows)."""

    def __init__(self, decoded, hw: tuple[int, int]) -> None:
        self.decoded, self.hw = decoded, hw

    def __iter__(self):
        for frame, name, image in self.decoded:
            reason = None if image is not None else "frame could not be decoded"
            yield frame, name, image, Region.whole(*self.hw) if image is not None else None, reason

    def close(self) -> None:
        self.decoded.close()


def _video_stream(dataset, rows: np.ndarray, size: int, queue_size: int) -> _VideoStream | None:
    """The decode thread for ``rows`` = every k-th frame of a video from the first, else None."""
    from hpe_core.datasets.video import VideoFrames
    from hpe_core.inference.video import DecodedVideo

    frames = getattr(dataset, "images", None)
    if dataset.has("boxes") or not isinstance(frames, VideoFrames) or len(dataset) != frames.count or len(rows) == 0 or rows[0] != 0:
        return None  # not a video, a selection of its frames, or not from the first frame
    stride = int(rows[1] - rows[0]) if len(rows) > 1 else 1
    if stride < 1 or not np.array_equal(rows, np.arange(len(rows)) * stride):
        return None
    width, height = dataset.extra["image_size"]
    decoded = DecodedVideo(dataset.images.file, size, stride, max_frames=len(rows), queue_size=queue_size)
    return _VideoStream(decoded, (int(height), int(width)))
