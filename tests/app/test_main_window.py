"""The main window in a real X window: opening, selecting, bad input, failures, sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.model import messages
from app.workspace import path_key
from helpers import wait_for_prediction, wait_idle

ROOT = Path(__file__).resolve().parents[2]


def errors(window) -> list[str]:
    return [text for level, text in window.message_bar.history if level == "error"]


def open_and_wait(qtbot, window, *paths) -> None:
    window.workspace.open_paths([str(p) for p in paths])
    wait_for_prediction(qtbot, window.workspace)


def test_importing_and_building_the_window_loads_no_heavy_library():
    code = ("import sys, os; os.environ['QT_QPA_PLATFORM']='xcb'; from PySide6.QtWidgets import QApplication; "
            "a = QApplication([]); from app.main_window import MainWindow; w = MainWindow(); w.show(); "
            "a.processEvents(); print(' '.join(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('torch', 'sklearn', 'umap', 'cv2'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         env={**os.environ, "HPE_STUDIO_TESTING": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_selecting_a_sample_updates_the_image_and_the_3d_view(qtbot, window, files):
    ws = window.workspace
    open_and_wait(qtbot, window, files.dataset, files.checkpoint)
    assert window.image_view.canvas.sample is ws.feed.sample
    first = window.scene_view.render(size=(320, 240)).copy()
    first_gt = window.scene_view.skeletons.gt.joints.copy()
    with qtbot.waitSignal(ws.feed.sample_changed, timeout=10_000, check_params_cb=lambda s: s.index == 20):
        window.browser_view.list.setCurrentIndex(window.browser_view.model.index(20))
    wait_for_prediction(qtbot, ws)
    assert ws.feed.selection == 20 and window.image_view.canvas.sample.index == 20
    assert "#20" in window.image_view.title.text() and "MPJPE" in window.image_view.metrics.text()
    canvas = window.image_view.canvas
    assert canvas.sample.image is not None and canvas.sample.pred_2d is not None
    # grab() paints even where the window system holds a paint back (repaint() may not, leaving the count
    # of an earlier paint); the wait covers a rebuild of the sample still in the event queue
    qtbot.waitUntil(lambda: canvas.grab() is not None and canvas.bones_drawn == 2 * 18, timeout=10_000)
    assert not np.allclose(window.scene_view.skeletons.gt.joints, first_gt)
    second = window.scene_view.render(size=(320, 240))
    assert np.abs(second.astype(int) - first.astype(int)).sum() > 0


def test_3d_view_draws_aligned_prediction_on_the_ground_truth(qtbot, window, files):
    ws = window.workspace
    open_and_wait(qtbot, window, files.dataset, files.checkpoint)
    ws.options.align = "none"
    before = np.linalg.norm(window.scene_view.skeletons.pred.joints - window.scene_view.skeletons.gt.joints)
    ws.options.align = "similarity"
    after = np.linalg.norm(window.scene_view.skeletons.pred.joints - window.scene_view.skeletons.gt.joints)
    assert after < before
    assert window.scene_view.align.currentData() == "similarity"


@pytest.mark.parametrize("kind", ["not_a_dataset", "corrupt_checkpoint", "bad_video", "missing"])
def test_bad_input_shows_a_message_naming_the_file_and_keeps_what_is_open(qtbot, window, files, tmp_path, kind):
    ws = window.workspace
    open_and_wait(qtbot, window, files.dataset, files.checkpoint)
    bad = {"not_a_dataset": tmp_path / "notes.txt", "corrupt_checkpoint": tmp_path / "broken.pt",
           "bad_video": tmp_path / "clip.mp4", "missing": tmp_path / "nowhere"}[kind]
    if kind == "not_a_dataset":
        bad.write_text("hello")
    elif kind == "corrupt_checkpoint":
        bad.write_bytes(files.checkpoint.read_bytes()[:5000])
    elif kind == "bad_video":
        bad.write_bytes(np.random.default_rng(0).bytes(20_000))
    drop(window, [bad])
    qtbot.waitUntil(lambda: bool(errors(window)), timeout=20_000)
    (text,) = errors(window)
    assert str(bad) in text and "Traceback" not in text
    assert window.message_bar.isVisible() and bad.name in window.message_bar.label.text()
    assert list(ws.catalog.datasets) == [path_key(files.dataset)] and list(ws.catalog.checkpoints) == [path_key(files.checkpoint)]
    assert ws.feed.sample is not None and ws.feed.sample.pred_3d is not None


def drop(window, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_the_first_checkpoint_listed_becomes_active_whichever_loads_first(qtbot, window, files, tmp_path):
    from helpers import make_checkpoint

    second = make_checkpoint(tmp_path / "second.pt", width=16)
    with qtbot.waitSignal(window.workspace.catalog.active_checkpoint_changed, timeout=30_000,
                          check_params_cb=lambda c: c is not None and c.path == second):
        window.workspace.open_paths([str(files.dataset), str(second), str(files.checkpoint)])
    wait_idle(qtbot, window.workspace)
    assert window.workspace.catalog.active_key == path_key(second) and len(window.workspace.catalog.checkpoints) == 2


def test_dropping_a_dataset_opens_it_and_remembers_it(qtbot, window, files):
    drop(window, [files.dataset])
    qtbot.waitUntil(lambda: window.workspace.catalog.dataset is not None, timeout=10_000)
    assert window.browser_view.model.rowCount() == len(window.workspace.catalog.dataset) == 36
    assert window.settings.recent_files()[0] == path_key(files.dataset)
    assert files.dataset.name in [a.text() for a in window.recent_menu.actions()]


def test_an_image_folder_without_annotations_shows_predictions_only(qtbot, window, files):
    ws = window.workspace
    open_and_wait(qtbot, window, files.dataset / "images" / "01", files.checkpoint)
    assert ws.catalog.dataset.format == "folder" and len(ws.catalog.dataset) == 12
    assert ws.feed.sample.gt_3d is None and ws.feed.sample.metrics == {} and ws.feed.sample.approximate_overlay
    assert not window.browser_view.filters["action"].isEnabled()
    assert window.scene_view.skeletons.pred.joints.shape == (19, 3)
    assert np.nanmin(window.scene_view.skeletons.pred.joints[:, 2]) == pytest.approx(0.0, abs=1e-6)
    assert "prediction (no ground truth)" in window.image_view.metrics.text()


def test_a_failing_worker_shows_an_error_and_the_app_keeps_working(qtbot, window, files):
    ws = window.workspace

    def broken(progress):
        return 1 / 0

    ws.run_task(broken, "Broken analysis")
    qtbot.waitUntil(lambda: bool(errors(window)), timeout=5000)
    (text,) = errors(window)
    assert text.startswith(messages.BUG.format(name="Broken analysis", why="")[:30])
    assert "ZeroDivisionError" in text
    open_and_wait(qtbot, window, files.dataset, files.checkpoint)  # still works
    ws.step_selection(1)
    qtbot.waitUntil(lambda: ws.feed.sample.index == 1, timeout=5000)


def test_a_saved_workspace_reopens_as_it_was(qtbot, window, files, tmp_path):
    from app.main_window import MainWindow
    from app.settings import Settings

    ws = window.workspace
    open_and_wait(qtbot, window, files.dataset, files.checkpoint)
    ws.set_filter("action", 1)
    ws.set_sort("error_desc")
    ws.options.align = "rigid"
    ws.options.frustums = False
    ws.select(int(ws.browse.rows[3]))
    wait_idle(qtbot, ws)
    path = ws.save_workspace(tmp_path / "session.hpews")
    saved = ws.state()

    other = MainWindow(settings=Settings(tmp_path / "other-settings"))
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitSignal(other.workspace.workspace_loaded, timeout=30_000):
        other.workspace.open_paths([path])
    wait_for_prediction(qtbot, other.workspace)
    assert other.workspace.state() == saved
    assert other.browser_view.filters["action"].currentData() == 1
    assert other.scene_view.frustums.isChecked() is False
    assert other.image_view.canvas.sample.index == saved.selection
    assert other.workspace_path == path.resolve()
    other.close()


def test_layout_and_last_workspace_are_restored(qtbot, files, tmp_path):
    from app.main_window import MainWindow
    from app.settings import Settings

    first = MainWindow(settings=Settings(tmp_path / "s"))
    qtbot.addWidget(first)
    first.show()
    first.workspace.open_paths([str(files.dataset)])
    qtbot.waitUntil(lambda: first.workspace.catalog.dataset is not None, timeout=10_000)
    first.scene_dock.hide()
    first.resize(1300, 760)
    qtbot.waitUntil(lambda: first.size().width() == 1300, timeout=3000)
    first.close()

    second = MainWindow(settings=Settings(tmp_path / "s"))
    qtbot.addWidget(second)
    second.show()
    second.start([])
    qtbot.waitUntil(lambda: second.workspace.catalog.dataset is not None, timeout=10_000)
    assert path_key(files.dataset) in second.workspace.catalog.datasets
    assert second.scene_dock.isHidden() and (second.size().width(), second.size().height()) == (1300, 760)
    second.close()


@pytest.mark.parametrize("name, cls", [("embedding", "EmbeddingView"), ("kernel", "KernelView"),
                                       ("compare", "CompareView")])
def test_analysis_docks_build_their_view_when_first_shown(qtbot, window, name, cls):
    dock = window.analysis_docks[name]
    assert getattr(dock, "view", None) is None  # not built at start: the window shows fast
    dock.show()
    dock.raise_()
    qtbot.waitUntil(lambda: getattr(dock, "view", None) is not None, timeout=5000)
    view = dock.widget().view  # in a scroll area: below its minimum size it scrolls
    assert type(view).__name__ == cls and view is window.analysis_view(name)


def test_the_training_panel_is_built_on_first_use(qtbot, window):
    assert window._training_view is None
    window.actions_["training"].trigger()
    qtbot.waitUntil(lambda: window._training_view is not None, timeout=5000)
    assert window.training_dock.widget().view is window.training_view


def test_ctrl_s_asks_for_a_file_until_the_session_has_one(qtbot, files, tmp_path, monkeypatch):
    """The last session comes back at start from the settings' own file: Ctrl+S then asks where
    to save (it never writes silently into that file); once saved, Ctrl+S saves there again."""
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QFileDialog

    from app.main_window import MainWindow
    from app.settings import Settings

    first = MainWindow(settings=Settings(tmp_path / "s"))
    qtbot.addWidget(first)
    first.show()
    first.workspace.open_paths([str(files.dataset)])
    qtbot.waitUntil(lambda: first.workspace.catalog.dataset is not None, timeout=10_000)
    first.close()  # the session is kept in the settings' folder

    second = MainWindow(settings=Settings(tmp_path / "s"))
    qtbot.addWidget(second)
    second.show()
    with qtbot.waitSignal(second.workspace.workspace_loaded, timeout=30_000):
        second.start([])
    mine = tmp_path / "mine.hpews"
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (asked.append(a), (str(mine), ""))[1]))
    second.activateWindow()
    qtbot.waitActive(second)
    ctrl_s = lambda: QTest.keyClick(second.windowHandle(), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # noqa: E731
    ctrl_s()  # as the keyboard does: through the window system
    assert len(asked) == 1 and mine.is_file() and second.workspace_path == mine
    mine.unlink()
    ctrl_s()
    assert len(asked) == 1 and mine.is_file()  # the session's file now: no question
    second.close()
