"""The Checkpoints panel as a researcher uses it: at the window's default size it lists the
demo's eight checkpoints at once, a double-click makes the clicked checkpoint active (the list is
not rebuilt between the two clicks), the scroll position survives a click, and a lifter says what
it is and can do."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt

from app.model.catalog import path_key
from hpe_core import resources_dir

LIFTER = resources_dir() / "demo" / "lifter.pt"


def _fully_visible(tree) -> list[int]:
    viewport = tree.viewport().rect()
    return [i for i in range(tree.topLevelItemCount())
            if viewport.contains(tree.visualItemRect(tree.topLevelItem(i)))]


def test_a_double_click_activates_the_clicked_checkpoint_and_the_list_keeps_its_place(qtbot, window, files, tmp_path):
    paths = [LIFTER] + [shutil.copy(files.checkpoint, tmp_path / f"run{i:02d}.pt") for i in range(11)]
    ws = window.workspace
    ws.open_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: len(ws.catalog.checkpoints) == len(paths) and not ws.tasks.tasks, timeout=60_000)
    view = window.checkpoints_view
    view.window().raise_()
    tree = view.list
    qtbot.waitUntil(lambda: tree.viewport().height() > 0, timeout=5000)
    assert len(_fully_visible(tree)) >= 8  # the demo's eight checkpoints at the default window size
    bar = tree.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    shown = _fully_visible(tree)
    target = tree.topLevelItem(shown[len(shown) // 2])
    key = target.data(0, Qt.ItemDataRole.UserRole)
    assert key != ws.catalog.active_key
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(target).center())
    assert ws.catalog.active_key == key  # the one double-clicked, not the one the rebuilt list put there
    assert bar.value() == bar.maximum()  # the list stayed where the user had scrolled it
    assert tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == key
    ws.set_active_checkpoint(path_key(LIFTER))
    text = view.details.text()
    assert "None" not in text and "lifter · 2D → 3D" in text, text
