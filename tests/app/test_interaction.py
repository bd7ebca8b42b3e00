"""The GUI as a researcher handles it (issue 14, item 5): hover cards go away, Cancel Jobs asks
before stopping training, Play follows the browser's list and the grid shows the sample on
screen, icons instead of glyphs, a pick is a removable chip, and the explorer's projection
settings reach hpe_core."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from analysis_helpers import afiles, explorer, open_files, shown, wait_done  # noqa: F401
from app.views.hover_card import HoverCard
from helpers import wait_idle
from training_helpers import tiny_config, tiny_dataset  # noqa: F401


def _open(qtbot, ws, *paths) -> None:
    ws.open_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and not ws.tasks.tasks, timeout=30_000)


# ------------------------------------------------------------------ hover cards
def test_a_hover_card_hides_when_the_mouse_leaves_the_view_is_hidden_or_focus_goes(qtbot, files):
    from hpe_core.datasets import open_dataset

    host = QWidget()
    host.resize(400, 300)
    qtbot.addWidget(host)
    shown(host, qtbot)
    card = HoverCard(host)
    card.set_dataset(open_dataset(files.dataset))

    def show() -> None:
        card.show_sample(3, ["error 12 mm"], host.mapToGlobal(QPoint(20, 20)))
        assert card.isVisible() and card.index == 3

    show()
    QApplication.sendEvent(host, QEvent(QEvent.Type.Leave))
    assert not card.isVisible()
    show()
    host.hide()  # a tab switch or a closed dock hides the view
    assert not card.isVisible()
    card.show_sample(3, [], None)  # a late hover of a hidden view shows nothing
    assert not card.isVisible()
    host.show()
    qtbot.waitExposed(host)
    show()
    QApplication.sendEvent(host, QEvent(QEvent.Type.WindowDeactivate))  # another application got focus
    assert not card.isVisible()
    show()
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    QApplication.instance().focusWindowChanged.emit(other.windowHandle())  # another window of ours
    assert not card.isVisible()
    card.close_loader()


def test_switching_to_another_tab_hides_the_explorer_s_hover_card(qtbot, window, files):
    _open(qtbot, window.workspace, files.dataset)
    dock = window.analysis_docks["embedding"]
    dock.show()
    dock.raise_()
    view = window.analysis_view("embedding")
    qtbot.waitUntil(view.isVisible)
    view.card.show_sample(0, ["x"], view.mapToGlobal(QPoint(30, 30)))
    assert view.card.isVisible()
    window.scene_dock.raise_()  # the 3D view's tab, over the explorer's
    qtbot.waitUntil(lambda: not view.card.isVisible())


# ------------------------------------------------------------------ cancelling training jobs
def _answer_when_asked(qtbot, button, seen: list) -> None:
    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(50, answer)


def test_cancel_jobs_asks_then_cancels_the_training_jobs(qtbot, window, tiny_dataset, tmp_path):  # noqa: F811
    manager = window.training_jobs
    manager.env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    job = manager.submit(tiny_config(tiny_dataset, epochs=400, output=str(tmp_path / "runs" / "long")))
    qtbot.waitUntil(lambda: job.record.state == "running" and job.state.step > 0, timeout=120_000)
    asked: list[str] = []
    _answer_when_asked(qtbot, QMessageBox.StandardButton.No, asked)
    window.actions_["cancel"].trigger()  # Esc
    assert len(asked) == 1 and "1 training job" in asked[0]
    assert job.record.state == "running"  # "No" keeps it
    _answer_when_asked(qtbot, QMessageBox.StandardButton.Yes, asked)
    window.actions_["cancel"].trigger()
    assert len(asked) == 2
    qtbot.waitUntil(lambda: job.record.state == "cancelled", timeout=120_000)
    assert job.resumable()  # stopped at a step boundary with a checkpoint
    asked.clear()
    window.actions_["cancel"].trigger()  # nothing left to cancel: no question
    assert asked == []


# ------------------------------------------------------------------ Play, the grid, icons, the chip
def test_play_steps_through_the_listed_rows_and_the_grid_follows(qtbot, window, files):
    ws, browser = window.workspace, window.browser_view
    _open(qtbot, ws, files.dataset)
    ds = ws.catalog.dataset
    ws.set_filter("action", 1)
    listed = set(ws.browse.rows.tolist())
    assert 0 < len(listed) < len(ds)
    ws.select(int(ws.browse.rows[0]))
    camera = int(ds.camera_id[ws.feed.selection])
    expected = {i for i in listed if int(ds.camera_id[i]) == camera}  # its sequence, as listed
    assert ws.playback.count == len(expected)
    seen = []
    for _ in range(2 * len(expected)):
        ws.playback.step(1)
        seen.append(ws.feed.selection)
        current = browser.list.currentIndex()
        assert current.isValid() and browser.model.rows[current.row()] == ws.feed.selection
        assert [browser.model.rows[i.row()] for i in browser.list.selectedIndexes()] == [ws.feed.selection]
    assert set(seen) == expected
    ws.set_filter("action", 0)  # another filter while playing: Play follows the new list
    ws.select(int(ws.browse.rows[0]))
    ws.playback.step(1)
    assert ws.feed.selection in set(ws.browse.rows.tolist())


def test_the_grid_never_highlights_another_sample_than_the_shown_one(qtbot, window, files):
    ws, browser = window.workspace, window.browser_view
    _open(qtbot, ws, files.dataset)
    ws.set_filter("action", 1)
    ws.select(int(ws.browse.rows[0]))
    assert browser.list.selectedIndexes()
    hidden = int(np.setdiff1d(np.arange(len(ws.catalog.dataset)), ws.browse.rows)[0])
    ws.select(hidden)  # shown from elsewhere (a hover card, the explorer) but not listed
    assert ws.feed.selection == hidden and browser.list.selectedIndexes() == []


def test_play_and_close_buttons_are_icons_not_glyphs(qtbot, window, files):
    tl = window.timeline_view
    _open(qtbot, window.workspace, files.dataset)
    assert tl.play.text() == "" and not tl.play.icon().isNull()
    playing = tl.play.icon().cacheKey()
    window.workspace.playback.play()
    assert tl.play.accessibleName() == "Pause" and tl.play.icon().cacheKey() != playing
    window.workspace.playback.pause()
    assert tl.play.accessibleName() == "Play"
    for button in (window.browser_view.close_button, window.message_bar.close_button, window.jobs_view.cancel,
                   window.browser_view.pick_clear):
        assert button.text() == "" and not button.icon().isNull()


def test_a_pick_shows_as_a_chip_that_removes_it(qtbot, window, files):
    ws, browser = window.workspace, window.browser_view
    _open(qtbot, ws, files.dataset)
    assert not browser.pick_chip.isVisible()
    ws.select_samples([4, 7, 9])  # what a lasso in the explorer or Compare does
    assert browser.pick_chip.isVisible() and "3 samples" in browser.pick_label.text()
    assert browser.model.rowCount() == 3
    ws.set_filter("action", 1)  # a filter on top: the chip says how many of the pick are shown
    assert "of 3 picked" in browser.pick_label.text()
    qtbot.mouseClick(browser.pick_clear, Qt.MouseButton.LeftButton)
    assert not browser.pick_chip.isVisible() and ws.browse.state.picked is None
    assert browser.model.rowCount() == len(ws.browse.rows) > 3


# ------------------------------------------------------------------ the explorer's projection settings
def test_split_perplexity_neighbours_and_min_dist_reach_the_projection(qtbot, explorer, afiles):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    p = view.projection
    view.method.setCurrentIndex(view.method.findData("umap"))
    assert p.neighbours.isVisibleTo(view) and p.min_dist.isVisibleTo(view) and not p.perplexity.isVisibleTo(view)
    p.neighbours.setValue(6)
    p.min_dist.setValue(0.3)
    p.split.setCurrentIndex(p.split.findData("test"))
    req = view.request()
    assert (req.split, req.n_neighbors, req.min_dist) == ("test", 6, 0.3)
    assert "--neighbors 6 --min-dist 0.3" in req.command() and "--split test" in req.command()
    view.method.setCurrentIndex(view.method.findData("tsne"))
    assert p.perplexity.isVisibleTo(view) and not p.neighbours.isVisibleTo(view)
    p.perplexity.setValue(7)
    p.split.setCurrentIndex(p.split.findData("train"))
    view.samples.setValue(0)
    view.run()
    wait_done(qtbot, view.runner, timeout=120_000)
    result = view.bundle.result
    assert result.info["projection"]["perplexity"] == 7.0
    train_rows = set(ws.catalog.dataset.split_indices("train").tolist())
    assert set(result.indices.tolist()) == train_rows  # the split chosen, every sample of it
