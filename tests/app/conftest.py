"""GUI tests run in real windows: Qt's xcb platform (under Xvfb) so vispy gets OpenGL (Mesa).

Every test fails if it leaves a QThread running (like napari's ``_dangling_qthreads``).
"""

from __future__ import annotations

import os
import traceback
from weakref import WeakKeyDictionary

import pytest

os.environ["QT_QPA_PLATFORM"] = "xcb"
os.environ.setdefault("HPE_STUDIO_TESTING", "1")


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch, qtbot):
    """Fail the test if a QThread it started is still running at its end."""
    from PySide6.QtCore import QThread

    base_start = QThread.start
    started: WeakKeyDictionary = WeakKeyDictionary()

    def start_and_remember(self, *args):
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        base_start(self, *args)

    monkeypatch.setattr(QThread, "start", start_and_remember)
    yield
    dangling = []
    for thread, where in list(started.items()):
        try:
            if thread.isRunning():
                dangling.append(where)
                thread.quit()
                thread.wait(5000)
        except RuntimeError:  # the C++ object is gone: the thread ended
            pass
    if dangling:
        raise RuntimeError(f"{len(dangling)} QThread(s) left running, started at:\n" + "\n---\n".join(dangling))


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    """A private settings folder for one test."""
    folder = tmp_path / "config"
    monkeypatch.setenv("HPE_STUDIO_CONFIG_DIR", str(folder))
    return folder
