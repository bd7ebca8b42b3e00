"""Several runs compared (the training panel's *Compare* tab): their loss and one validation metric
overlaid on shared axes, one colour per run, and a table of their final metrics and configs in
which the keys whose values differ are highlighted (:func:`hpe_core.training.runs.summary.config_table`)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.model.training_record import RunState
from app.views.job_curves import COLOURS
from hpe_core.training.runs.summary import config_table

DIFFERS = QColor("#fde9a9")
HINT = "Select two or more jobs (Ctrl- or Shift-click) to compare their curves and configs"


class RunsCompareView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[tuple[str, RunState]] = []
        self.hint = QLabel(HINT, objectName="compareHint")
        self.metric = QComboBox(objectName="compareMetric")
        self.only_differing = QCheckBox("only keys that differ", checked=True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.loss_plot = self.graphics.addPlot(row=0, col=0, title="loss")
        self.loss_plot.setLabel("bottom", "step")
        self.metric_plot = self.graphics.addPlot(row=0, col=1, title="validation metric")
        self.metric_plot.setLabel("bottom", "epoch")
        for plot in (self.loss_plot, self.metric_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
        self.metric_plot.addLegend(offset=(-5, 5))
        self.table = QTableWidget(objectName="compareTable")
        self._layout()
        self.metric.currentTextChanged.connect(lambda _t: self._draw_metric())
        self.only_differing.toggled.connect(lambda _on: self._fill_table())

    def _layout(self) -> None:
        controls = QHBoxLayout()
        controls.addWidget(self.hint, 1)
        controls.addWidget(QLabel("metric"))
        controls.addWidget(self.metric)
        controls.addWidget(self.only_differing)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.graphics)
        split.addWidget(self.table)
        split.setSizes([500, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(split, 1)

    def set_runs(self, runs: list[tuple[str, RunState]]) -> None:
        """Show ``runs`` (name, state); fewer than two: the hint."""
        self.runs = runs if len(runs) >= 2 else []
        self.hint.setText(HINT if not self.runs else f"{len(runs)} runs")
        names = sorted({m for _, st in self.runs for m in st.metrics if "." not in m})
        current = self.metric.currentText()
        self.metric.blockSignals(True)
        self.metric.clear()
        self.metric.addItems(names)
        monitored = [(st.summary.get("best") or {}).get("metric") for _, st in self.runs]  # what each run judged by
        default = next((m for m in monitored if m in names), names[0] if names else "")
        self.metric.setCurrentText(current if current in names else default)
        self.metric.blockSignals(False)
        self.loss_plot.clear()
        for i, (name, st) in enumerate(self.runs):
            self.loss_plot.plot(st.loss.x, st.loss.y, pen=pg.mkPen(COLOURS[i % len(COLOURS)]), name=name,
                                connect="finite")
        self._draw_metric()
        self._fill_table()

    def _draw_metric(self) -> None:
        self.metric_plot.clear()
        name = self.metric.currentText()
        self.metric_plot.setTitle(f"validation {name}" if name else "validation metric")
        for i, (run, st) in enumerate(self.runs):
            series = st.metrics.get(name)
            if series is not None:
                colour = COLOURS[i % len(COLOURS)]
                self.metric_plot.plot(series.x, series.y, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                      symbolBrush=colour, name=run, connect="finite")

    def _fill_table(self) -> None:
        """The config keys that differ (highlighted), the final metrics, then (unless only those
        that differ are asked for) the other config keys."""
        finals = sorted({k for _, st in self.runs for k, v in st.final.items()
                         if isinstance(v, (int, float)) and not k.startswith("dropped.")})
        keys, values, differing = config_table([st.config for _, st in self.runs])
        rows = [(k, row, True) for k, row in zip(keys, values) if k in differing]
        rows += [(f"final {k}", [st.final.get(k) for _, st in self.runs], False) for k in finals]
        if not self.only_differing.isChecked():
            rows += [(k, row, False) for k, row in zip(keys, values) if k not in differing]
        self.table.clear()
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(len(self.runs))
        self.table.setHorizontalHeaderLabels([name for name, _ in self.runs])
        self.table.setVerticalHeaderLabels([label for label, _, _ in rows])
        for r, (label, cells, highlight) in enumerate(rows):
            for c, value in enumerate(cells):
                text = f"{value:.4g}" if isinstance(value, float) else "–" if value is None else str(value)
                item = QTableWidgetItem(text)
                if highlight:
                    item.setBackground(QBrush(DIFFERS))
                self.table.setItem(r, c, item)
        self.differing_rows = [label for label, _, highlight in rows if highlight]
