"""The explorer's scatter past its disc limit: a density image (counts per pixel, the majority's
colour) when many points are on screen, discs when zoomed in; hover and lasso on the density
view; a selection of the whole cloud reaching the browser as a filter."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from analysis_helpers import shown
from app.visuals.density import MIN_ALPHA, UNKNOWN, density_image
from app.visuals.palettes import categorical
from app.visuals.scatter_plot import ScatterPlot
from test_embedding_view import drag, slow_inside

N, LIMIT = 30_000, 5_000


def slow_density(xy, codes, palette, m, w, h):
    """The reference: counts per pixel and code by a plain loop; a pixel's colour is its most
    frequent code's (the lowest code on a tie), alpha from log(count) / log(fullest count)."""
    table = [tuple(int(v) for v in c) for c in palette] + [UNKNOWN]
    counts = {}
    for (x, y), c in zip(xy.tolist(), codes.tolist()):
        px, py = m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]
        if 0 <= px < w and 0 <= py < h:
            slot = c if 0 <= c < len(palette) else len(palette)
            counts.setdefault((int(py), int(px)), [0] * len(table))[slot] += 1
    top = max(sum(v) for v in counts.values())
    out = np.zeros((h, w), np.uint32)
    for (r, col), v in counts.items():
        best = int(np.argmax(v))
        share = MIN_ALPHA + (1 - MIN_ALPHA) * np.log1p(sum(v)) / np.log1p(top) if top > 1 else 1.0
        r_, g, b, a = table[best]
        out[r, col] = (min(255, int(a * share + 0.5)) << 24) | (r_ << 16) | (g << 8) | b
    return out, sum(sum(v) for v in counts.values())


@pytest.mark.parametrize("seed", [0, 1])
def test_density_image_matches_a_plain_loop(seed):
    rng = np.random.default_rng(seed)
    xy = rng.normal(0, 1, (3000, 2))
    codes = rng.integers(-1, 5, 3000)  # -1 and 4 (past the 4-colour palette) are unknown
    m = (6.0, 0.5, 20.0, -0.3, -5.0, 15.0)  # sheared and flipped: any affine map
    got, inside = density_image(xy, codes, categorical(4), m, 40, 30)
    want, want_inside = slow_density(xy, codes, categorical(4), m, 40, 30)
    assert inside == want_inside and 0 < inside < len(xy)
    assert np.array_equal(got, want)


def cloud(n=N, seed=0):
    """Two far-apart blobs: codes 0 (left) and 1 (right)."""
    rng = np.random.default_rng(seed)
    codes = (np.arange(n) % 2).astype(np.int64)
    xy = rng.normal(0, 1, (n, 2)) + np.where(codes[:, None] == 0, [-8.0, 0.0], [8.0, 0.0])
    return xy, codes


@pytest.fixture
def plot(qtbot):
    w = ScatterPlot(points_limit=LIMIT)
    w.resize(700, 500)
    shown(w, qtbot)
    xy, codes = cloud()
    w.set_data(xy, np.arange(N) * 3 + 7)  # dataset indices unlike the rows
    w.set_colours(codes, categorical(2))
    return w  # qtbot closes it


def grab_rgb(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    return np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, :img.width() * 3] \
        .reshape(img.height(), img.width(), 3)


def test_zoomed_out_is_a_density_image_coloured_by_the_majority_and_zoomed_in_is_discs(qtbot, plot):
    plot.viewport().repaint()
    assert plot.cloud.mode == "density" and plot.cloud.on_screen == N
    rgb = grab_rgb(plot).astype(int)
    palette = categorical(2)[:, :3].astype(int)
    for centre, code in (((-8.0, 0.0), 0), ((8.0, 0.0), 1)):  # each blob's core wears its code's colour
        p = plot.viewbox.mapViewToDevice(QPointF(*centre))
        patch = rgb[int(p.y()) - 2:int(p.y()) + 3, int(p.x()) - 2:int(p.x()) + 3].reshape(-1, 3)
        nearest = np.argmin(np.abs(patch[:, None, :] - palette[None]).sum(-1), axis=1)
        assert (nearest == code).mean() > 0.8
    plot.viewbox.setRange(xRange=(-8.5, -7.5), yRange=(-0.5, 0.5), padding=0)
    plot.viewport().repaint()
    assert plot.cloud.mode == "points" and 0 < plot.cloud.on_screen <= LIMIT
    plot.viewbox.setRange(xRange=(-12, 12), yRange=(-4, 4), padding=0)
    plot.viewport().repaint()
    assert plot.cloud.mode == "density"


def move_to(widget, device_point) -> None:
    vp = widget.viewport()
    QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, device_point, vp.mapToGlobal(device_point),
                                           Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                           Qt.KeyboardModifier.NoModifier))


def test_hover_on_the_density_view_finds_the_nearest_point(qtbot, plot):
    plot.viewport().repaint()
    assert plot.cloud.mode == "density"
    row = int(np.argmax(plot.xy[:, 0]))  # the right-most point: nobody else within the radius
    target = plot.viewbox.mapViewToDevice(QPointF(*plot.xy[row])) + QPointF(2, 1)
    got = []
    plot.hovered.connect(got.append)
    move_to(plot, target)
    qtbot.waitUntil(lambda: bool(got), timeout=3000)
    px = np.array([[plot.viewbox.mapViewToDevice(QPointF(*p)).x(), plot.viewbox.mapViewToDevice(QPointF(*p)).y()]
                   for p in plot.xy[np.argsort(-plot.xy[:, 0])[:50]]])
    nearest = np.argsort(-plot.xy[:, 0])[:50][np.argmin(np.hypot(*(px - [target.x(), target.y()]).T))]
    assert got[-1] == int(plot.indices[nearest]) and plot.hover_index == got[-1]


def test_lasso_on_the_density_view_selects_exactly_the_points_inside(qtbot, plot):
    plot.viewport().repaint()
    assert plot.cloud.mode == "density"
    plot.set_tool("lasso")
    got = []
    plot.selection_made.connect(got.append)
    c = plot.viewbox.mapViewToDevice(QPointF(-8.0, 0.0))
    c = np.round([c.x(), c.y()])  # whole pixels, and edges in sevenths of multiples of 7: every point the
    path = [c + d for d in ([-63, -49], [70, -28], [-14, 63], [-63, -49])]  # hand sends is a whole pixel
    drag(plot, [QPointF(*(p0 + (p1 - p0) * t)) for p0, p1 in zip(path[:-1], path[1:]) for t in np.linspace(0, 1, 8)])
    assert got
    near = np.flatnonzero(np.abs(plot.xy[:, 0] + 8) < 4)  # the reference loop over the left blob only
    device = [plot.viewbox.mapViewToDevice(QPointF(*plot.xy[r])) for r in near]  # where the hand saw them
    expected = sorted(int(plot.indices[r]) for r, d in zip(near, device) if slow_inside((d.x(), d.y()), path))
    assert len(expected) > LIMIT // 10 and got[-1].tolist() == expected


def test_a_selection_of_the_whole_cloud_reaches_the_browser_as_a_filter(qtbot, plot, tmp_path):
    from app.views.browser_view import BrowserView
    from app.workspace import Workspace
    from hpe_core.datasets.native import write_native
    from hpe_core.geometry import Camera

    n_rows = 3 * N + 7  # the plot's indices are 7, 10, ...: every third row of the dataset
    cam = Camera(K=np.array([[100.0, 0, 32], [0, 100.0, 32], [0, 0, 1]]), R=np.eye(3), t=np.zeros(3))
    root = write_native(tmp_path / "big", arrays={"camera_id": np.zeros(n_rows, np.int32),
                                                  "joints_2d": np.zeros((n_rows, 17, 2), np.float32)},
                        cameras={0: cam}, skeleton="coco17", image_size=(64, 64))
    ws = Workspace()
    browser = BrowserView(ws)
    shown(browser, qtbot)
    try:
        ws.open_paths([str(root)])
        qtbot.waitUntil(lambda: ws.catalog.dataset is not None and len(ws.catalog.dataset) == n_rows, timeout=20000)
        plot.selection_made.connect(ws.select_samples)  # as the explorer wires it
        corners = np.array([[-20.0, -10.0], [20.0, 10.0]])
        chosen = plot.select_shape("rect", corners)
        assert len(chosen) == N
        assert ws.browse.rows.tolist() == plot.indices.tolist()  # listed: exactly the selected samples
        assert browser.model.rows.tolist() == plot.indices.tolist()
        assert f"{N:,}" in browser.pick_label.text()
    finally:
        browser.shutdown()
        ws.close()
