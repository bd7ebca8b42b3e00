"""The browser: virtualised, lazy thumbnails, filters; smooth at 100,000 samples."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.views.browser_view import BrowserView
from app.views.sample_model import IndexRole
from app.workers.thumbnails import LRUCache
from app.workspace import Workspace
from helpers import big_dataset


@pytest.fixture
def browser(qtbot):
    ws = Workspace()
    view = BrowserView(ws)
    view.resize(380, 700)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    yield ws, view
    view.model.loader and view.model.loader.close()
    ws.close()
    view.model.loader and view.model.loader.wait()


def test_lru_cache_evicts_the_least_recently_used():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now fresher than "b"
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2


def visible_rows(view) -> list[int]:
    lv = view.list
    rows = set()
    for x in range(5, lv.viewport().width(), 30):
        for y in range(5, lv.viewport().height(), 30):
            idx = lv.indexAt(lv.viewport().rect().topLeft().__class__(x, y))
            if idx.isValid():
                rows.add(idx.row())
    return sorted(rows)


def test_100k_samples_scroll_without_loading_every_image(qtbot, browser):
    ws, view = browser
    ds = big_dataset(100_000)
    ws.add_dataset(ds)
    assert view.model.rowCount() == 100_000
    loader = view.model.loader
    qtbot.waitUntil(lambda: len(loader.cache) > 0, timeout=5000)
    bar = view.list.verticalScrollBar()
    for value in np.linspace(0, bar.maximum(), 40).astype(int):
        bar.setValue(int(value))
        qtbot.wait(5)
    qtbot.waitUntil(lambda: loader._task is None and not loader._pending, timeout=10_000)
    shown = visible_rows(view)
    assert shown and shown[-1] == 99_999  # the end of the list is on screen
    # every sample on screen has its thumbnail; nowhere near all 100,000 images were read
    assert all(loader.cache.get(int(view.model.rows[r])) is not None for r in shown)
    assert ds.images.loads < 3000, ds.images.loads
    assert loader.loads <= ds.images.loads <= loader.loads + 2  # + the selected sample's image


def test_selecting_a_row_selects_the_sample_in_the_workspace(qtbot, browser):
    ws, view = browser
    ws.add_dataset(big_dataset(2_000))
    index = view.model.index(17)
    with qtbot.waitSignal(ws.feed.selection_changed, timeout=3000) as blocker:
        view.list.setCurrentIndex(index)
    assert blocker.args == [int(index.data(IndexRole))] == [17]
    ws.select(1234)  # and the other way round: the list follows the workspace
    assert view.list.currentIndex().row() == view.model.row_of(1234) == 1234


@pytest.mark.parametrize("name, value", [("action", 3), ("subject", 1), ("camera", 2), ("split", "val")])
def test_filters_list_only_matching_samples(qtbot, browser, name, value):
    ws, view = browser
    ds = big_dataset(4_000)
    ws.add_dataset(ds)
    combo = view.filters[name]
    combo.setCurrentIndex(combo.findData(value))
    combo.activated.emit(combo.currentIndex())
    rows = view.model.rows
    assert 0 < len(rows) < len(ds)
    if name == "split":
        assert set(rows.tolist()) == set(ds.split_indices("val").tolist())
    else:
        column = {"action": ds.action, "subject": ds.subject, "camera": ds.camera_id}[name]
        assert np.all(column[rows] == value)
        assert np.sum(column == value) == len(rows)
    assert f"{len(rows):,} of 4,000 samples" in view.footer.text()


def test_sorted_by_error_the_view_and_the_pick_stay_put_while_predictions_arrive(qtbot, browser, files):
    """Rows move as new errors re-sort the list (once a second); the part of the list on screen
    (the scroll position) and the picked sample do not."""
    from app.model.catalog import path_key

    ws, view = browser
    ds = big_dataset(3_000)
    ws.add_dataset(ds)
    ws.open_checkpoint(files.checkpoint)
    qtbot.waitUntil(lambda: ws.predictions() is not None, timeout=30_000)
    ws.predicting.cancel()  # the rows now arrive from here, in batches as a slow model gives them
    qtbot.waitUntil(lambda: not ws.tasks.tasks, timeout=30_000)
    pair, rng = (ws.catalog.current_key, path_key(files.checkpoint)), np.random.default_rng(0)
    order = rng.permutation(len(ds))

    def arrive(rows):
        noise = rng.normal(0, 5 + 200 * rng.random((len(rows), 1, 1)), (len(rows), 19, 3))
        ws.cache.add(pair, rows, (ds.joints_3d[rows] + noise).astype(np.float32), ds.joints_3d, ds.skeleton.root)

    arrive(order[:1000])
    ws.set_sort("error_desc")
    bar = view.list.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)  # the user scrolls down the list and picks a sample there
    shown = visible_rows(view)
    row = shown[len(shown) // 2]
    qtbot.mouseClick(view.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.list.visualRect(view.model.index(row)).center())
    picked, place = int(view.model.rows[row]), bar.value()
    assert ws.feed.selection == picked
    resorts = []
    ws.browse.rows_changed.connect(lambda: resorts.append(1))
    for start in range(1000, len(ds), 250):
        arrive(order[start:start + 250])
        qtbot.wait(250)
        assert bar.value() == place and ws.feed.selection == picked
    qtbot.waitUntil(lambda: len(resorts) >= 2 and not ws._resort_timer.isActive(), timeout=10_000)
    assert bar.value() == place and ws.feed.selection == picked  # the view did not jump
    current = view.list.currentIndex()
    assert current.isValid() and current.data(IndexRole) == picked  # still the one picked, wherever it moved
    assert view.list.selectionModel().isSelected(current)
