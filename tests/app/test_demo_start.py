"""First start: ``hpe-studio`` opens the built-in demo, or says clearly why it cannot."""

from __future__ import annotations

import sys
import pytest
from PySide6.QtGui import QImage

from app.model import messages
from app.demo import demo_checkpoints
from app.workspace import path_key
from helpers import wait_for_prediction

def test_the_demo_opens_with_its_checkpoints_and_shows_predictions(qtbot, window, demo_cache, monkeypatch):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(demo_cache))
    ws = window.workspace
    active = []  # every checkpoint made active, in order (issue 29, item 12: no flip at first start)
    ws.catalog.active_checkpoint_changed.connect(lambda loaded: active.append(loaded and loaded.path.name))
    window.start([])  # no path, no last workspace: the demo
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None, timeout=60_000)
    assert ws.catalog.dataset.format == "native" and len(ws.catalog.dataset) > 1000
    assert window.browser_view.model.rowCount() == len(ws.catalog.dataset)
    expected = demo_checkpoints()
    qtbot.waitUntil(lambda: len(ws.catalog.checkpoints) == len(expected), timeout=60_000)
    assert set(ws.catalog.checkpoints) == {path_key(p) for p in expected}
    if expected:  # the demo checkpoints ship with the source tree once built
        wait_for_prediction(qtbot, ws, timeout=60_000)
        assert ws.catalog.active_key == path_key(expected[0])
        assert active == [expected[0].name]  # the preferred one from the start, never another on the way
        assert ws.feed.sample.metrics["MPJPE"] > 0
    assert not [m for m in window.message_bar.history if m[0] == "error"]


def test_without_the_demo_a_clear_message_says_what_to_do(qtbot, window, monkeypatch):
    monkeypatch.setitem(sys.modules, "hpe_core.datasets.demo", None)  # as if not installed
    window.start([])
    qtbot.waitUntil(lambda: bool(window.message_bar.history), timeout=10_000)
    assert window.message_bar.history[-1] == ("info", messages.NO_DEMO)
    assert window.workspace.catalog.dataset is None


def test_screenshot_of_the_main_window(qtbot, tmp_path, files, monkeypatch):
    """``hpe-studio --screenshot FILE PATH...`` renders the settled window to a PNG."""
    from app.__main__ import main

    monkeypatch.setenv("HPE_STUDIO_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # main() installs its own; undone after
    out = tmp_path / "shot.png"
    assert main(["--screenshot", str(out), "--size", "1200x760", str(files.dataset), str(files.checkpoint)]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 760)
    colours = {image.pixel(x, y) for x in range(0, 1200, 37) for y in range(0, 760, 29)}
    assert len(colours) > 50  # a real rendering, not a blank window
