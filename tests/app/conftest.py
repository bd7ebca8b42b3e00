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


# Every wait below names the event it needs; its timeout is only a guard against a hang. The
# timeouts written in the tests are about 3-10x what a quiet 2-core machine needs; a slower or
# busier machine (one CI run took over 60 s to render the demo set) must not turn them into
# failures, so each is stretched by this factor (HPE_STUDIO_TEST_WAIT_SCALE), far beyond the need
# yet well inside pytest-timeout's 600 s per test.
WAIT_SCALE = float(os.environ.get("HPE_STUDIO_TEST_WAIT_SCALE", "6"))


@pytest.fixture(autouse=True)
def _patient_waits(monkeypatch):
    """Stretch the guard timeouts of qtbot's waits by ``WAIT_SCALE`` (the default 5 s too)."""
    from pytestqt.qtbot import QtBot

    def stretched(method, default):
        def wait(self, *args, timeout=default, **kwargs):
            if timeout is not None and timeout > 0:
                timeout = int(timeout * WAIT_SCALE)
            return method(self, *args, timeout=timeout, **kwargs)
        return wait

    for name in ("waitUntil", "waitSignal", "waitSignals", "waitCallback"):
        monkeypatch.setattr(QtBot, name, stretched(getattr(QtBot, name), 5000))


@pytest.fixture(autouse=True)
def _own_prediction_cache(tmp_path, monkeypatch):
    """Each test its own on-disk prediction cache: predictions one test made are never another
    test's (a test of the cache restarts within itself)."""
    from hpe_core.inference import cache as prediction_cache

    folder = tmp_path / "prediction-cache"
    monkeypatch.setattr(prediction_cache, "cache_folder", lambda: folder)
    return folder


@pytest.fixture(autouse=True)
def _collect_on_the_gui_thread(qapp):
    """As in the app: cyclic garbage is collected on the GUI thread only, never by a worker
    (which would destroy a previous test's widgets off their thread). Set up before, so torn down
    after, the check that no QThread is left."""
    from app.workers.collector import MainThreadCollector

    collector = MainThreadCollector(parent=qapp).start()
    yield collector
    collector.stop()
    collector.deleteLater()


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


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory):
    """One private demo-dataset cache (HPE_STUDIO_CACHE) for the session: the demo set is made once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    """A private settings folder for one test."""
    folder = tmp_path / "config"
    monkeypatch.setenv("HPE_STUDIO_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """Real files shared by the GUI tests: a native dataset, a regressor checkpoint, a video."""
    from types import SimpleNamespace

    from helpers import make_checkpoint, make_dataset, make_video

    root = tmp_path_factory.mktemp("files")
    return SimpleNamespace(dataset=make_dataset(root / "dataset"), checkpoint=make_checkpoint(root / "regress.pt"),
                           video=make_video(root / "clip.avi"), root=root)


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown main window with private settings; closed (threads joined) at the end."""
    from app.main_window import MainWindow
    from app.settings import Settings

    win = MainWindow(settings=Settings(tmp_path / "settings"))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
