"""A sweep (the training panel's *Sweep* tab): its trials in a sortable table (double-click one to
follow its run's events in the jobs list), the best trial, a parallel-coordinates plot (each
parameter and the metric on a [0, 1] axis, one line per complete trial, coloured by the metric)
and the metric against each parameter. The figures are computed by
:mod:`hpe_core.training.runs.summary`; the trials are read with :func:`hpe_core.training.runs.sweep.status`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from hpe_core.errors import InputError

NO_SWEEP = "No sweep open: 'Open sweep…' and choose the folder of an 'hpe sweep' run"
FIXED = ("trial", "state", "value")


class SweepView(QWidget):
    run_requested = Signal(str)  # the events file of the trial double-clicked
    failed = Signal(str)  # a message: the folder is not a sweep

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.status: dict | None = None
        self.open = QPushButton("Open sweep…", objectName="openSweep")
        self.refresh_button = QPushButton("Refresh", enabled=False)
        self.best = QLabel(NO_SWEEP, objectName="sweepBest", wordWrap=True)
        self.table = QTableWidget(objectName="sweepTrials", sortingEnabled=True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.graphics = pg.GraphicsLayoutWidget()
        self.parallel = self.graphics.addPlot(row=0, col=0, title="parallel coordinates")
        self.scatters: list[pg.PlotItem] = []
        self._layout()
        self.open.clicked.connect(self._on_open_clicked)
        self.refresh_button.clicked.connect(lambda: self.load(self.folder))
        self.table.cellDoubleClicked.connect(self._on_table_double_clicked)

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.open)
        top.addWidget(self.refresh_button)
        top.addWidget(self.best, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.graphics)
        split.setSizes([420, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    def _on_open_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Sweep folder")
        if folder:
            self.load(folder)

    def load(self, folder: str | Path | None) -> bool:
        """Read the sweep in ``folder`` and show it; False (and ``failed``) if it is not one."""
        from hpe_core.training.runs.sweep import status

        if folder is None:
            return False
        try:
            self.status = status(Path(folder))
        except InputError as exc:
            self.failed.emit(str(exc))
            return False
        self.folder = Path(folder)
        self.refresh_button.setEnabled(True)
        self._fill_table()
        self._draw()
        b = self.status["best"]
        self.best.setText(f"{self.folder.name}: {self.status['sampler']} sweep, {len(self.status['trials'])} of "
                          f"{self.status['budget']} trials · " + (
                              f"best: trial {b['number']}, {self.status['metric']} = {b['value']:.4g} (" +
                              ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in b["params"].items()) + ")" if b else "no complete trial yet"))
        return True

    def _fill_table(self) -> None:
        keys = [p["key"] for p in self.status["params"]]
        trials = self.status["trials"]
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(FIXED) + len(keys))
        self.table.setRowCount(len(trials))
        self.table.setHorizontalHeaderLabels([*FIXED[:2], self.status["metric"], *keys])
        for r, t in enumerate(trials):
            cells = [t["number"], t["state"] + (" (retried)" if t["stale"] else ""), t["value"],
                     *(t["params"].get(k) for k in keys)]
            for c, value in enumerate(cells):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, value if value is not None else "–")
                item.setData(Qt.ItemDataRole.UserRole, t["run"])
                if t["error"]:
                    item.setToolTip(t["error"])
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        self.table.sortItems(2, Qt.SortOrder.AscendingOrder if self.status["direction"] == "minimize"
                             else Qt.SortOrder.DescendingOrder)

    def _draw(self) -> None:
        from hpe_core.training.runs.summary import parallel_coordinates

        coords = parallel_coordinates(self.status)
        self.coordinates = coords
        self.parallel.clear()
        axes = coords["axes"]
        self.parallel.getAxis("bottom").setTicks([[(i, a) for i, a in enumerate(axes)]])
        self.parallel.getAxis("left").setTicks([[(0, "low"), (1, "high")]])
        self.parallel.setXRange(-0.25, len(axes) - 0.75, padding=0)  # room for the outer axes' labels
        for i, (lo, hi) in enumerate(coords["ends"]):  # each axis: a line and its two end values
            self.parallel.addItem(pg.InfiniteLine(i, angle=90, pen=pg.mkPen("#888888")))
            for y, text, anchor in ((0.0, lo, (0.5, 0.0)), (1.0, hi, (0.5, 1.0))):
                label = pg.TextItem(text, color="#dddddd", anchor=anchor)
                label.setPos(i, y)
                self.parallel.addItem(label)
        colours = _colours(coords["values"], self.status["direction"])
        for row, colour in zip(coords["rows"], colours):
            self.parallel.plot(list(range(len(axes))), row, pen=pg.mkPen(colour, width=2), connect="finite")
        for plot in self.scatters:
            self.graphics.removeItem(plot)
        self.scatters = []
        complete = [t for t in self.status["trials"] if t["state"] == "complete"]
        for i, p in enumerate(self.status["params"]):
            plot = self.graphics.addPlot(row=1, col=i, title=f"{self.status['metric']} vs {p['key']}")
            xs = [_number(t["params"].get(p["key"]), p) for t in complete]
            plot.plot(xs, [t["value"] for t in complete], pen=None, symbol="o", symbolSize=8,
                      symbolBrush=[pg.mkBrush(c) for c in colours] or None)
            plot.setLabel("bottom", f"log10 {p['key']}" if p["log"] else p["key"])
            if p["kind"] == "choice":
                plot.getAxis("bottom").setTicks([[(j, str(v)) for j, v in enumerate(p["choices"])]])
            self.scatters.append(plot)
        if self.scatters:
            self.graphics.ci.layout.setRowStretchFactor(0, 3)
            self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.graphics.removeItem(self.parallel)
        self.graphics.addItem(self.parallel, row=0, col=0, colspan=max(len(self.scatters), 1))

    def _on_table_double_clicked(self, row: int, _column: int) -> None:
        run = self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        events = Path(run) / "events.jsonl" if run else None
        if events is not None and events.is_file():
            self.run_requested.emit(str(events))


def _number(value, param: dict) -> float:
    if param["kind"] == "choice":
        return float(param["choices"].index(value)) if value in param["choices"] else math.nan
    if value is None or (param["log"] and value <= 0):
        return math.nan
    return math.log10(value) if param["log"] else float(value)


def _colours(values: list[float], direction: str) -> list:
    """Viridis by rank: the best trial yellow, the worst dark blue."""
    if not values:
        return []
    order = np.argsort(np.argsort(values if direction == "maximize" else [-v for v in values]))
    cmap = pg.colormap.get("viridis")
    return [cmap.map(float(r) / max(len(values) - 1, 1), mode="qcolor") for r in order]
