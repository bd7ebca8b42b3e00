"""The video decode thread: the same images and predictions as decoding first, stride and limits,
undecodable frames, a bounded queue, cancellation and errors handed to the consumer."""

import threading

import cv2
import numpy as np
import pytest
import torch

from predict_helpers import run_predict
from analysis_assets import IMAGE_SIZE, corrupt_video_frame, make_assets
from hpe_core.datasets.transforms import letterbox
from hpe_core.errors import InputError
from hpe_core.inference import Predictor
from hpe_core.models import load_checkpoint
from hpe_core.inference.video import decode_video


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """10 frames of 160 x 120 textured noise (MJPG), so letterboxing really resizes."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (0, 0), 2)
    for i in range(10):
        writer.write(np.roll(base, 7 * i, axis=1))
    writer.release()
    return path


def _decoded_first(path, size, count=None):
    """Every frame read with a plain capture, converted to RGB, then letterboxed."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while count is None or len(out) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out if size is None else [letterbox(im, size) for im in out]


@pytest.mark.parametrize("size", [50, 64, 200])  # shrink (a non-integer factor), shrink, enlarge
def test_images_equal_decoding_first_then_letterboxing(clip, size):
    frames, total = decode_video(clip, size)
    got = list(frames)
    expected = _decoded_first(clip, size)
    assert total == 10 and [f for f, _, _ in got] == list(range(10))
    assert [n for _, n, _ in got] == [f"frame {i}" for i in range(10)]
    for (_, _, image), ref in zip(got, expected):
        assert image.shape == (size, size, 3) and image.dtype == np.uint8
        np.testing.assert_array_equal(image, ref)


@pytest.mark.parametrize("stride, max_frames, expected", [(3, None, [0, 3, 6, 9]), (2, 2, [0, 2]), (1, 4, [0, 1, 2, 3])])
def test_stride_and_limit(clip, stride, max_frames, expected):
    frames, total = decode_video(clip, 32, stride=stride, max_frames=max_frames)
    assert [f for f, _, _ in frames] == expected and total == len(expected)


def test_predictions_equal_decoding_first(clip, tmp_path_factory):
    model = load_checkpoint(make_assets(tmp_path_factory.mktemp("assets")).regressor)[0]
    predictor = Predictor(model, "cpu", batch_size=4, image_size=IMAGE_SIZE)
    video = run_predict(predictor, clip)
    images = [predictor.preprocess(im) for im in _decoded_first(clip, None)]  # training's to_tensor, per image
    first = np.concatenate([predictor.predict_tensor(torch.stack(images[a:a + 4])) for a in range(0, 10, 4)])
    assert video.frames == list(range(10)) and video.skipped == 0
    np.testing.assert_array_equal(video.joints_3d, first)  # the same tensors in the same batches
    np.testing.assert_array_equal(predictor.predict_arrays(_decoded_first(clip, None)), first)


@pytest.mark.parametrize("channels_last", [True, False])
def test_a_batch_is_normalised_as_each_image_is_in_training(channels_last):
    """One pass over the (N, S, S, 3) stack: the same floats as stacking to_tensor of each image,
    already in the channels-last layout the model runs in."""
    from hpe_core.models import build_model

    model = build_model("regressor", "resnet18", width=8, head_layers=1).eval()
    predictor = Predictor(model, "cpu", image_size=40, channels_last=channels_last)
    rng = np.random.default_rng(3)
    images = [letterbox(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), 40) for h, w in ((30, 50), (40, 40), (90, 20))]
    batch = predictor.batch_tensor(images)
    assert batch.shape == (3, 3, 40, 40) and batch.dtype == torch.float32
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batch, torch.stack([predictor.preprocess(im) for im in images]))


def test_an_undecodable_frame_is_reported_not_fatal(clip, tmp_path):
    bad = corrupt_video_frame(clip, tmp_path / "bad.avi", 4)
    got = list(decode_video(bad, 40)[0])
    assert [f for f, _, _ in got] == list(range(10))
    assert [f for f, _, im in got if im is None] == [4]
    good = _decoded_first(clip, 40)
    for f, _, image in got:
        if image is not None:
            np.testing.assert_array_equal(image, good[f])


def test_the_queue_is_bounded(clip):
    frames, _ = decode_video(clip, 32, queue_size=2)
    it = iter(frames)
    next(it)
    stream = frames._stream  # the decode thread's prefetch queue
    while stream._queue.qsize() < 2 and stream._thread.is_alive():  # wait for the thread to fill it
        threading.Event().wait(0.01)
    assert stream._queue.qsize() == 2 and stream._thread.is_alive()  # blocked, not decoding ahead
    it.close()
    assert not stream._thread.is_alive()


def test_leaving_the_loop_stops_the_thread_and_restores_opencv_threads(clip):
    before_threads, before_cv = threading.active_count(), cv2.getNumThreads()
    frames, _ = decode_video(clip, 32, queue_size=1)
    for frame, _, _ in frames:
        if frame == 2:
            break
    frames.close()
    assert threading.active_count() == before_threads and cv2.getNumThreads() == before_cv


def test_an_error_in_the_decode_thread_reaches_the_consumer(clip, monkeypatch):
    import hpe_core.datasets.transforms as transforms

    real_fit, calls = transforms.fit, []

    def failing_fit(image, size):
        calls.append(image.shape[1] == 160)  # a decoded frame (not the small one letterbox checks)
        if sum(calls) == 3:
            raise MemoryError("decoder ran out of memory")
        return real_fit(image, size)

    monkeypatch.setattr(transforms, "fit", failing_fit)
    before = threading.active_count()
    frames, _ = decode_video(clip, 32)
    seen = []
    with pytest.raises(MemoryError, match="decoder ran out of memory"):
        for frame, _, _ in frames:
            seen.append(frame)
    assert seen == [0, 1] and threading.active_count() == before


def test_bad_arguments(clip, tmp_path):
    with pytest.raises(InputError, match="no such video file"):
        decode_video(tmp_path / "missing.mp4", 32)
    with pytest.raises(InputError, match="stride"):
        decode_video(clip, 32, stride=0)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(InputError, match="cannot open"):
        decode_video(junk, 32)
