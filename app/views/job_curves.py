"""Live curves of one training job (pyqtgraph): loss, learning rate and throughput over steps,
the validation metrics over epochs, and a line with the position, the speed and the ETA. A task
that logs a per-joint error histogram at each validation (vae_lift) gets a heat strip: one column
per epoch, the share of joints in each error bin (the thesis' Fig. 2.3.2, right). A unihpe run
gets its own plot of the three cross-modal cosine curves (image–2D, image–3D, 2D–3D; the
paper's Fig. 5), which then leave the validation-metrics plot. A contrastive or UniHPE run's live
health measures (``health.<layer>.<measure>``, :mod:`hpe_core.analysis.health`) get plots of their
own (:data:`~app.views.health_curves.HEALTH_PLOTS`), one curve per layer, with the alarm thresholds of the run's ``health``
config as dashed lines and the epochs an alarm was raised at as red marks.

The view draws a :class:`~app.model.training_record.RunState`; it computes nothing. Items are
updated in place with ``setData``, at most a few times a second (:meth:`schedule_refresh`).
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.model.training_record import COSINE_METRICS, RunState, Series, format_duration
from app.views.health_curves import HealthPlots, draws

PLOTS = (("loss", "loss", "step"), ("lr", "learning rate", "step"),
         ("metrics", "validation metrics", "epoch"), ("throughput", "samples / s", "step"))
COSINE_COLOURS = {"cos_image_pose2d": "#f28e2b", "cos_image_pose3d": "#e15759", "cos_pose2d_pose3d": "#4e79a7"}
COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")


def status_line(state: RunState | None, running: bool) -> str:
    """``epoch 2/6 · step 12/30 (40%) · 215 samples/s · ETA 0:12``."""
    if state is None:
        return "No job selected"
    if not state.events:
        return "Waiting for the first event…"
    parts = [f"epoch {min(state.epoch + (0 if state.ended else 1), max(state.epochs, 1))}/{state.epochs}",
             f"step {state.step}/{state.total_steps} ({100 * state.fraction:.0f}%)"]
    if state.samples_per_s is not None:
        parts.append(f"{state.samples_per_s:.1f} samples/s")
    if running:
        parts.append(f"ETA {format_duration(state.eta_s())}")
        if state.last_time is not None:
            parts.append(f"last event {format_duration(max(time.time() - state.last_time, 0))} ago")
    return " · ".join(parts)


class JobCurvesView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: RunState | None = None
        self.running = False
        self.status = QLabel("No job selected", objectName="curvesStatus")
        self.graphics = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}
        self._add_step_plots()
        self._add_pjpe_plot()
        self._add_cosine_plot()
        self.health = HealthPlots(self.graphics, first_row=4)
        self.curves = {name: self.plots[name].plot(pen=pg.mkPen(COLOURS[0]), connect="finite")  # cosmetic: fast
                       for name in ("loss", "lr", "throughput")}
        self.metric_curves: dict[str, pg.PlotDataItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.graphics, 1)
        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.refresh)

    def _add_step_plots(self) -> None:
        """The plots of :data:`PLOTS`, two a row."""
        for i, (name, title, x_label) in enumerate(PLOTS):
            plot = self.graphics.addPlot(row=i // 2, col=i % 2, title=title)
            plot.setLabel("bottom", x_label)
            plot.showGrid(x=True, y=True, alpha=0.2)
            if x_label == "step":  # long runs: draw what a pixel column can show (min/max), nothing off-screen
                plot.setDownsampling(auto=True, mode="peak")
                plot.setClipToView(True)
            self.plots[name] = plot
        self.plots["metrics"].addLegend(offset=(-5, 5))

    def _add_pjpe_plot(self) -> None:
        self.plots["pjpe"] = self.graphics.addPlot(row=2, col=0, colspan=2, title="per-joint error histogram (PJPE)")
        self.plots["pjpe"].setLabel("bottom", "epoch")
        self.plots["pjpe"].setLabel("left", "error (mm)")
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setColorMap(pg.colormap.get("viridis"))
        self.plots["pjpe"].addItem(self.heat)
        self.plots["pjpe"].hide()

    def _add_cosine_plot(self) -> None:
        self.plots["cosine"] = self.graphics.addPlot(row=3, col=0, colspan=2,
                                                     title="cross-modal cosine similarity (validation)")
        self.plots["cosine"].setLabel("bottom", "epoch")
        self.plots["cosine"].setLabel("left", "mean cosine")
        self.plots["cosine"].getAxis("left").enableAutoSIPrefix(False)  # a cosine, never "x0.001"
        self.plots["cosine"].showGrid(x=True, y=True, alpha=0.2)
        self.plots["cosine"].addLegend(offset=(-5, 5))
        self.cosine_curves = {name: self.plots["cosine"].plot(
            pen=pg.mkPen(COSINE_COLOURS[name], width=2), symbol="o", symbolSize=5,
            symbolBrush=COSINE_COLOURS[name], name=label, connect="finite") for name, label in COSINE_METRICS.items()}
        self.plots["cosine"].hide()

    def set_state(self, state: RunState | None, running: bool = False) -> None:
        """Show ``state`` (None: nothing); redraws at once."""
        if state is not self.state:
            for curve in self.metric_curves.values():
                self.plots["metrics"].removeItem(curve)
            self.metric_curves.clear()
        self.state, self.running = state, running
        self.refresh()

    def schedule_refresh(self, running: bool | None = None) -> None:
        if running is not None:
            self.running = running
        if not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        state = self.state
        self.status.setText(status_line(state, self.running))
        empty = Series()
        for name, curve in self.curves.items():
            _set(curve, getattr(state, name) if state is not None else empty)
        metrics = {k: v for k, v in (state.metrics if state is not None else {}).items()
                   if k not in COSINE_METRICS and not draws(k)}
        for name in [n for n in self.metric_curves if n not in metrics]:
            self.plots["metrics"].removeItem(self.metric_curves.pop(name))
        for i, (name, series) in enumerate(metrics.items()):
            curve = self.metric_curves.get(name)
            if curve is None:
                pen = pg.mkPen(COLOURS[i % len(COLOURS)])
                curve = self.plots["metrics"].plot(pen=pen, symbol="o", symbolSize=5, symbolBrush=pen.color(),
                                                   name=name, connect="finite")
                self.metric_curves[name] = curve
            _set(curve, series)
        self._refresh_heat(state)
        self._refresh_cosine(state)
        self.health.refresh(state)

    def _refresh_cosine(self, state: RunState | None) -> None:
        present = state.cosine_series() if state is not None else {}
        for name, curve in self.cosine_curves.items():
            _set(curve, present.get(name, Series()))
        self.plots["cosine"].setVisible(bool(present))

    def _refresh_heat(self, state: RunState | None) -> None:
        data = self.histogram_data()
        hist = state.histograms.get("pjpe") if state is not None else None
        if data.size == 0 or hist is None:
            self.plots["pjpe"].hide()
            return
        edges, epochs = hist["edges"], hist["epochs"]
        self.heat.setImage(data, levels=(0.0, max(float(data.max()), 1e-9)))
        self.heat.setRect(QRectF(epochs[0] - 0.5, edges[0], len(epochs), edges[-1] - edges[0]))
        self.plots["pjpe"].show()

    def histogram_data(self, name: str = "pjpe") -> np.ndarray:
        """``(bins, epochs)``: each validation's share of joints per error bin (what the strip shows)."""
        hist = self.state.histograms.get(name) if self.state is not None else None
        if not hist or not hist["counts"]:
            return np.zeros((0, 0))
        counts = np.asarray(hist["counts"], dtype=float).T
        return counts / np.maximum(counts.sum(axis=0, keepdims=True), 1.0)

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """What a curve shows, as arrays: "loss", "lr", "throughput" or "metric:<name>" (a health
        measure's, e.g. "metric:health.encoder.rankme", from its own plot)."""
        if name.startswith("metric:") and draws(name[7:]):
            curve = self.health.curve(name[7:])
        elif name.startswith("metric:"):
            curve = self.cosine_curves.get(name[7:]) or self.metric_curves[name[7:]]
        else:
            curve = self.curves[name]
        x, y = curve.xData, curve.yData  # all of it (getData gives the downsampled, clipped part)
        return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None else np.asarray(y))


def _set(curve: pg.PlotDataItem, series: Series) -> None:
    curve.setData(np.asarray(series.x, dtype=float), np.asarray(series.y, dtype=float))
