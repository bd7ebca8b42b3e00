"""``ScatterPlot``: a 2D scatter of many samples with hover, rectangle/lasso selection and a legend.

Model-free: it takes arrays (positions, the dataset index of each row, colour codes) and emits
dataset indices. Hover is throttled with ``SignalProxy`` and answered by a KD-tree (built in a
thread as soon as the points arrive), so it costs the same with 100 or 1,000,000 points, over
the discs or the density image alike; a linked view shows another plot's hover with
:meth:`show_hover`. A lasso tests each edge against its band of the points sorted by y (the order
kept with the points). Dataset indices map to rows by a binary search over their sorted order.
Items are created once and updated in place.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QSizePolicy

from app.visuals.density import warm_up
from app.visuals.point_cloud_item import POINTS_LIMIT, PointCloudItem
from app.visuals.screen_only import screen_only
from app.visuals.selection_tools import SelectViewBox, points_in_polygon, points_in_rect

HOVER_RADIUS_PX = 8.0
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scatter-kdtree")


def unique_sorted(values) -> np.ndarray:
    """Sorted distinct int64 values: a sort and a comparison (numpy 2's ``np.unique`` hashes, about
    15x slower on a million integers)."""
    out = np.sort(np.asarray(values, np.int64).reshape(-1))
    return out[np.concatenate([[True], out[1:] != out[:-1]])] if len(out) else out


def _build_tree(xy: np.ndarray):
    """``(cKDTree of xy scaled by its spread, the scale (2,))``; NaN rows far away, never hovered."""
    from scipy.spatial import cKDTree

    finite = np.where(np.isfinite(xy), xy, 1e30)
    spread = np.nanstd(xy, axis=0) if len(xy) > 1 else np.ones(2)
    scale = np.where(spread > 0, spread, 1.0)
    return cKDTree(finite / scale, balanced_tree=False), scale
LEGEND_ROWS = 20  # legend entries per column (more entries: more columns; none is dropped)


class ScatterPlot(pg.PlotWidget):
    """``set_data(xy (N, 2), indices (N,))``, ``set_colours(codes, palette, legend)``."""

    hovered = Signal(int)           # dataset index under the mouse, -1 when none
    selection_made = Signal(object)  # (M,) int64 dataset indices, sorted

    def __init__(self, parent=None, title: str = "", point_size: float = 5.0,
                 points_limit: int = POINTS_LIMIT) -> None:
        """``points_limit``: discs up to this many points on screen, a density image above."""
        self.viewbox = SelectViewBox()
        super().__init__(parent=parent, viewBox=self.viewbox)
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        self.plot_item.setTitle(title)
        self.plot_item.showGrid(x=False, y=False)
        self.cloud = PointCloudItem(point_size, points_limit=points_limit)
        self.selected_item = PointCloudItem(point_size + 3, outline=True, points_limit=points_limit)
        self.selected_item.setZValue(5)
        self.hover_item = pg.ScatterPlotItem(size=16, pen=pg.mkPen((255, 220, 80), width=2.5), brush=None)
        self.hover_item.setZValue(10)
        for item in (self.cloud, self.selected_item, self.hover_item):
            self.addItem(item)
        screen_only(self.selected_item, self.hover_item)  # an exported figure shows the data, not the pointer
        # The legend sits right of the plot in the plot item's own layout (never over the points, and
        # inside what a figure export draws), with every entry, in columns of LEGEND_ROWS.
        self.legend = pg.LegendItem(labelTextSize="8pt", brush=pg.mkBrush(28, 31, 38, 200), pen=pg.mkPen(70, 75, 88))
        self.legend.setVisible(False)
        self.legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # its own size, not the row's
        self._legend_placed = False
        self._legend_colours: list[tuple] = []
        self.xy = np.zeros((0, 2), np.float64)
        self.indices = np.zeros(0, np.int64)
        self.selected = np.zeros(0, np.int64)
        self.hover_index = -1
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None  # (indices sorted, their rows)
        self._y_order = None  # a Future of the rows' order by y (for the lasso)
        self._tree = None  # a Future of the KD-tree (built in a thread)
        self._proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=60, delay=0.0,
                                     slot=self._on_scene_mouse_moved)
        self.viewbox.shape_drawn.connect(self._on_viewbox_shape_drawn)
        _POOL.submit(warm_up)  # the density kernel ready (compiled or loaded) before it is needed

    # ------------------------------------------------------------------ data
    def set_data(self, xy: np.ndarray, indices: np.ndarray, auto_range: bool = True) -> None:
        """Positions (N, 2) and the dataset index of each row (N,); colours kept when N is."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        indices = np.asarray(indices, np.int64).reshape(-1)
        if len(xy) != len(indices):
            raise ValueError(f"{len(xy)} points but {len(indices)} indices")
        self.xy, self.indices = xy, indices
        self._sorted = None
        self._tree = _POOL.submit(_build_tree, xy) if len(xy) else None
        self._y_order = _POOL.submit(np.argsort, xy[:, 1], kind="stable")  # for the lasso
        self.cloud.set_points(xy)
        self.set_selected(self.selected)
        self.show_hover(-1)
        if auto_range and len(xy):
            self.plot_item.enableAutoRange()
            self.plot_item.autoRange()

    def set_colours(self, codes: np.ndarray, palette: np.ndarray,
                    legend: list[tuple[str, tuple]] | None = None) -> None:
        """Colour code per row (N,) (-1: unknown, grey) into ``palette`` (K, 4) uint8."""
        self.cloud.set_colours(codes, palette)
        self.legend.clear()
        entries = list(legend or [])
        self._legend_colours = [tuple(rgba) for _name, rgba in entries]
        self.legend.setColumnCount(max(1, -(-len(entries) // LEGEND_ROWS)))
        for name, rgba in entries:
            sample = pg.ScatterPlotItem(size=9, pen=None, brush=pg.mkBrush(*rgba))
            self.legend.addItem(sample, name)
        self.place_legend(bool(entries))

    def place_legend(self, shown: bool) -> None:
        """The legend in the layout's column right of the axes while it has entries; out of the
        layout (no empty column) while it has none."""
        layout = self.plot_item.layout
        if shown and not self._legend_placed:
            layout.addItem(self.legend, 2, 3)
            layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignTop)
            self._legend_placed = True
        elif not shown and self._legend_placed:
            layout.removeItem(self.legend)
            self._legend_placed = False
        self.legend.setVisible(shown)

    def legend_entries(self) -> list[tuple[str, tuple]]:
        """``(name, rgba)`` of every entry the legend shows."""
        return [(label.text, rgba) for (_sample, label), rgba in zip(self.legend.items, self._legend_colours)]

    def clear_data(self) -> None:
        self.set_data(np.zeros((0, 2)), np.zeros(0, np.int64), auto_range=False)
        self.set_colours(np.zeros(0, np.int64), np.zeros((0, 4), np.uint8))

    def set_axis_labels(self, x: str, y: str) -> None:
        self.plot_item.setLabel("bottom", x)
        self.plot_item.setLabel("left", y)

    def set_tool(self, tool: str) -> None:
        """``"pan"``, ``"rect"`` or ``"lasso"``."""
        self.viewbox.set_tool(tool)

    # ------------------------------------------------------------------ selection and hover
    def rows_of(self, indices) -> np.ndarray:
        """Rows of the given dataset indices (those not shown are dropped)."""
        if self._sorted is None:
            ascending = len(self.indices) < 2 or bool(np.all(self.indices[1:] > self.indices[:-1]))
            rows = np.arange(len(self.indices)) if ascending else np.argsort(self.indices, kind="stable")
            self._sorted = (self.indices if ascending else self.indices[rows], rows)
        keys, rows = self._sorted
        wanted = np.asarray(indices, np.int64).reshape(-1)
        if not len(keys) or not len(wanted):
            return np.zeros(0, np.int64)
        at = np.maximum(np.searchsorted(keys, wanted, side="right") - 1, 0)  # an index on several rows: the last
        return rows[at[keys[at] == wanted]]

    def set_selected(self, indices) -> None:
        """Outline the samples with these dataset indices."""
        self.selected = unique_sorted(indices)
        rows = self.rows_of(self.selected) if len(self.selected) else np.zeros(0, np.int64)
        self.selected_item.set_points(self.xy[rows])
        self.selected_item.set_colours(np.zeros(len(rows), np.int64), np.array([[255, 210, 60, 90]], np.uint8))

    def show_hover(self, index: int) -> None:
        """Ring the sample with dataset index ``index`` (-1: none); for linked views too."""
        self.hover_index = int(index)
        rows = self.rows_of([index]) if index >= 0 else []
        if len(rows):
            self.hover_item.setData(pos=self.xy[rows[:1]])
        else:
            self.hover_item.setData(pos=np.zeros((0, 2)))

    def select_shape(self, kind: str, points: np.ndarray, additive: bool = False) -> np.ndarray:
        """Select the rows inside a rectangle (two corners) or a lasso polygon, in data units."""
        pts = np.asarray(points, np.float64).reshape(-1, 2)
        if kind == "rect" and len(pts) >= 2:
            mask = points_in_rect(self.xy, pts[0], pts[-1])
        else:
            mask = points_in_polygon(self.xy, pts, self._y_order.result())
        chosen = self.indices[mask]
        if additive:
            chosen = np.concatenate([self.selected, chosen])
        self.set_selected(chosen)
        self.selection_made.emit(self.selected)
        return self.selected

    def row_at(self, view_pos: QPointF, radius_px: float = HOVER_RADIUS_PX) -> int:
        """The row nearest to ``view_pos`` (data coordinates) within ``radius_px``, else -1."""
        if not len(self.xy) or self._tree is None:
            return -1
        sx, sy = self.viewbox.viewPixelSize()
        if not (sx > 0 and sy > 0):
            return -1
        tree, scale = self._tree.result()
        q = np.array([view_pos.x(), view_pos.y()]) / scale
        reach = radius_px * max(sx / scale[0], sy / scale[1])
        cand = np.asarray(tree.query_ball_point(q, reach), np.int64)
        if not len(cand):
            return -1
        d = np.hypot((self.xy[cand, 0] - view_pos.x()) / sx, (self.xy[cand, 1] - view_pos.y()) / sy)
        best = int(np.argmin(d))
        return int(cand[best]) if d[best] <= radius_px else -1

    def _on_scene_mouse_moved(self, args) -> None:
        pos = args[0]
        index = -1
        if self.viewbox.sceneBoundingRect().contains(pos):
            row = self.row_at(self.viewbox.mapSceneToView(pos))
            index = int(self.indices[row]) if row >= 0 else -1
        if index != self.hover_index:
            self.show_hover(index)
            self.hovered.emit(index)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """The mouse left the plot: nothing is hovered (coming back to the same point hovers it again)."""
        super().leaveEvent(event)
        if self.hover_index >= 0:
            self.show_hover(-1)
            self.hovered.emit(-1)

    def _on_viewbox_shape_drawn(self, kind: str, points, additive: bool) -> None:
        self.select_shape(kind, points, additive)

    def close(self) -> bool:
        self._proxy.disconnect()
        return super().close()
