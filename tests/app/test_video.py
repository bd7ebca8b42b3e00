"""Video: inference in a worker while the UI stays responsive, cancel, playback in sync, export."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QTimer

from app.workspace import path_key
from helpers import wait_idle
from helpers import make_video

FRAMES = 480


class LoopLatency:
    """Largest delay of a 10 ms timer tick: how long the event loop was blocked."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.interval = interval_ms / 1000
        self.worst = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self.timer = QTimer(interval=interval_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last - self.interval)
        self._last = now
        self.ticks += 1

    def stop(self) -> None:
        self.timer.stop()


def open_video_and_checkpoint(qtbot, window, video, checkpoint):
    """Open both; a video is a dataset of its frames, predicted as soon as both are open."""
    ws = window.workspace
    ws.open_paths([str(checkpoint), str(video)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and ws.catalog.checkpoint is not None, timeout=20_000)
    assert ws.catalog.dataset.format == "video" and ws.catalog.current_key == path_key(video)


def frames_done(ws) -> int:
    store = ws.predictions()
    return 0 if store is None else store.count


def test_inference_runs_in_a_worker_while_the_ui_stays_responsive(qtbot, window, files, tmp_path):
    ws = window.workspace
    video = make_video(tmp_path / "walk.avi", frames=FRAMES, size=96)
    latency = LoopLatency()
    forward_threads = set()  # every thread that ran a module's forward during the job
    hook = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda module, args: forward_threads.add(threading.get_ident()))
    try:
        open_video_and_checkpoint(qtbot, window, video, files.checkpoint)
        qtbot.waitUntil(lambda: frames_done(ws) == FRAMES, timeout=60_000)
        wait_idle(qtbot, ws)
    finally:
        hook.remove()
        latency.stop()
    # the model ran, never on the GUI thread, and the GUI thread served its timers meanwhile (how
    # long a tick was late depends on the machine's load, so it is not asserted)
    assert forward_threads and threading.get_ident() not in forward_threads
    assert latency.ticks > 10
    joints = ws.predictions().joints
    assert np.isfinite(joints).all() and len(ws.browse.rows) == FRAMES  # the browser lists its frames
    window.video_view._refresh()
    assert f"{FRAMES} / {FRAMES} frames predicted" in window.video_view.info.text()
    assert not window.video_view.run_button.isEnabled()  # nothing left to predict

    # playback: the 2D overlay and the 3D view show the same frame's prediction
    ws.playback.set_frame(10)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == 10, timeout=10_000)
    sample = ws.feed.sample
    assert sample.image is not None and sample.image.shape == (96, 96, 3)
    np.testing.assert_allclose(sample.pred_3d, joints[10], atol=1e-4)
    assert window.image_view.canvas.sample is sample and sample.pred_2d is not None
    pred3d = window.scene_view.skeletons.pred.joints
    bone = lambda p: np.linalg.norm(p[4] - p[3])  # noqa: E731 - left upper arm length, frame independent
    assert bone(pred3d) == pytest.approx(bone(joints[10]), rel=1e-4)
    assert f"frame 11/{FRAMES}" in window.image_view.title.text()

    out = tmp_path / "pred.npz"
    window.video_view.export_to(str(out))
    with np.load(out, allow_pickle=False) as data:
        assert data["joints_3d"].shape == (FRAMES, 19, 3)
        np.testing.assert_allclose(data["joints_3d"], joints, atol=1e-4)
        assert data["index"].tolist() == list(range(FRAMES))


def test_cancel_stops_video_inference_and_the_app_keeps_working(qtbot, window, files, tmp_path):
    ws = window.workspace
    long_video = make_video(tmp_path / "long.avi", frames=600)
    open_video_and_checkpoint(qtbot, window, long_video, files.checkpoint)
    qtbot.waitUntil(lambda: frames_done(ws) > 0, timeout=30_000)
    task = ws.predicting.task
    assert task is not None and window.video_view.cancel_button.isEnabled()
    with qtbot.waitSignal(task.finished, timeout=10_000):
        window.video_view.cancel_button.click()
    assert task.state == "cancelled"
    done = frames_done(ws)
    assert 0 < done < 600
    qtbot.wait(200)
    assert frames_done(ws) == done  # nothing arrives after the cancel
    qtbot.waitUntil(lambda: not window.video_view.cancel_button.isEnabled(), timeout=5000)
    assert window.video_view.run_button.isEnabled()
    out = tmp_path / "partial.csv"
    window.video_view.export_to(str(out))  # what was predicted can still be exported
    assert len(out.read_text().splitlines()) == done + 1
    window.video_view.run_button.click()  # and the rest predicted later
    qtbot.waitUntil(lambda: frames_done(ws) == 600, timeout=120_000)


def test_a_video_that_cannot_be_decoded_is_reported_by_name(qtbot, window, files, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(5000))
    ws = window.workspace
    ws.open_paths([str(files.video)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None, timeout=10_000)
    ws.open_paths([str(bad)])
    qtbot.waitUntil(lambda: any(level == "error" for level, _ in window.message_bar.history), timeout=10_000)
    assert str(bad) in window.message_bar.history[-1][1]
    assert ws.catalog.current_key == path_key(files.video)  # the open video is kept
    assert path_key(files.video) in window.settings.recent_files()


def test_exported_predictions_name_the_model_and_give_its_timing(qtbot, window, files, tmp_path):
    """A video's exported predictions (JSON and .npz) name the checkpoint (file and sha256) and
    carry the model's time per frame and the frames per second, as ``hpe predict`` writes them."""
    import hashlib
    import json

    ws = window.workspace
    open_video_and_checkpoint(qtbot, window, files.video, files.checkpoint)
    qtbot.waitUntil(lambda: frames_done(ws) == len(ws.catalog.dataset), timeout=60_000)
    wait_idle(qtbot, ws)
    sha = hashlib.sha256(files.checkpoint.read_bytes()).hexdigest()
    window.video_view.export_to(str(tmp_path / "pred.json"))
    doc = json.loads((tmp_path / "pred.json").read_text())
    assert doc["model"] == files.checkpoint.name and doc["checkpoint"] == sha
    assert doc["model_ms_per_frame"] > 0 and doc["frames_per_s"] > 0
    assert len(doc["predictions"]) == len(ws.catalog.dataset)
    assert all(p["time_ms"] > 0 for p in doc["predictions"])
    window.video_view.export_to(str(tmp_path / "pred.npz"))
    from hpe_core.predictions import load_prediction

    saved = load_prediction(tmp_path / "pred.npz")
    assert saved.checkpoint == sha and saved.meta["model"] == files.checkpoint.name
    assert min(saved.meta["times_ms"]) > 0


def test_a_video_without_boxes_warns_the_model_sees_whole_frames_and_its_export_names_the_model(
        qtbot, window, files, tmp_path):
    """Issue 29, item 13: a single-person model on whole frames is said plainly; person boxes crop
    each frame (and the note says so); the exported predictions name the model and their timing."""
    import json

    from app.model import messages

    ws, view = window.workspace, window.video_view
    open_video_and_checkpoint(qtbot, window, files.video, files.checkpoint)
    frames = len(ws.catalog.dataset)
    qtbot.waitUntil(lambda: frames_done(ws) == frames, timeout=60_000)
    wait_idle(qtbot, ws)
    view._refresh()
    assert view.boxes_note.isVisibleTo(view)
    assert view.boxes_note.text() == messages.WHOLE_FRAMES.format(model=files.checkpoint.name)

    out = tmp_path / "pred.json"
    view.export_to(str(out))
    doc = json.loads(out.read_text())
    assert doc["model"] == files.checkpoint.name and doc["crop"] == "whole frame (no person boxes)"
    assert doc["frames"] == frames and doc["model_ms_per_frame"] > 0 and doc["frames_per_s"] > 0
    assert all(p["time_ms"] > 0 for p in doc["predictions"])

    boxes = tmp_path / "people.json"  # a detector's boxes, one per frame (image_id: the frame number)
    boxes.write_text(json.dumps([{"image_id": f, "bbox": [8, 4, 40, 56], "score": 0.9} for f in range(frames)]))
    ws.open_boxes(boxes)
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and ws.catalog.dataset.has("boxes"), timeout=20_000)
    wait_idle(qtbot, ws)
    view._refresh()
    assert view.video() is ws.catalog.dataset  # the boxed video is still a video
    assert view.boxes_note.isVisibleTo(view) and view.boxes_note.text().startswith("The model sees person crops")
