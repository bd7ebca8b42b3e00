"""The playback cursor: steps, loops, plays on a timer."""

from __future__ import annotations

from app.playback import Playback


def test_playback_steps_and_loops(qtbot):
    pb = Playback()
    pb.set_range(3, fps=100)
    frames = []
    pb.frame_changed.connect(frames.append)
    pb.step(1)
    pb.step(1)
    pb.step(1)
    assert frames == [1, 2, 0]
    pb.play()
    qtbot.waitUntil(lambda: len(frames) >= 6, timeout=2000)
    pb.pause()
    assert not pb.playing and set(frames) == {0, 1, 2}
