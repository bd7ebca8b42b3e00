"""First start (issue 14, item 7): the demo opens before its images exist; each image is rendered
when first shown, in the order the browser lists the samples, and predictions stream in.
Counted, never timed."""

from __future__ import annotations

import numpy as np

from app.demo import demo_checkpoints


def _visible_rows(browser) -> list[int]:
    view, model = browser.list, browser.model
    area = view.viewport().rect()
    return [int(model.rows[r]) for r in range(model.rowCount()) if view.visualRect(model.index(r)).intersects(area)]


def test_the_demo_renders_lazily_in_the_browser_s_order(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path / "fresh"))  # a first start: no demo set yet
    ws, browser = window.workspace, window.browser_view
    window.start([])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None, timeout=60_000)
    ds = ws.catalog.dataset
    source = ds.images
    assert len(ds) >= 10_000 and type(source).__name__ == "RenderedOnDemand"
    on_disk = len(list((ds.path / "images").rglob("*.jpg")))
    assert on_disk <= len(source.order) + 64  # opened with (almost) no image rendered yet

    visible = _visible_rows(browser)
    assert len(visible) >= 4
    loader = browser.model.loader
    qtbot.waitUntil(lambda: all(i in loader.cache for i in _visible_rows(browser)), timeout=60_000)
    rendered = list(source.order)
    assert set(visible) <= set(rendered)  # every thumbnail on screen is there...
    assert len(rendered) < len(ds) // 20  # ...long before the rest is rendered
    position = {int(r): p for p, r in enumerate(ws.browse.rows)}
    assert max(position[r] for r in rendered) < len(rendered) + 64  # in the browser's order: a prefix

    before = len(source.order)
    ws.select(int(ws.browse.rows[-1]))  # the user goes to the end: those are rendered next, on demand
    qtbot.waitUntil(lambda: all(i in loader.cache for i in _visible_rows(browser)), timeout=60_000)
    tail = _visible_rows(browser)
    assert min(position[r] for r in tail) > len(ds) - 200
    assert set(tail) <= set(source.order[before:])
    assert len(list((ds.path / "images").rglob("*.jpg"))) < len(ds) // 10  # still far from all of them

    if demo_checkpoints():  # predictions stream in while the rest is rendered as needed
        qtbot.waitUntil(lambda: ws.predictions() is not None and ws.predictions().count > 0, timeout=120_000)
        store = ws.predictions()
        assert store.count < len(ds) and np.isfinite(store.ranking[store.predicted]).all()


class _RecordedImages:
    """Images of a dataset made in memory, recording the order they are read in."""

    def __init__(self) -> None:
        self.order: list[int] = []

    def path(self, row):
        return None

    def name(self, row):
        return f"#{row}"

    def load(self, row):
        self.order.append(int(row))
        return np.full((48, 48, 3), row % 256, np.uint8)


def test_the_thumbnails_on_screen_load_first_row_first(qtbot, tmp_path):
    """Issue 29, item 12: the browser's first rows (the selected corner, #0 on) are read first,
    in the order they are shown, never after the rows below them."""
    from analysis_helpers import shown
    from app.views.browser_view import BrowserView
    from app.workers.thumbnails import BATCH
    from app.workspace import Workspace
    from hpe_core.datasets.base import PoseDataset
    from hpe_core.skeleton import PANOPTIC19

    images = _RecordedImages()
    n = 5000
    ds = PoseDataset(path=str(tmp_path / "memory"), format="memory", skeleton=PANOPTIC19, size=n,
                     columns={"joints_2d": np.zeros((n, 19, 2), np.float32)}, images=images)
    ws = Workspace()
    view = BrowserView(ws)
    view.resize(400, 900)
    shown(view, qtbot)
    ws.add_dataset(ds)
    qtbot.waitUntil(lambda: len(_visible_rows(view)) > 8 and all(
        i in view.model.loader.cache for i in _visible_rows(view)), timeout=30_000)
    visible = _visible_rows(view)
    read = list(dict.fromkeys(images.order))  # the current sample's full image is read too: #0 twice
    first = read[:min(BATCH, len(visible))]
    assert first == visible[:len(first)] and first[0] == 0  # row #0 first, then on in the browser's order
    view.model.loader.wait()
    view.shutdown()
    ws.close()
