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
    ws = window.workspace
    ws.open_paths([str(checkpoint), str(video)])
    qtbot.waitUntil(lambda: ws.video.info is not None and ws.checkpoint is not None, timeout=20_000)
    wait_idle(qtbot, ws)
    assert ws.mode == "video"


def test_inference_runs_in_a_worker_while_the_ui_stays_responsive(qtbot, window, files, tmp_path):
    ws = window.workspace
    video = make_video(tmp_path / "walk.avi", frames=FRAMES, size=96)
    open_video_and_checkpoint(qtbot, window, video, files.checkpoint)
    assert window.video_view.run_button.isEnabled()
    latency = LoopLatency()
    forward_threads = set()  # every thread that ran a module's forward during the job
    hook = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda module, args: forward_threads.add(threading.get_ident()))
    try:
        window.video_view.run_button.click()
        task = ws.video.task
        assert task is not None and task.is_running()
        with qtbot.waitSignal(task.finished, timeout=60_000):
            pass
    finally:
        hook.remove()
        latency.stop()
    assert task.state == "done"
    # the model ran, never on the GUI thread, and the GUI thread served its timers meanwhile (how
    # long a tick was late depends on the machine's load, so it is not asserted)
    assert forward_threads and threading.get_ident() not in forward_threads
    assert latency.ticks > 10
    assert ws.video.frames_done() == FRAMES and np.isfinite(ws.video.joints).all()
    assert f"{FRAMES} / {FRAMES} frames predicted" in window.video_view.info.text()

    # playback: the 2D overlay and the 3D view show the same frame's prediction
    ws.playback.set_frame(10)
    sample = ws.sample
    assert sample.index == 10 and sample.image is not None and sample.image.shape == (96, 96, 3)
    np.testing.assert_allclose(sample.pred_3d, ws.video.joints[10], atol=1e-4)
    assert window.image_view.canvas.sample is sample and sample.pred_2d is not None
    pred3d = window.scene_view.skeletons.pred.joints
    bone = lambda p: np.linalg.norm(p[4] - p[3])  # noqa: E731 - left upper arm length, frame independent
    assert bone(pred3d) == pytest.approx(bone(ws.video.joints[10]), rel=1e-4)
    assert f"frame 11/{FRAMES}" in window.image_view.title.text()

    out = tmp_path / "pred.npz"
    window.video_view.export_to(str(out))
    with np.load(out, allow_pickle=False) as data:
        assert data["joints_3d"].shape == (FRAMES, 19, 3)
        np.testing.assert_allclose(data["joints_3d"], ws.video.joints, atol=1e-4)
        assert data["index"].tolist() == list(range(FRAMES))


def test_cancel_stops_video_inference_and_the_app_keeps_working(qtbot, window, files, tmp_path):
    ws = window.workspace
    long_video = make_video(tmp_path / "long.avi", frames=600)
    open_video_and_checkpoint(qtbot, window, long_video, files.checkpoint)
    task = ws.run_video()
    qtbot.waitUntil(lambda: ws.video.frames_done() > 0, timeout=30_000)
    assert window.video_view.cancel_button.isEnabled()
    with qtbot.waitSignal(task.finished, timeout=10_000):
        window.video_view.cancel_button.click()
    assert task.state == "cancelled"
    done = ws.video.frames_done()
    assert 0 < done < 600
    qtbot.wait(200)
    assert ws.video.frames_done() == done  # nothing arrives after the cancel
    assert window.video_view.run_button.isEnabled() and not window.video_view.cancel_button.isEnabled()
    out = tmp_path / "partial.csv"
    window.video_view.export_to(str(out))  # what was predicted can still be exported
    assert len(out.read_text().splitlines()) == done + 1


def test_a_video_that_cannot_be_decoded_is_reported_by_name(qtbot, window, files, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(5000))
    window.workspace.open_paths([str(files.video)])
    qtbot.waitUntil(lambda: window.workspace.video.info is not None, timeout=10_000)
    window.workspace.open_paths([str(bad)])
    qtbot.waitUntil(lambda: any(level == "error" for level, _ in window.message_bar.history), timeout=10_000)
    assert str(bad) in window.message_bar.history[-1][1]
    assert window.workspace.video.info.path == files.video  # the open video is kept
    assert path_key(files.video) in window.settings.recent_files()
