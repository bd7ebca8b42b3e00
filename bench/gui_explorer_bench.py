"""The embedding explorer's scatter at 100,000 points, each number against a baseline measured in
the same run (pyqtgraph's own ``ScatterPlotItem`` with a brush per point, the usual way); prints
ratios. Aim: a repaint while panning ≤ 50 ms, hover ≤ 1 frame.

1. time to first draw (data + colours + the first paint);
2. one repaint while panning (median and 95th percentile over 40 pans);
3. recolouring every point in place (colour-by changes) plus the repaint;
4. hover latency: a mouse move sent to the view -> the ``hovered`` signal (SignalProxy + KD-tree),
   against the baseline's lookup ``ScatterPlotItem.pointsAt``;
5. a lasso of 100,000 points: the vectorised even-odd test against ``QPolygonF.containsPoint``
   per point.

Run: ``xvfb-run -a -s "-screen 0 1600x1200x24" python3 bench/gui_explorer_bench.py [N]``
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


def _pan_times(widget, repeats: int = 40) -> list[float]:
    vb = widget.getPlotItem().getViewBox()
    out = []
    for i in range(repeats):
        vb.translateBy(x=0.15 * (1 if (i // 10) % 2 == 0 else -1), y=0.05)
        t = time.perf_counter()
        widget.viewport().repaint()
        out.append(time.perf_counter() - t)
    return out


def ours(xy, codes) -> dict:
    from app.visuals.palettes import categorical
    from app.visuals.scatter_plot import ScatterPlot

    w = _widget(ScatterPlot(title="ours"))
    palette = categorical(8)
    t = time.perf_counter()
    w.set_data(xy, np.arange(len(xy)))
    w.set_colours(codes, palette)
    w.viewport().repaint()
    first = time.perf_counter() - t
    pans = _pan_times(w)
    t = time.perf_counter()
    w.set_colours((codes + 3) % 8, palette)
    w.viewport().repaint()
    recolour = time.perf_counter() - t
    return {"first": first, "pans": pans, "recolour": recolour, "hover": hover_latency(w), "widget": w}


def baseline(xy, codes) -> dict:
    import pyqtgraph as pg

    from app.visuals.palettes import categorical

    w = _widget(pg.PlotWidget(title="pyqtgraph ScatterPlotItem"))
    brushes = np.array([pg.mkBrush(*c) for c in categorical(8)], dtype=object)
    item = pg.ScatterPlotItem(size=5, pen=None)
    w.addItem(item)
    t = time.perf_counter()
    item.setData(pos=xy, brush=brushes[codes], data=np.arange(len(xy)))
    w.autoRange()
    w.viewport().repaint()
    first = time.perf_counter() - t
    pans = _pan_times(w)
    t = time.perf_counter()
    item.setBrush(brushes[(codes + 3) % 8])
    w.viewport().repaint()
    recolour = time.perf_counter() - t
    vb = w.getPlotItem().getViewBox()
    hover = []
    for x, y in xy[:: max(1, len(xy) // 20)][:20]:
        t = time.perf_counter()
        item.pointsAt(pg.Point(float(x), float(y)))
        hover.append(time.perf_counter() - t)
    del vb
    return {"first": first, "pans": pans, "recolour": recolour, "hover": hover, "widget": w}


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


def lasso(xy) -> tuple[float, float, int]:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QPolygonF

    from app.visuals.selection_tools import points_in_polygon

    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    poly = np.column_stack([np.cos(angles), np.sin(angles)]) * (6 + 2 * np.sin(5 * angles))[:, None]
    t = time.perf_counter()
    mask = points_in_polygon(xy, poly)
    fast = time.perf_counter() - t
    qpoly = QPolygonF([QPointF(x, y) for x, y in poly])
    t = time.perf_counter()
    slow = [qpoly.containsPoint(QPointF(x, y), Qt.FillRule.OddEvenFill) for x, y in xy.tolist()]
    base = time.perf_counter() - t
    assert mask.tolist() == slow, "the vectorised lasso disagrees with Qt"
    return fast, base, int(mask.sum())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main(n: int = 100_000) -> None:
    _app()
    xy, codes = data(n)
    base = baseline(xy, codes)
    mine = ours(xy, codes)
    p95 = lambda v: float(np.percentile(v, 95))  # noqa: E731
    print(f"scatter of {n:,} points, 900 x 700 px view (ours vs pyqtgraph ScatterPlotItem, ratio = baseline / ours)")
    print(f"  first draw        {ms(mine['first'])}  vs {ms(base['first'])}   {base['first'] / mine['first']:5.1f}x")
    for name, f in (("median", statistics.median), ("95th pct", p95)):
        a, b = f(mine["pans"]), f(base["pans"])
        print(f"  repaint {name:<9} {ms(a)}  vs {ms(b)}   {b / a:5.1f}x   (aim ≤ 50 ms)")
    print(f"  recolour + paint  {ms(mine['recolour'])}  vs {ms(base['recolour'])}   "
          f"{base['recolour'] / mine['recolour']:5.1f}x")
    h, hb = statistics.median(mine["hover"]), statistics.median(base["hover"])
    print(f"  hover latency     {ms(h)}  (move -> hovered signal, {len(mine['hover'])} moves); "
          f"baseline lookup alone (pointsAt) {ms(hb)}   {hb / h:5.1f}x")
    fast, slow, inside = lasso(xy)
    print(f"  lasso selection   {ms(fast)}  vs {ms(slow)} QPolygonF per point   {slow / fast:5.1f}x "
          f"({inside:,} points inside, identical)")
    print(f"  paints of our item during the run: {mine['widget'].cloud.paints}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from record import recording

    with recording("gui_explorer_bench"):
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
