"""Room for the views (issue 14, item 1): at 1280x720 every analysis view and the training panel
open without growing the window past the screen or clipping a widget below its minimum size; a
maximise toggle on every dock; View ▸ Reset Layout; the layout saved per user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from layout_check import clipped, outside_screen, visible_tab_bars

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run for a 1280x720 X server")
def test_at_1280x720_each_analysis_view_fits_the_screen_unclipped(files, tmp_path):
    """A real 1280x720 X server of its own (the suite's may be larger): the window with a dataset
    and a checkpoint open, each view shown in turn, then maximised and restored."""
    out = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", sys.executable,
                          str(ROOT / "tests" / "app" / "layout_probe.py"), str(files.dataset), str(files.checkpoint),
                          str(tmp_path / "settings")],
                         capture_output=True, text=True, cwd=ROOT, timeout=500,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "HPE_STUDIO_TESTING": "1"})
    rows = {r["view"]: r for r in (json.loads(line) for line in out.stdout.splitlines() if line.startswith("{"))}
    assert set(rows) == {"start", "embedding", "kernel", "compare", "training"}, out.stdout + out.stderr[-3000:]
    assert rows["start"]["screen"] == [1280, 720]
    for name, row in rows.items():
        assert row["outside"] == "", (name, row["outside"])
        assert row["window"][0] <= 1280 and row["window"][1] <= 720, (name, row["window"])
        if name != "start":
            assert row["maximised"] == f"{name}Dock" and row["maximised_outside"] == ""
            assert row["maximised_clipped"] == [], (name, row["maximised_clipped"])
        assert row["clipped"] == [], (name, row["clipped"])
        bars = [set(b) for b in row["tab_bars"]]  # no leftover bar of a tab group drawn over a panel
        assert all(a.isdisjoint(b) for i, a in enumerate(bars) for b in bars[i + 1:]), (name, row["tab_bars"])
        assert {"3D view", "Embeddings", "Kernels", "Compare"} in bars, (name, row["tab_bars"])


def show_all_views(qtbot, window):
    for name in ("embedding", "kernel", "compare"):
        window.actions_[f"show_{name}"].trigger()
        qtbot.waitUntil(lambda n=name: getattr(window.analysis_docks[n], "view", None) is not None)
    window.actions_["training"].trigger()
    qtbot.waitUntil(lambda: window._training_view is not None)


def test_opening_every_view_never_grows_a_1280x720_window(qtbot, window):
    window.resize(1280, 720)
    qtbot.wait(50)
    size = window.size()
    show_all_views(qtbot, window)
    qtbot.wait(200)
    assert window.width() <= max(size.width(), 1280) and window.height() <= max(size.height(), 720)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720, hint  # the window can always be made this small
    assert outside_screen(window) == ""
    for name in ("embedding", "kernel", "compare"):  # each view scrolls rather than clips
        area = window.analysis_docks[name].widget()
        assert area.view is window.analysis_view(name) and area.widgetResizable()
        view = area.view
        assert view.height() <= area.viewport().height() + 1 or view.height() <= view.minimumSizeHint().height() + 1
        assert view.width() >= view.minimumSizeHint().width() and view.height() >= view.minimumSizeHint().height()


def test_maximise_toggle_on_every_dock_and_reset_layout(qtbot, window):
    window.actions_["show_compare"].trigger()
    dock = window.analysis_docks["compare"]
    qtbot.waitUntil(lambda: getattr(dock, "view", None) is not None)
    before = {d.objectName(): d.isVisible() for d in window.dock_layout.docks}
    for d in window.dock_layout.docks:  # every dock has the toggle in its title bar
        assert d.titleBarWidget() is d.title_bar and d.title_bar.maximise.isVisibleTo(d.title_bar)
    dock.title_bar.maximise.click()
    qtbot.waitUntil(lambda: not window.centralWidget().isVisible())
    assert window.dock_layout.maximised is dock and dock.isVisible()
    assert [d.objectName() for d in window.dock_layout.docks if d.isVisible()] == ["compareDock"]
    qtbot.waitUntil(lambda: dock.width() >= window.width() - 20)  # the panel has the window's width
    assert dock.height() >= window.height() - 120  # all but the menu, tool and status bars
    assert clipped(window) == []
    dock.title_bar.maximise.click()  # again: the layout comes back as it was
    qtbot.waitUntil(lambda: window.centralWidget().isVisible())
    assert {d.objectName(): d.isVisible() for d in window.dock_layout.docks} == before
    # move things around, then View ▸ Reset Layout
    window.scene_dock.setFloating(True)
    window.browser_dock.hide()
    window.actions_["reset_layout"].trigger()
    qtbot.waitUntil(lambda: window.browser_dock.isVisible())
    assert not window.scene_dock.isFloating() and window.training_dock.isHidden()
    assert window.settings.layout() == (None, None)


def test_the_layout_is_saved_per_user_and_restored(qtbot, tmp_path):
    from app.main_window import MainWindow
    from app.settings import Settings

    first = MainWindow(settings=Settings(tmp_path / "settings"))
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.browser_dock.hide()
    first.actions_["show_kernel"].trigger()
    first.analysis_docks["kernel"].title_bar.maximise.click()  # closing while maximised saves the real layout
    first.close()
    second = MainWindow(settings=Settings(tmp_path / "settings"))
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert second.browser_dock.isHidden() and second.centralWidget().isVisible()
    assert second.analysis_docks["kernel"].isVisible() and second.dock_layout.maximised is None
    assert outside_screen(second) == ""
    second.close()


def test_no_leftover_tab_bar_lies_over_a_panel(qtbot, window):
    """Only each group's live tab bar is shown, at start, after maximise / restore and after
    Reset Layout (the leftover bar Qt may keep is hidden, never a live one; at 1280x720 the
    leftover is there, see the test above)."""
    analysis = {"3D view", "Embeddings", "Kernels", "Compare"}

    def one_bar_per_group() -> bool:
        bars = [set(b) for b in visible_tab_bars(window)]
        return (sorted(map(sorted, bars)) == sorted([sorted(analysis), ["Checkpoints", "Video"]])
                and all(a.isdisjoint(b) for i, a in enumerate(bars) for b in bars[i + 1:]))

    qtbot.waitUntil(one_bar_per_group)
    window.actions_["show_kernel"].trigger()
    window.analysis_docks["kernel"].title_bar.maximise.click()
    qtbot.waitUntil(lambda: not window.centralWidget().isVisible())
    window.analysis_docks["kernel"].title_bar.maximise.click()
    qtbot.waitUntil(lambda: window.centralWidget().isVisible())
    qtbot.waitUntil(one_bar_per_group)
    window.actions_["reset_layout"].trigger()
    qtbot.waitUntil(one_bar_per_group)


def test_ctrl_m_with_a_panel_maximised_moves_to_the_panel_opened_since(qtbot, window):
    """Compare maximised, then the explorer opened (Ctrl+1): Ctrl+M maximises the explorer, not
    the layout back; Ctrl+M on the maximised panel brings the layout back."""
    from PySide6.QtTest import QTest

    window.activateWindow()
    qtbot.waitActive(window)

    def key(k) -> None:  # as the keyboard does: through the window system
        QTest.keyClick(window.windowHandle(), k, Qt.KeyboardModifier.ControlModifier)
        qtbot.wait(20)

    layout = window.dock_layout
    key(Qt.Key.Key_3)  # Compare
    key(Qt.Key.Key_M)
    assert layout.maximised is window.analysis_docks["compare"]
    key(Qt.Key.Key_1)  # the embedding explorer, opened while Compare fills the window
    key(Qt.Key.Key_M)
    explorer = window.analysis_docks["embedding"]
    assert layout.maximised is explorer and explorer.isVisible() and not window.centralWidget().isVisible()
    assert not window.analysis_docks["compare"].isVisible()
    key(Qt.Key.Key_M)
    assert layout.maximised is None and window.centralWidget().isVisible()
