"""The embedding explorer's scatter at a million points, each number against a baseline measured in
the same run (pyqtgraph's own ``ScatterPlotItem`` with a brush per point, the usual way); prints
ratios and the load. Aims (issue 32): a repaint while panning or zooming ≤ 50 ms, hover ≤ 10 ms,
a lasso over the whole cloud ≤ 1 s; the GUI's memory over the features' own size reported.

1. time to first draw (data + colours + the first paint);
2. one repaint while panning, zoomed out (ours: the density image) and zoomed in to under the
   disc limit (ours: discs), median and 95th percentile (the baseline: fewer repeats past 200,000
   points, where each of its repaints takes seconds);
3. recolouring every point in place (colour-by changes) plus the repaint;
4. hover latency: a mouse move sent to the view -> the ``hovered`` signal (SignalProxy + KD-tree),
   against the baseline's lookup ``ScatterPlotItem.pointsAt``;
5. a lasso around the whole cloud: ours through ``ScatterPlot.select_shape`` (the first one sorts
   the points by y) against ``QPolygonF.containsPoint`` per point; then the selection handed to the
   browser's state as a filter (``BrowseState.with_picked`` and its rows over a native dataset of N
   rows);
6. resident memory added by our scatter holding N points (and its KD-tree) against N x 512 float16
   features, and the baseline's.

Run: ``xvfb-run -a -s "-screen 0 1600x1200x24" python3 bench/gui_explorer_bench.py [N] [--record]``
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")


def data(n: int):
    """Eight Gaussian blobs of ``n`` points in all (an embedding-like cloud) and their codes."""
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 8, n)
    centres = rng.normal(0, 6, (8, 2))
    return centres[codes] + rng.normal(0, 1.5, (n, 2)), codes


def _app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _widget(plot_widget):
    plot_widget.resize(900, 700)
    plot_widget.show()
    app = _app()
    for _ in range(5):
        app.processEvents()
    return plot_widget


def rss() -> int:
    """Resident memory of this process, bytes."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _pan_times(widget, repeats: int = 40, zoom: float | None = None) -> list[float]:
    """Repaint times while panning; ``zoom``: the view's width in data units first (None: all)."""
    vb = widget.getPlotItem().getViewBox()
    if zoom is None:
        vb.autoRange()
    else:
        vb.setRange(xRange=(-zoom / 2, zoom / 2), yRange=(-zoom / 2, zoom / 2), padding=0)
    out = []
    for i in range(repeats):
        vb.translateBy(x=0.15 * (1 if (i // 10) % 2 == 0 else -1), y=0.05)
        t = time.perf_counter()
        widget.viewport().repaint()
        out.append(time.perf_counter() - t)
    return out


def ours(xy, codes) -> dict:
    from app.visuals.density import warm_up
    from app.visuals.palettes import categorical
    from app.visuals.scatter_plot import ScatterPlot

    warm_up()  # numba's compiled code is the program's, not the points' (the explorer warms it in a thread)
    before = rss()
    w = _widget(ScatterPlot(title="ours"))
    palette = categorical(8)
    t = time.perf_counter()
    w.set_data(xy, np.arange(len(xy)))
    w.set_colours(codes, palette)
    w.viewport().repaint()
    first = time.perf_counter() - t
    modes = {}
    pans = _pan_times(w)
    modes["out"] = (w.cloud.mode, w.cloud.on_screen)
    pans_in = _pan_times(w, zoom=1.0)
    modes["in"] = (w.cloud.mode, w.cloud.on_screen)
    w.getPlotItem().getViewBox().autoRange()
    t = time.perf_counter()
    w.set_colours((codes + 3) % 8, palette)
    w.viewport().repaint()
    recolour = time.perf_counter() - t
    hover = hover_latency(w)
    memory = rss() - before
    return {"first": first, "pans": pans, "pans_in": pans_in, "modes": modes, "recolour": recolour,
            "hover": hover, "widget": w, "memory": memory}


def baseline(xy, codes) -> dict:
    import pyqtgraph as pg

    from app.visuals.palettes import categorical

    before = rss()
    w = _widget(pg.PlotWidget(title="pyqtgraph ScatterPlotItem"))
    brushes = np.array([pg.mkBrush(*c) for c in categorical(8)], dtype=object)
    item = pg.ScatterPlotItem(size=5, pen=None)
    w.addItem(item)
    t = time.perf_counter()
    item.setData(pos=xy, brush=brushes[codes], data=np.arange(len(xy)))
    w.autoRange()
    w.viewport().repaint()
    first = time.perf_counter() - t
    repeats = 40 if len(xy) <= 200_000 else 6  # seconds a repaint at a million points
    pans = _pan_times(w, repeats)
    pans_in = _pan_times(w, repeats, zoom=1.0)
    w.autoRange()
    t = time.perf_counter()
    item.setBrush(brushes[(codes + 3) % 8])
    w.viewport().repaint()
    recolour = time.perf_counter() - t
    hover = []
    for x, y in xy[:: max(1, len(xy) // 20)][:20 if len(xy) <= 200_000 else 5]:
        t = time.perf_counter()
        item.pointsAt(pg.Point(float(x), float(y)))
        hover.append(time.perf_counter() - t)
    return {"first": first, "pans": pans, "pans_in": pans_in, "recolour": recolour, "hover": hover, "widget": w,
            "memory": rss() - before}


def hover_latency(w, repeats: int = 20) -> list[float]:
    """Seconds from a mouse move sent to the viewport to ``hovered`` with the point's index."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    app = _app()
    got = []
    w.hovered.connect(lambda index: got.append((time.perf_counter(), index)))
    rows = np.random.default_rng(1).choice(len(w.xy), repeats, replace=False)
    out = []
    vp = w.viewport()
    for row in rows:
        time.sleep(0.02)  # a hand moves at most every few ms; the proxy is rate limited to 60/s
        p = w.viewbox.mapViewToDevice(QPointF(*w.xy[row]))
        got.clear()
        t = time.perf_counter()
        app.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, p, vp.mapToGlobal(p), Qt.MouseButton.NoButton,
                                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
        deadline = t + 1.0
        while not got and time.perf_counter() < deadline:
            app.processEvents()
        if got:
            out.append(got[0][0] - t)
        p2 = QPointF(-50.0, -50.0)  # leave the point, so the next one is news
        app.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, p2, vp.mapToGlobal(p2), Qt.MouseButton.NoButton,
                                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
        for _ in range(3):
            app.processEvents()
    return out


def lasso(widget) -> tuple[float, float, int, np.ndarray]:
    """Ours (``select_shape``, the y-sort included) and Qt's per-point test, around the whole cloud."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QPolygonF

    xy = widget.xy
    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    reach = float(np.abs(xy).max()) * 1.5
    poly = np.column_stack([np.cos(angles), np.sin(angles)]) * (reach * (1 + 0.2 * np.sin(5 * angles)))[:, None]
    t = time.perf_counter()
    chosen = widget.select_shape("lasso", poly)
    fast = time.perf_counter() - t
    qpoly = QPolygonF([QPointF(x, y) for x, y in poly])
    t = time.perf_counter()
    slow = [qpoly.containsPoint(QPointF(x, y), Qt.FillRule.OddEvenFill) for x, y in xy.tolist()]
    base = time.perf_counter() - t
    assert chosen.tolist() == np.flatnonzero(slow).tolist(), "the lasso disagrees with Qt"
    return fast, base, len(chosen), chosen


def to_browser(chosen: np.ndarray, n: int) -> tuple[float, int]:
    """Seconds for the selection to become the browser's filter over a native dataset of ``n`` rows
    (the browse state's pick, then the rows it lists)."""
    import tempfile

    from app.model.browsing import Browse, BrowseState
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.native import write_native
    from hpe_core.geometry import Camera

    with tempfile.TemporaryDirectory() as tmp:
        cam = Camera(K=np.array([[100.0, 0, 32], [0, 100.0, 32], [0, 0, 1]]), R=np.eye(3), t=np.zeros(3))
        root = write_native(Path(tmp) / "big", arrays={"camera_id": np.zeros(n, np.int32),
                                                       "joints_2d": np.zeros((n, 17, 2), np.float32)},
                            cameras={0: cam}, skeleton="coco17", image_size=(64, 64))
        ds = open_dataset(root)
        browse = Browse()
        browse.reset(ds, None)
        t = time.perf_counter()
        browse.set_state(BrowseState().with_picked(chosen), ds, None)
        took = time.perf_counter() - t
        assert browse.rows.tolist() == chosen.tolist()
        return took, len(browse.rows)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def main(n: int = 1_000_000) -> None:
    _app()
    xy, codes = data(n)
    mine = ours(xy, codes)  # first: its memory is measured before the baseline's allocations
    mine["widget"].hide()  # never over the baseline's window (an obscured view paints nothing)
    base = baseline(xy, codes)
    p95 = lambda v: float(np.percentile(v, 95))  # noqa: E731
    print(f"scatter of {n:,} points, 900 x 700 px view (ours vs pyqtgraph ScatterPlotItem, ratio = baseline / ours)"
          f"; {load()}")
    print(f"  first draw        {ms(mine['first'])}  vs {ms(base['first'])}   {base['first'] / mine['first']:5.1f}x")
    for key, what in (("pans", "zoomed out"), ("pans_in", "zoomed in")):
        mode, shown = mine["modes"]["out" if key == "pans" else "in"]
        for name, f in (("median", statistics.median), ("95th pct", p95)):
            a, b = f(mine[key]), f(base[key])
            print(f"  repaint {what} {name:<9} {ms(a)}  vs {ms(b)}   {b / a:6.1f}x   ({mode}, {shown:,} on screen; "
                  f"aim ≤ 50 ms; {load()})")
    print(f"  recolour + paint  {ms(mine['recolour'])}  vs {ms(base['recolour'])}   "
          f"{base['recolour'] / mine['recolour']:5.1f}x")
    h, hb = statistics.median(mine["hover"]), statistics.median(base["hover"])
    print(f"  hover latency     {ms(h)}  (move -> hovered signal, {len(mine['hover'])} moves; aim ≤ 10 ms); "
          f"baseline lookup alone (pointsAt) {ms(hb)}   {hb / h:5.1f}x; {load()}")
    fast, slow, inside, chosen = lasso(mine["widget"])
    print(f"  lasso over the cloud {ms(fast)}  vs {ms(slow)} QPolygonF per point   {slow / fast:5.1f}x "
          f"({inside:,} points inside, identical; aim ≤ 1 s; {load()})")
    took, listed = to_browser(chosen, n)
    print(f"  selection -> browser filter {ms(took)} ({listed:,} rows listed; {load()})")
    features = n * 512 * 2
    print(f"  memory: ours {mine['memory'] / 2**20:7.1f} MB = {mine['memory'] / features:.3f} of the {n:,} x 512 "
          f"float16 features ({features / 2**20:.0f} MB); baseline {base['memory'] / 2**20:.1f} MB, "
          f"ratio {base['memory'] / max(mine['memory'], 1):.1f}x")
    print(f"  paints of our item during the run: {mine['widget'].cloud.paints}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from record import recording

    with recording("gui_explorer_bench"):
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
