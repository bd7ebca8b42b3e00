"""The embedding explorer on real files: numbers equal ``hpe embed``'s, settings recompute in a
worker, lasso / rectangle selections reach the browser, hover shows the sample, bad input is a
message in the view."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from analysis_helpers import afiles, blank, explorer, grab_array, open_files, run_cli, shown, wait_done  # noqa: F401
from app.model import messages as msg
from app.views.browser_view import BrowserView
from app.visuals.selection_tools import points_in_polygon


def run_view(qtbot, view, **settings) -> None:
    """Set controls (layer, method, dims, clusters, samples, colour), press Run, wait."""
    for name, value in settings.items():
        widget = getattr(view, name)
        if hasattr(widget, "setValue"):
            widget.setValue(value)
        else:
            widget.setCurrentIndex(widget.findData(value))
    view.run()
    wait_done(qtbot, view.runner)


def slow_inside(point, polygon) -> bool:
    """Even-odd ray casting for one point, written plainly (the reference)."""
    x, y = point
    inside = False
    for i in range(len(polygon)):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % len(polygon)]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


@pytest.mark.parametrize("shape", ["square", "star", "thin"])
@pytest.mark.parametrize("seed", [0, 1])
def test_points_in_polygon_matches_a_slow_reference(shape, seed):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-1.2, 1.2, (400, 2))
    angles = np.linspace(0, 2 * np.pi, 11)[:-1]
    radii = np.where(np.arange(10) % 2, 0.4, 1.0)[:, None]  # a concave star
    polygon = {"square": np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float),
               "star": np.column_stack([np.cos(angles), np.sin(angles)]) * radii,
               "thin": np.array([[-1, 0], [1, 0.05], [1, -0.05]], float)}[shape]
    got = points_in_polygon(pts, polygon)
    assert got.tolist() == [slow_inside(p, polygon) for p in pts]
    assert 0 < got.sum() < len(pts)


def test_embedding_renders_and_its_numbers_are_hpe_embeds(qtbot, explorer, afiles, capsys):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simsiam)
    run_view(qtbot, view, clusters=4, samples=0)
    bundle = view.bundle
    assert bundle is not None and view.runner.last_error is None
    n = len(ws.catalog.dataset)
    assert len(view.plot.xy) == n == len(bundle.result.indices)  # every sample is a point
    assert not blank(grab_array(view.plot)) and not blank(grab_array(view.silhouette))
    assert view.silhouette.band_count() == 4
    # the provenance's command line prints the same silhouette
    cli = run_cli(shlex.split(bundle.request.command())[1:] + ["--out", str(afiles.root / "cli.npz")], capsys)
    assert cli["silhouette"]["clusters"] == pytest.approx(bundle.result.silhouette["clusters"], abs=1e-9)
    np.testing.assert_allclose(np.load(afiles.root / "cli.npz")["coords"], bundle.result.coords, atol=1e-5)
    # ... and so does every layer's row of the silhouette table
    assert set(view.layer_scores) == {"conv1", "layer1", "layer2", "layer3", "layer4", "encoder", "projection",
                                      "prediction"}
    layer2 = run_cli(shlex.split(bundle.request.command("layer2"))[1:] + ["--out", str(afiles.root / "l2.npz")],
                     capsys)
    assert view.layer_scores["layer2"] == pytest.approx(layer2["silhouette"]["clusters"], abs=1e-9)
    texts = {view.layers_table.item(r, 0).text(): view.layers_table.item(r, 1).text()
             for r in range(view.layers_table.rowCount())}
    assert texts["layer2"] == f"{layer2['silhouette']['clusters']:.4f}"


def test_plot_is_drawn_and_colours_change_in_place(qtbot, explorer, afiles):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    run_view(qtbot, view, clusters=3, samples=0)
    cloud = view.plot.cloud
    items = len(view.plot.plot_item.items)
    assert len(np.unique(grab_array(view.plot).reshape(-1, 3), axis=0)) > 5  # axes, text and coloured points
    np.testing.assert_array_equal(cloud.codes, view.bundle.result.clusters)
    view.colour.setCurrentIndex(view.colour.findData("camera"))
    np.testing.assert_array_equal(cloud.codes, ws.catalog.dataset.camera_id[view.indices])
    assert view.plot.cloud is cloud and len(view.plot.plot_item.items) == items  # updated, not rebuilt
    assert view.strip.level != "warning"


@pytest.mark.parametrize("change", [("method", "lda"), ("layer", "layer2"), ("dims", 3)])
def test_changing_method_layer_or_dims_recomputes_in_a_worker(qtbot, explorer, afiles, change):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    run_view(qtbot, view, clusters=4, samples=0)
    first = view.bundle
    name, value = change
    combo = getattr(view, name)
    combo.setCurrentIndex(combo.findData(value))
    qtbot.waitUntil(lambda: view.runner.running(), timeout=3000)  # started by itself, in a worker
    assert view.runner.task in ws.tasks.tasks and view.runner.task.is_running()
    wait_done(qtbot, view.runner)
    assert view.bundle is not first and getattr(view.bundle.request, name) == value
    assert view.bundle.result.coords.shape == (len(ws.catalog.dataset), view.bundle.request.dims)
    if name == "dims":
        cloud = view.plot3d
        assert view.stack.currentWidget() is cloud
        image = cloud.render()[..., :3]
        assert not blank(image)
        pos = cloud.screen_positions()  # where hover looks for points: where they are drawn
        gaps = np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.diag(np.full(len(pos), np.inf))
        k = int(gaps.min(axis=1).argmax())  # the most isolated point
        x, y = np.round(pos[k]).astype(int)
        assert cloud.row_at(*pos[k]) == k and cloud.row_at(x + 40, y + 40) != k
        assert np.abs(image[y, x].astype(int) - image[0, 0].astype(int)).sum() > 30  # a point, not background


def drag(widget, points: list[QPointF], modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """A real left-button drag through ``points`` (viewport pixels), at the pace of a hand
    (pyqtgraph drops mouse moves that come faster than 60 a second)."""
    from PySide6.QtTest import QTest

    vp = widget.viewport()

    def send(kind, p, button, buttons):
        QApplication.sendEvent(vp, QMouseEvent(kind, p, vp.mapToGlobal(p), button, buttons, modifiers))

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send(QEvent.Type.MouseButtonPress, points[0], left, left)
    for p in points[1:]:
        QTest.qWait(18)
        send(QEvent.Type.MouseMove, p, none, left)
    send(QEvent.Type.MouseButtonRelease, points[-1], left, none)


@pytest.mark.parametrize("tool", ["lasso", "rect"])
def test_a_lasso_or_rectangle_selection_reaches_the_browser(qtbot, explorer, afiles, tool):  # noqa: F811
    ws, view = explorer
    browser = BrowserView(ws)
    shown(browser, qtbot)
    try:
        open_files(qtbot, ws, afiles.dataset, afiles.simclr)
        run_view(qtbot, view, clusters=4, samples=0)
        view.tool_buttons[tool].click()
        plot = view.plot
        device = np.array([[plot.viewbox.mapViewToDevice(QPointF(x, y)).x(),
                            plot.viewbox.mapViewToDevice(QPointF(x, y)).y()] for x, y in plot.xy])
        c = np.median(device, axis=0)
        if tool == "lasso":  # a triangle around the middle of the cloud
            path = [c + d for d in ([-120, -90], [140, -60], [-20, 110], [-120, -90])]
            poly = np.array(path)
        else:
            path = [c + [-100, -80], c + [0, 0], c + [60, 70]]
            poly = np.array([path[0], [path[-1][0], path[0][1]], path[-1], [path[0][0], path[-1][1]]])
        steps = [p0 + (p1 - p0) * t for p0, p1 in zip(path[:-1], path[1:]) for t in np.linspace(0, 1, 12)]
        drag(plot, [QPointF(*p) for p in steps])
        expected = sorted(int(i) for i, p in zip(plot.indices, device) if slow_inside(p, poly))
        assert expected, "the shape should hold some points"
        assert ws.browse.rows.tolist() == expected  # the browser lists exactly the chosen samples
        assert browser.model.rows.tolist() == expected
        assert f"{len(expected)} of {len(ws.catalog.dataset)} samples" in browser.footer.text()
        qtbot.waitUntil(lambda: ws.feed.selection in expected, timeout=5000)  # the first one is shown
        view.clear_selection.click()
        assert len(ws.browse.rows) == len(ws.catalog.dataset)
    finally:
        browser.shutdown()


def test_hover_shows_the_samples_card(qtbot, explorer, afiles):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    run_view(qtbot, view, clusters=4, samples=0)
    plot = view.plot
    row = int(np.argmax(plot.xy[:, 0]))  # the right-most point stands alone
    target = plot.viewbox.mapViewToDevice(QPointF(*plot.xy[row]))
    vp = plot.viewport()
    QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, target + QPointF(2, 1), vp.mapToGlobal(target),
                                           Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                           Qt.KeyboardModifier.NoModifier))
    index = int(plot.indices[row])
    qtbot.waitUntil(lambda: view.card.isVisible() and view.card.index == index, timeout=3000)
    assert plot.hover_index == index
    assert f"#{index}" in view.card.text.text() and "cluster" in view.card.text.text()
    qtbot.waitUntil(lambda: view.card.loader.cache.get(index) is not None, timeout=5000)  # its thumbnail


@pytest.mark.parametrize("colour, expected", [("subject", msg.NO_LABEL.split(":")[0].format(label="subject")),
                                              ("error", msg.NO_ERRORS)])
def test_colouring_by_what_the_dataset_lacks_says_so(qtbot, explorer, afiles, colour, expected):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.unlabelled, afiles.simclr)
    run_view(qtbot, view, clusters=3, samples=0)
    view.colour.setCurrentIndex(view.colour.findData(colour))
    assert view.strip.level == "warning" and expected in view.strip.message.text()
    np.testing.assert_array_equal(view.plot.cloud.codes, view.bundle.result.clusters)  # clusters instead


@pytest.mark.parametrize("settings, expected", [
    ({"samples": 2}, "too few"),
    ({"layer": "prediction"}, "has no layer 'prediction'"),
    ({"clusters": 40, "samples": 30}, "40 clusters"),
])
def test_bad_settings_are_a_message_in_the_view(qtbot, explorer, afiles, settings, expected):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    run_view(qtbot, view, **settings)
    assert view.runner.last_error is not None and view.bundle is None
    assert view.strip.level == "error" and expected in view.strip.message.text()
    assert view.isVisible()


def test_without_a_dataset_it_asks_for_one(qtbot, explorer):
    _ws, view = explorer
    view.run()
    assert not view.runner.running() and view.strip.message.text() == msg.NEED_DATASET


def test_tsne_draws_its_map_as_it_goes_and_cancel_stops_it(qtbot, explorer, afiles):  # noqa: F811
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    for name, value in (("method", "tsne"), ("clusters", 4), ("samples", 0)):
        w = getattr(view, name)
        w.setValue(value) if hasattr(w, "setValue") else w.setCurrentIndex(w.findData(value))
    maps = []
    view.run()
    task = view.runner.task

    def on_partial(item):
        if item[0] == "preview":
            maps.append(np.array(item[1]))
            if len(maps) == 2:  # the PCA preview, then t-SNE's first map: enough, cancel
                view.strip.cancel.click()

    task.partial.connect(on_partial)
    wait_done(qtbot, view.runner)
    assert task.state == "cancelled" and view.bundle is None and view.runner.last_error is None
    assert len(maps) >= 2 and not np.allclose(maps[0], maps[1])  # PCA first, then t-SNE's map
    np.testing.assert_allclose(view.plot.xy, maps[-1], rtol=1e-6)  # the last map is what is drawn
    assert not view.strip.cancel.isEnabled()


def test_above_the_exact_limit_the_silhouette_is_an_estimate_and_exact_on_request(qtbot, explorer, afiles,  # noqa: F811
                                                                                  monkeypatch):
    from hpe_core.analysis import silhouette
    from hpe_core.analysis import silhouette_estimate as module

    monkeypatch.setattr(module, "EXACT_LIMIT", 20)  # a measured size (20,000); the 48 samples here stand above 20
    ws, view = explorer
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    run_view(qtbot, view, clusters=4, samples=0)
    est = view.bundle.result.info["silhouette_estimate"]["clusters"]
    assert "silhouette ≈" in view.strip.message.text() and view.exact_silhouette.isVisibleTo(view)
    assert est["low"] <= view.bundle.result.silhouette["clusters"] <= est["high"]
    view.exact_silhouette.click()
    wait_done(qtbot, view.structure_runner)
    from hpe_core.analysis import compute_embeddings

    features = compute_embeddings(view.bundle.request.embed_spec(("encoder",))).features["encoder"]
    exact = silhouette(features, view.bundle.result.clusters)[0]
    assert view.layer_scores["encoder"] == pytest.approx(exact, abs=1e-9)
    assert "exact silhouette of the clusters" in view.strip.message.text()
