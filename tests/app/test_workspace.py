"""What the workspace promises over a long session: finished tasks are freed (so are the images
they loaded), and a video plays without decoding a frame on the GUI thread."""

from __future__ import annotations

import gc
import threading
import weakref

from app.workers.task import Task
from helpers import make_dataset, make_video, wait_idle

BOUND = 24  # live tasks at any time: the few a session runs at once, never one per selection


def live_tasks() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Task)  # no attribute access on other objects


def test_selecting_500_samples_frees_their_tasks_and_images(qtbot, window, files, tmp_path):
    ws = window.workspace
    dataset = make_dataset(tmp_path / "five_hundred", n_poses=100, n_cams=5, size=32)
    ws.open_paths([str(dataset), str(files.checkpoint)])
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == 0
                    and ws.catalog.checkpoint is not None, timeout=30_000)
    assert len(ws.catalog.dataset) == 500
    first = weakref.ref(ws.feed.sample.image)
    counts = []
    for index in range(1, 500):
        ws.select(index)
        qtbot.waitUntil(lambda i=index: ws.feed.sample is not None and ws.feed.sample.index == i, timeout=10_000)
        if index % 50 == 0:
            counts.append(live_tasks())
    wait_idle(qtbot, ws)
    qtbot.wait(50)  # the last finished tasks' deleteLater
    counts.append(live_tasks())
    assert max(counts) <= BOUND, counts  # 499 selections each started an image task (and a prediction)
    assert counts[-1] <= 4, counts  # idle: what is left is what the views hold, not a history
    assert first() is None  # the first sample's image went with its task and its sample


def test_playing_a_300_frame_video_decodes_in_workers_and_frees_the_frames(qtbot, window, tmp_path, monkeypatch):
    from hpe_core.datasets.video import VideoFrames

    decoded_on = []
    load = VideoFrames.load

    def recording_load(self, row):
        decoded_on.append(threading.get_ident())
        return load(self, row)

    monkeypatch.setattr(VideoFrames, "load", recording_load)
    ws = window.workspace
    video = make_video(tmp_path / "three_hundred.avi", frames=300, size=48)
    ws.open_paths([str(video)])
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.image is not None, timeout=30_000)
    assert ws.catalog.dataset.format == "video" and ws.playback.count == 300
    first = weakref.ref(ws.feed.sample.image)
    shown, counts = set(), []
    ws.feed.sample_changed.connect(lambda s: s is not None and shown.add(s.index))
    ws.playback.frame_changed.connect(lambda f: f % 60 == 0 and counts.append(live_tasks()))
    ws.playback.loop, ws.playback.fps = False, 100.0
    gui = threading.get_ident()
    ws.playback.play()
    qtbot.waitUntil(lambda: not ws.playback.playing, timeout=60_000)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == 299, timeout=10_000)
    wait_idle(qtbot, ws)
    window.browser_view.shutdown()  # its thumbnails decode frames too (in their own worker)
    assert ws.playback.frame == 299 and len(shown) > 10  # it played through, showing frames as they came
    assert decoded_on and gui not in decoded_on  # every frame was decoded in a worker
    counts.append(live_tasks())
    assert max(counts) <= BOUND, counts
    assert first() is None  # frame 0's image is not kept once later frames are shown
