"""The embedding explorer: a checkpoint's layer over the current dataset, clustered and projected.

Settings (checkpoint, layer, method, 2D / 3D, k, samples) recompute in a worker through
:func:`app.workers.analysis_jobs.embed_job`, which calls ``hpe_core.analysis.embed`` exactly as
``hpe embed`` does; colours (cluster, action, subject, camera, error) change in place. Hover
shows the sample; rectangle and lasso selections go to the workspace (the browser lists them,
the first one is shown in the image and 3D views).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QLabel, QSpinBox, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from app.model import messages as msg
from app.views.analysis_controls import (METHOD_LABELS, CheckpointCombo, ProjectionOptions, controls_row, layer_combo,
                                        method_combo)
from app.views.analysis_view import AnalysisView
from app.views.embedding_colours import COLOUR_MODES, colour_codes
from app.views.shared_space import SharedSpaceMode
from app.views.structure_panel import StructurePanel
from app.visuals.binding import bind
from app.visuals.scatter_plot import ScatterPlot
from app.visuals.silhouette_plot import SilhouettePlot
from app.workers.analysis_jobs import LAYER_ORDER, EmbedRequest, embed_job

if TYPE_CHECKING:
    from app.workspace import Workspace

class EmbeddingView(AnalysisView):
    REPORT_TITLE = "Embedding explorer"

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)  # self.bundle: the EmbedBundle of the shown result
        self.result = None          # its EmbedResult (or None while only a preview is shown)
        self.indices = np.zeros(0, np.int64)
        self.layer_scores: dict[str, float | None] = {}
        self._previews = 0
        self._build_controls()
        self.plot = ScatterPlot(title="")
        self.plot3d = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.silhouette = SilhouettePlot()
        self.structure = StructurePanel()  # label silhouettes beside the clusters', the scan over k
        self.structure_runner = self.add_runner(self.structure.strip)
        self.structures: dict = {}
        self._build_layers_table()
        self.add_hover_card()
        self.shared = SharedSpaceMode(self)  # a UniHPE checkpoint: its shared space and retrieval
        self._layout()
        self._recompute = QTimer(self, singleShot=True, interval=250)
        self._recompute.timeout.connect(self.run)
        self._recolour_later = QTimer(self, singleShot=True, interval=500)
        self._recolour_later.timeout.connect(self.recolour)
        self._wire()

    # ------------------------------------------------------------------ construction
    def _build_controls(self) -> None:
        self.checkpoint = CheckpointCombo(self.workspace)
        self.layer = layer_combo("Layer whose features are embedded")
        self.method = method_combo("Projection to 2D or 3D")
        self.dims = QComboBox(toolTip="2D plot or 3D point cloud")
        self.dims.addItem("2D", 2)
        self.dims.addItem("3D", 3)
        self.clusters = QSpinBox(minimum=2, maximum=64, value=8, prefix="k = ", toolTip="k-means clusters")
        self.samples = QSpinBox(minimum=0, maximum=1_000_000, value=2000, singleStep=500, specialValueText="all",
                                toolTip="A seeded random subset of this many samples (0: all)")
        self.projection = ProjectionOptions()  # split, perplexity, neighbours, min-dist
        self.colour = QComboBox(toolTip="Colour the points by")
        for mode in COLOUR_MODES:
            self.colour.addItem(mode, mode)
        self.tools = QButtonGroup(self)
        self.tool_buttons = {}
        for i, (tool, text, tip) in enumerate((("pan", "Pan", "Drag to pan, wheel to zoom"),
                                               ("rect", "Rectangle", "Drag a rectangle to select (Shift adds)"),
                                               ("lasso", "Lasso", "Draw around points to select (Shift adds)"))):
            button = QToolButton(text=text, toolTip=tip, checkable=True, checked=(tool == "pan"))
            self.tools.addButton(button, i)
            self.tool_buttons[tool] = button
        self.clear_selection = QToolButton(text="Clear selection", toolTip="List every sample in the browser again")
        self.exact_silhouette = QToolButton(text="Exact silhouette", visible=False,
                                            toolTip="Above 20,000 samples the silhouette is a sampled estimate with "
                                                    "its interval; this computes the exact value in the background")

    def _build_layers_table(self) -> None:
        self.layers_table = QTableWidget(0, 2)
        self.layers_table.setHorizontalHeaderLabels(["layer", "silhouette"])
        self.layers_table.verticalHeader().setVisible(False)
        self.layers_table.horizontalHeader().setStretchLastSection(True)
        self.layers_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.layers_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)

    def _layout(self) -> None:
        tools = controls_row([*self.tool_buttons.values(), self.clear_selection, self.exact_silhouette])
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(tools)
        lv.addWidget(self.stack, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.layers_table)
        right.addWidget(self.silhouette)
        right.addWidget(self.structure)
        right.addWidget(self.shared.panel)
        right.setSizes([120, 220, 360, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        self.set_skeleton([self.checkpoint, self.layer, self.method, self.dims, self.clusters, QLabel("samples"),
                           self.samples, self.projection, QLabel("colour"), self.colour], split)

    def _wire(self) -> None:
        ws = self.workspace
        for combo in (self.checkpoint, self.layer, self.method, self.dims):
            combo.currentIndexChanged.connect(self._on_setting_changed)
        for spin in (self.clusters, self.samples):
            spin.valueChanged.connect(self._on_setting_changed)
        self.colour.currentIndexChanged.connect(self._on_colour_changed)
        self.projection.changed.connect(self._on_setting_changed)
        self.method.currentIndexChanged.connect(lambda _i: self.projection.set_method(self.method.currentData()))
        self.tools.idClicked.connect(self._on_tool_clicked)
        self.clear_selection.clicked.connect(lambda: self._select(np.zeros(0, np.int64)))
        self.exact_silhouette.clicked.connect(self.run_exact_silhouette)
        self.strip.run_clicked.connect(self.run)
        self.structure.strip.run_clicked.connect(self.run_structure)
        self.plot.hovered.connect(self._on_plot_hovered)
        self.plot.selection_made.connect(self._select)
        self.layers_table.cellClicked.connect(self._on_layers_table_clicked)
        bind(ws.catalog.current_dataset_changed, self._on_workspace_dataset_changed, self)
        bind(ws.cache.changed, self._on_workspace_predictions_changed, self)

    # ------------------------------------------------------------------ running
    def request(self) -> EmbedRequest | None:
        """The request the controls describe, or None (with a message) when something is missing."""
        entry = self.workspace.catalog.datasets.get(self.workspace.catalog.current_key)
        if entry is None:
            self.strip.show_message("info", msg.NEED_DATASET)
            return None
        loaded, problem = self.checkpoint.model_or_message("embedding its features")
        if loaded is None:
            self.strip.show_message("info", problem)
            return None
        colour = self.colour.currentData()
        return EmbedRequest(str(loaded.path), str(entry.key), self.layer.currentData(), self.method.currentData(),
                            int(self.dims.currentData()), int(self.clusters.value()),
                            colour if colour in ("action", "subject", "camera") else None,
                            max_samples=int(self.samples.value()) or None, device=self.workspace.device.spec,
                            precision=self.workspace.device.precision, skip_list=entry.skip_list,
                            **self.projection.values())

    def run(self) -> None:
        """Start (or restart) the computation for the current settings."""
        self._recompute.stop()
        if self.shared.maybe_run():
            return
        req = self.request()
        if req is None:
            return
        what = f"Embedding {req.layer} ({METHOD_LABELS[req.method]} {req.dims}D)"
        self.layer_scores = {}
        self._previews = 0
        self.runner.start(embed_job(req), what, self._on_task_partial, self._on_task_done)

    def _on_setting_changed(self, *_args) -> None:
        if self.bundle is not None or self.runner.running() or self.shared.active:
            self._recompute.start()

    def _on_task_partial(self, item) -> None:
        kind = item[0]
        if kind == "preview":  # first a PCA while UMAP / t-SNE start, then t-SNE's map so far
            method = METHOD_LABELS[self.method.currentData()]
            self._previews += 1
            self.strip.status.setText((msg.PREVIEW if self._previews == 1 else msg.LIVE).format(method=method))
            self._show_points(item[1], item[2], result=None, auto_range=self._previews == 1)
        elif kind == "result":
            self._show_points(item[1].coords, item[1].indices, result=item[1])
        elif kind == "layer":
            self.layer_scores[item[1]] = item[2]
            self._fill_layers_table()

    def _on_task_done(self, bundle) -> None:
        self.bundle = bundle
        self.layer_scores = dict(bundle.layer_silhouette)
        if self.result is not bundle.result:
            self._show_points(bundle.result.coords, bundle.result.indices, result=bundle.result)
        self._fill_layers_table()
        r, req = bundle.result, bundle.request
        self.strip.show_message("info", msg.DONE_EMBED.format(samples=len(r.indices), method=METHOD_LABELS[req.method],
                                                              dims=req.dims, layer=req.layer, k=req.clusters))
        estimate = r.info.get("silhouette_estimate", {}).get("clusters")
        self.exact_silhouette.setVisible(estimate is not None and r.clusters is not None)
        if estimate is not None:
            self.strip.show_message("info", msg.SILHOUETTE_ESTIMATE.format(**estimate))
            return  # the label silhouettes and the scan over k are N^2 each: not at this size
        self.run_structure()

    def run_exact_silhouette(self) -> None:
        """The exact silhouette of the shown clusters, in the background (N^2 work)."""
        from app.workers.analysis_jobs import exact_silhouette_job

        if self.bundle is None or self.bundle.result.clusters is None:
            return
        estimate = self.bundle.result.info.get("silhouette_estimate", {}).get("clusters", {})
        self.structure_runner.start(exact_silhouette_job(self.bundle.request, self.bundle.result.clusters),
                                    "Exact silhouette of the clusters",
                                    on_done=lambda value: self._on_exact_silhouette(value, estimate))

    def _on_exact_silhouette(self, value: float, estimate: dict) -> None:
        self.bundle.result.silhouette["clusters"] = float(value)
        self.layer_scores[self.bundle.request.layer] = float(value)
        self._fill_layers_table()
        self.strip.show_message("info", msg.SILHOUETTE_EXACT.format(value=value, low=estimate.get("low", float("nan")),
                                                                     high=estimate.get("high", float("nan"))))

    def run_structure(self) -> None:
        """The label silhouettes, the scan over k and the collapse check of the shown result."""
        from app.workers.structure_jobs import structure_job

        if self.bundle is None:
            return
        req = self.bundle.request
        self.structures = {}
        self.structure.clear()
        job = structure_job({"main": req}, {"main": self.bundle.result.silhouette.get("clusters")})
        self.structure_runner.start(job, f"Silhouettes of {req.layer}: labels and k = 2…20",
                                    on_done=self._on_structure_done)

    def _on_structure_done(self, results: dict) -> None:
        from pathlib import Path

        self.structures = results
        self.structure.set_structure(results, {"main": Path(self.bundle.request.checkpoint).name},
                                     self.bundle.request.layer)

    # ------------------------------------------------------------------ drawing
    def _show_points(self, coords: np.ndarray, indices: np.ndarray, result, auto_range: bool = True) -> None:
        coords = np.asarray(coords, np.float64)
        self.indices = np.asarray(indices, np.int64)
        self.result = result
        method = METHOD_LABELS.get(self.method.currentData(), "")
        if coords.shape[1] == 3:
            target = self._ensure_3d()
            target.set_data(coords, self.indices)
            target.set_axis_labels(f"{method} 1", f"{method} 2", f"{method} 3")
            self.stack.setCurrentWidget(target)
        else:
            self.plot.set_data(coords, self.indices, auto_range=auto_range)
            self.stack.setCurrentWidget(self.plot)
            self.plot.set_axis_labels(f"{method} 1", f"{method} 2")
            self.plot.plot_item.setTitle(f"{method} of {self.layer.currentData()}", size="10pt")
        self.recolour()
        self._draw_silhouette()

    def _ensure_3d(self):
        if self.plot3d is None:
            from app.views.scatter3d import Scatter3D

            self.plot3d = Scatter3D()
            self.plot3d.hovered.connect(self._on_plot_hovered)
            self.stack.addWidget(self.plot3d)
        return self.plot3d

    def recolour(self) -> None:
        """Colour the points by the chosen mode, in place."""
        if self.shared.active:  # the shared space is coloured by modality
            return
        codes, palette, legend, problem = colour_codes(self.colour.currentData(), self.workspace, self.indices,
                                                       self.result)
        if problem:
            self.strip.show_message("warning", problem)
        elif self.strip.level == "warning":
            self.strip.clear_message()
        if self.stack.currentWidget() is self.plot3d and self.plot3d is not None:
            self.plot3d.set_colours(codes, palette, legend)
        else:
            self.plot.set_colours(codes, palette, legend)

    def _draw_silhouette(self) -> None:
        r = self.result
        if r is None or r.silhouette_samples is None:
            self.silhouette.clear_data()
            return
        from app.visuals.palettes import categorical

        groups = r.clusters if r.clusters is not None else r.labels
        names = None if r.clusters is not None else r.label_names
        score = r.silhouette.get("clusters", next(iter(r.silhouette.values()), None))
        self.silhouette.set_data(r.silhouette_samples, groups, categorical(int(groups.max()) + 1), names, score)

    def _fill_layers_table(self) -> None:
        names = [n for n in LAYER_ORDER if n in self.layer_scores]
        self.layers_table.setRowCount(len(names))
        for row, name in enumerate(names):
            score = self.layer_scores[name]
            cells = (QTableWidgetItem(name), QTableWidgetItem("—" if score is None else f"{score:.4f}"))
            for col, cell in enumerate(cells):
                font = cell.font()
                font.setBold(name == self.layer.currentData())
                cell.setFont(font)
                self.layers_table.setItem(row, col, cell)

    # ------------------------------------------------------------------ interaction
    def _on_colour_changed(self, _index: int) -> None:
        self.recolour()
        if self.method.currentData() == "lda" and self.bundle is not None:
            self._recompute.start()  # LDA's axes separate the colour-by classes

    def _on_tool_clicked(self, button_id: int) -> None:
        self.plot.set_tool(("pan", "rect", "lasso")[button_id])
        if button_id and self.plot3d is not None and self.stack.currentWidget() is self.plot3d:
            self.strip.show_message("info", msg.NO_SELECTION_3D)

    def _on_layers_table_clicked(self, row: int, _col: int) -> None:
        item = self.layers_table.item(row, 0)
        if item is not None:
            self.layer.setCurrentIndex(self.layer.findData(item.text()))

    def _select(self, indices) -> None:
        indices = np.asarray(indices, np.int64)
        self.plot.set_selected(indices)
        self.workspace.select_samples(indices)
        if len(indices):
            self.strip.show_message("info", msg.SELECTED.format(count=len(indices)))

    def _on_plot_hovered(self, index: int) -> None:
        if index < 0:
            self.card.hide()
            return
        self.card.show_sample(index, self.hover_lines(index), QCursor.pos())

    def hover_lines(self, index: int) -> list[str]:
        from app.views.embedding_colours import describe_sample

        return describe_sample(index, self.indices, self.result, self.workspace)

    def _on_workspace_dataset_changed(self, entry) -> None:
        if self.bundle is not None and (entry is None or entry.key != self.bundle.request.dataset):
            self.runner.cancel()
            self.bundle, self.result = None, None
            self.structure_runner.cancel()
            self.structures = {}
            self.structure.clear()
            self.plot.clear_data()
            self.silhouette.clear_data()
            self.strip.show_message("info", msg.NOT_ON_DATASET)

    def _on_workspace_predictions_changed(self, _pair=None, _rows=None) -> None:
        if self.colour.currentData() == "error" and not self._recolour_later.isActive():
            self._recolour_later.start()

    # ------------------------------------------------------------------ export
    def figures(self) -> list:
        return self.shared.figures() if self.shared.active else super().figures()

    def result_figures(self) -> list:
        from app.export import Figure

        req, prov = self.bundle.request, self.bundle.provenance
        main = self.plot3d if req.dims == 3 and self.plot3d is not None else self.plot
        title = f"{METHOD_LABELS[req.method]} {req.dims}D of {req.layer}, coloured by {self.colour.currentData()}"
        figs = [Figure("embedding", title, main, prov),
                Figure("silhouette", f"Silhouette of the k = {req.clusters} clusters ({req.layer})", self.silhouette,
                       prov)]
        if self.structures:
            figs += [Figure("label_silhouettes", f"Silhouette of the clusters and of the dataset's labels "
                            f"({req.layer})", self.structure.chart, prov),
                     Figure("silhouette_scan", f"Silhouette of k-means over k = 2…20 ({req.layer})",
                            self.structure.scan, prov)]
        return figs

    def report_tables(self) -> list:
        from app.export import Table

        r = self.bundle.result
        scores = Table("Silhouette per layer (k-means clusters)", ["layer", "silhouette"],
                       [[n, self.layer_scores.get(n)] for n in LAYER_ORDER if n in self.layer_scores])
        own = Table("Silhouette of this projection's features", ["grouping", "silhouette"],
                    [[k, v] for k, v in r.silhouette.items()])
        tables = [scores, own]
        if self.structures:
            s = self.structures["main"]
            tables += [Table("Silhouette of the clusters and of the dataset's labels", ["grouping", "silhouette"],
                             [["k-means clusters", s.clusters], *[[k, v] for k, v in s.labels.items()]]),
                       Table("Silhouette over k", ["k", "silhouette"],
                             [[int(k), None if not np.isfinite(v) else float(v)]
                              for k, v in zip(s.scan.ks, s.scan.scores)]),
                       Table("Collapse check", ["measure", "value"],
                             [[k, v] for k, v in s.collapse.to_dict().items()])]
        return tables
