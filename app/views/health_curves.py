"""The health plots of a training job's curves (:class:`~app.views.job_curves.JobCurvesView`).

One plot per group of :data:`HEALTH_PLOTS`, over epochs, one colour per layer and one line style
per measure; the alarm thresholds of the run's ``health`` section as dashed grey lines (RankMe's
is relative to its best, so it has none) and a red vertical mark at each epoch an alarm was raised,
on the plot of its measure. The plots hide while the run logs no health measure. They draw a
:class:`~app.model.training_record.RunState`; nothing is computed here.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.model.training_record import HEALTH_PREFIX, RunState, Series
from hpe_core.analysis.health_alarms import HealthOptions

#: plot key -> (title, measures drawn in it, with their line style)
HEALTH_PLOTS = {
    "rankme": ("RankMe (solid), its most min(samples, d) (dotted)", {"rankme": Qt.PenStyle.SolidLine,
                                                                    "rank_max": Qt.PenStyle.DotLine}),
    "spread": ("spread: 1 isotropic, 0 collapsed", {"spread": Qt.PenStyle.SolidLine}),
    "uniform": ("uniformity (solid), alignment (dashed)", {"uniform": Qt.PenStyle.SolidLine,
                                                           "align": Qt.PenStyle.DashLine}),
    "knn": ("kNN (solid), its chance (dotted), cross-view top-1 (dashed), top-5 (dash-dot)",
            {"knn": Qt.PenStyle.SolidLine, "knn_chance": Qt.PenStyle.DotLine, "xview_top1": Qt.PenStyle.DashLine,
             "xview_top5": Qt.PenStyle.DashDotLine}),
    "probe": ("linear probe PA-MPJPE (mm)", {"probe_pa_mpjpe": Qt.PenStyle.SolidLine}),
}
#: an alarm's measure -> the plot it is marked on; plot -> the HealthOptions field of its threshold line
MEASURE_PLOT = {"spread": "spread", "rankme": "rankme", "uniform": "uniform", "knn": "knn"}
THRESHOLDS = {"spread": "spread_min", "uniform": "uniform_max"}
LAYER_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2")
DRAWN = {m for _, measures in HEALTH_PLOTS.values() for m in measures}


def draws(name: str) -> bool:
    """Whether a health plot draws the metric ``name`` (``health.<layer>.<measure>`` of a drawn measure)."""
    return name.startswith(HEALTH_PREFIX) and name.count(".") == 2 and name.rsplit(".", 1)[1] in DRAWN


class HealthPlots:
    """Adds the health plots to ``graphics`` (a GraphicsLayoutWidget) from row ``first_row`` on."""

    def __init__(self, graphics: pg.GraphicsLayoutWidget, first_row: int) -> None:
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}  # "health.<layer>.<measure>" -> curve
        self.marks: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self.lines: dict[str, pg.InfiniteLine] = {}
        for i, (key, (title, _)) in enumerate(HEALTH_PLOTS.items()):
            plot = graphics.addPlot(row=first_row + i // 2, col=i % 2, title=title)
            plot.setLabel("bottom", "epoch")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.addLegend(offset=(-5, 5))
            plot.hide()
            self.plots[key] = plot
        for key in THRESHOLDS:
            line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
            self.plots[key].addItem(line)
            self.lines[key] = line

    def curve(self, name: str) -> pg.PlotDataItem:
        return self.curves[name]

    def refresh(self, state: RunState | None) -> None:
        series = state.health_series() if state is not None else {}
        layers = sorted({layer for per in series.values() for layer in per})
        for key, (_, measures) in HEALTH_PLOTS.items():
            shown = False
            for measure, style in measures.items():
                for layer, s in series.get(measure, {}).items():
                    self._curve(key, layer, measure, style, layers.index(layer)).setData(
                        np.asarray(s.x, float), np.asarray(s.y, float))
                    shown = True
            self.plots[key].setVisible(shown)
        for name in [n for n in self.curves if _missing(n, series)]:
            self.curves[name].setData([], [])
        self._thresholds(state)
        self._alarm_marks(state)

    def _curve(self, key: str, layer: str, measure: str, style, k: int) -> pg.PlotDataItem:
        name = f"{HEALTH_PREFIX}{layer}.{measure}"
        if name not in self.curves:
            colour = LAYER_COLOURS[k % len(LAYER_COLOURS)]
            label = layer if measure == next(iter(HEALTH_PLOTS[key][1])) else None
            self.curves[name] = self.plots[key].plot(pen=pg.mkPen(colour, width=2, style=style), symbol="o",
                                                     symbolSize=4, symbolBrush=colour, name=label, connect="finite")
        return self.curves[name]

    def _thresholds(self, state: RunState | None) -> None:
        options = HealthOptions()
        config = state.health_config if state is not None else {}
        for key, option in THRESHOLDS.items():
            self.lines[key].setValue(float(config.get(option, getattr(options, option))))

    def _alarm_marks(self, state: RunState | None) -> None:
        for plot, mark in self.marks:
            plot.removeItem(mark)
        self.marks = []
        for alarm in state.alarms if state is not None else []:
            plot = self.plots.get(MEASURE_PLOT.get(str(alarm.get("measure")), ""))
            if plot is not None:
                mark = pg.InfiniteLine(pos=float(alarm.get("epoch", 0)), angle=90, pen=pg.mkPen("#e15759", width=2))
                mark.setToolTip(str(alarm.get("message", "")))
                plot.addItem(mark)
                self.marks.append((plot, mark))


def _missing(name: str, series: dict[str, dict[str, Series]]) -> bool:
    _, layer, measure = name.split(".")
    return layer not in series.get(measure, {})
