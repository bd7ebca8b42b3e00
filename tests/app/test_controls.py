"""Keyboard shortcuts, the device chooser and sorting by prediction error, in the real window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.actions import SHORTCUTS
from helpers import wait_for_prediction, wait_idle


@pytest.fixture
def opened(qtbot, window, files):
    window.workspace.open_paths([str(files.dataset), str(files.checkpoint)])
    wait_for_prediction(qtbot, window.workspace)
    return window


def test_shortcuts_are_unique_and_documented():
    keys = [key for _, _, key, _ in SHORTCUTS if key]
    assert len(keys) == len(set(keys))
    assert all(tip for _, _, _, tip in SHORTCUTS)


def test_keyboard_drives_selection_playback_and_the_3d_options(qtbot, opened):
    ws = opened.workspace
    opened.activateWindow()
    qtbot.waitUntil(opened.isActiveWindow, timeout=3000)
    opened.image_view.setFocus()
    QTest.keyClick(opened, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: ws.feed.selection == 1, timeout=3000)
    QTest.keyClick(opened, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: ws.feed.selection == 0, timeout=3000)
    QTest.keyClick(opened, Qt.Key.Key_F)
    assert ws.options.frustums is False and not opened.scene_view.frustums.isChecked()
    QTest.keyClick(opened, Qt.Key.Key_A)
    assert ws.options.align == "rigid" and opened.scene_view.align.currentData() == "rigid"
    QTest.keyClick(opened, Qt.Key.Key_Space)
    assert ws.playback.playing
    first = ws.feed.selection
    qtbot.waitUntil(lambda: ws.feed.selection != first, timeout=3000)  # playing through the sequence
    QTest.keyClick(opened, Qt.Key.Key_Space)
    assert not ws.playback.playing


def test_choosing_a_device_and_precision_shows_in_the_status_bar(qtbot, opened):
    ws = opened.workspace
    ws.set_device("cpu", "bf16")
    qtbot.waitUntil(lambda: opened.device_label.text() == "Device: cpu (bf16)", timeout=20_000)
    wait_idle(qtbot, ws)
    assert ws.catalog.checkpoint.predictor.precision == "bf16"
    assert opened.settings.device() == ("cpu", "bf16")
    assert opened.device_view.precision.currentData() == "bf16"


def test_a_device_this_machine_lacks_is_reported_not_crashed(qtbot, opened):
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has eight GPUs")
    opened.workspace.set_device("cuda:7")
    qtbot.waitUntil(lambda: any(lv == "error" for lv, _ in opened.message_bar.history), timeout=20_000)
    text = [t for lv, t in opened.message_bar.history if lv == "error"][-1]
    assert "cuda:7" in text and "Traceback" not in text
    assert opened.workspace.catalog.checkpoint.device == "cpu"  # the loaded model keeps working
    assert opened.workspace.device.spec == "auto" and opened.settings.device()[0] == "auto"
    assert opened.device_view.device.currentData() == "auto"


def test_sorting_by_error_lists_the_worst_predictions_first(qtbot, opened):
    ws = opened.workspace
    qtbot.waitUntil(lambda: ws.predictions() is not None and ws.predictions().count == len(ws.catalog.dataset),
                    timeout=30_000)
    combo = opened.browser_view.sort
    combo.setCurrentIndex(combo.findData("error_desc"))
    combo.activated.emit(combo.currentIndex())
    error = ws.predictions().error
    listed = error[opened.browser_view.model.rows]
    assert np.all(np.diff(listed) <= 0) and listed[0] == np.nanmax(error)
    top = opened.browser_view.model.index(0)
    assert f"{listed[0]:.0f}" in f"{top.data(Qt.ItemDataRole.UserRole + 2):.0f}"


def test_a_checkpoint_trained_up_to_rotation_is_shown_aligned_and_ranked_by_pa_mpjpe(qtbot, window, files, tmp_path):
    from helpers import make_checkpoint

    ckpt = make_checkpoint(tmp_path / "rot.pt", training={"task": "regress3d", "config": {
        "task": "regress3d", "regression": {"loss": "rotation_mse"}}})
    ws = window.workspace
    ws.open_paths([str(files.dataset), str(ckpt)])
    wait_for_prediction(qtbot, ws)
    assert ws.options.align == "rigid" and window.scene_view.align.currentData() == "rigid"
    qtbot.waitUntil(lambda: ws.predictions().count == len(ws.catalog.dataset), timeout=30_000)
    store = ws.predictions()
    assert store.metric == "PA-MPJPE" and np.all(store.pa_error <= store.error + 1e-3)
    ws.set_sort("error_asc")
    assert np.all(np.diff(store.pa_error[ws.browse.rows]) >= 0)
    assert "PA-MPJPE" in window.browser_view.footer.text()
    assert "rotation-aligned loss" in window.checkpoints_view.details.text()
