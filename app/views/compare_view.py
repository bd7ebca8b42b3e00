"""Side-by-side comparison of two checkpoints (e.g. SimCLR and SimSiam) on the same samples.

One worker runs :func:`app.workers.analysis_jobs.compare_job`: ``hpe_core``'s
``compare_checkpoints`` (the numbers ``hpe compare`` prints: CKA, silhouette per layer,
cross-view retrieval, pose metrics), then both models' embeddings with the same method and
samples, and both conv1 reports. The two scatter columns share hover and selection; the
selected sample's predictions by both models are drawn in one 3D view, aligned to the ground
truth by the 3D view's Align control. Docked (below ``FULL_SIZE``) the view shows a summary
(``compare_summary``), whose button asks the window for the room of the full view.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.model import messages as msg
from app.views.analysis_controls import METHOD_LABELS, CheckpointCombo, RunStrip, layer_combo, method_combo
from app.views.analysis_view import AnalysisView
from app.views.compare_panels import CkaHeatmap, Conv1Pair, MetricsTable, PosePairView, collapse_warnings
from app.views.compare_summary import CompareSummary
from app.views.embedding_colours import colour_codes, describe_sample
from app.views.structure_panel import StructurePanel
from app.visuals.binding import bind
from app.visuals.scatter_plot import ScatterPlot
from app.workers.analysis_jobs import CompareRequest, compare_job, predict_samples_job
from hpe_core.models.families.capabilities import IMAGE_TO_2D

if TYPE_CHECKING:
    from app.workspace import Workspace


FULL_SIZE = (1000, 500)  # the full view from this size of the view up (maximised at 1280×720); below, the summary


def predicts_3d(loaded) -> bool:
    """A 3D pose to draw: a regressor, a lifter, a multitask model or a predictions file (not a
    heatmap network, whose only output is 2D)."""
    return bool(set(loaded.capabilities) - {IMAGE_TO_2D})


class CompareView(AnalysisView):
    REPORT_TITLE = "Side-by-side comparison"
    full_view_requested = Signal()  # the summary's button: the window gives the view its room

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.embeds: dict[str, object] = {}
        self.pose_precisions: dict[str, str] = {}  # key -> precision of the last predictions drawn
        self.pose_index = -1
        self.pose_preds: dict[str, np.ndarray] = {}  # key -> (J, 3) root-relative mm, as predicted (unaligned)
        self._build_controls()
        self.strip.run.setText("Compare")
        self.pose_runner = self.add_runner(RunStrip())
        self.plots = {"a": ScatterPlot(title="A"), "b": ScatterPlot(title="B")}
        self.metrics = MetricsTable()
        self.cka = CkaHeatmap()
        self.poses = PosePairView()
        self.conv1 = Conv1Pair()
        self.structure = StructurePanel(orientation=Qt.Orientation.Horizontal)  # labels, scan over k, collapse
        self.structure_runner = self.add_runner(self.structure.strip)
        self.structures: dict = {}
        self.add_hover_card()
        self._layout()
        self._wire()

    def _build_controls(self) -> None:
        self.checkpoint_a = CheckpointCombo(self.workspace)
        self.checkpoint_b = CheckpointCombo(self.workspace, prefer_active=False)
        self.layer = layer_combo("Layer embedded in both columns")
        self.method = method_combo("Projection used in both columns")
        self.clusters = QSpinBox(minimum=2, maximum=64, value=8, prefix="k = ")
        self.samples = QSpinBox(minimum=0, maximum=1_000_000, value=1000, singleStep=500, specialValueText="all")
        self.split = QComboBox()
        for s in ("test", "val", "train", "all"):
            self.split.addItem(s, s)

    def _layout(self) -> None:
        """Two bodies: the summary (docked) and the full view (given the room), one shown at a time."""
        self.summary = CompareSummary()
        columns = QSplitter(Qt.Orientation.Horizontal)
        columns.setChildrenCollapsible(False)
        for w in (self.plots["a"], self.plots["b"]):
            columns.addWidget(w)
        self.measures_split = QSplitter(Qt.Orientation.Horizontal)  # the table at its columns' width, the poses beside
        self.measures_split.setChildrenCollapsible(False)
        self.measures_split.addWidget(self.metrics)
        self.measures_split.addWidget(self.poses)
        self.measures_split.setStretchFactor(1, 1)
        self.tabs = QTabWidget()  # one part at a time, at the full size of the view
        for w, title in ((self.measures_split, "Measures and poses"), (columns, "Embeddings"),
                         (self.structure, "Silhouettes"), (self.cka, "CKA"), (self.conv1, "conv1")):
            self.tabs.addTab(w, title)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs)
        self.tabs.hide()
        self.set_skeleton([QLabel("A"), self.checkpoint_a, QLabel("B"), self.checkpoint_b, self.layer, self.method,
                           self.clusters, QLabel("samples"), self.samples, self.split], body)

    @property
    def full(self) -> bool:
        """The full view is shown (else the summary)."""
        return not self.tabs.isHidden()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        full = self.width() >= FULL_SIZE[0] and self.height() >= FULL_SIZE[1]
        if full != self.full:
            self.summary.setVisible(not full)
            self.tabs.setVisible(full)
            if full:
                QTimer.singleShot(0, self._fit_table)  # once the tabs are laid out at their new size

    def _fit_table(self) -> None:
        """The table as wide as its columns (none cut), the poses the rest (in the full view)."""
        if not self.full:
            return
        total = self.measures_split.width()
        need = min(self.metrics.needed_width(), total * 2 // 3)
        self.measures_split.setSizes([need, max(total - need, 1)])

    def _wire(self) -> None:
        ws = self.workspace
        self.strip.run_clicked.connect(self.run)
        self.structure.strip.run_clicked.connect(self.run_structure)
        for key, plot in self.plots.items():
            plot.hovered.connect(lambda index, key=key: self._on_plot_hovered(key, index))
            plot.selection_made.connect(self._on_plot_selection_made)
        bind(ws.feed.selection_changed, self._on_workspace_selection_changed, self)
        self._on_workspace_compare_pair_changed(ws.compare_pair)  # the last session's pair
        ws.compare_pair_changed.connect(self._on_workspace_compare_pair_changed)
        for combo in (self.checkpoint_a, self.checkpoint_b):
            combo.currentIndexChanged.connect(self._on_pair_changed)
        self.poses.align.activated.connect(lambda _i: self._place_poses())
        self.summary.open_full.connect(self.full_view_requested)
        self._on_pair_changed()

    def _on_workspace_compare_pair_changed(self, pair) -> None:
        for combo, key in zip((self.checkpoint_a, self.checkpoint_b), pair):
            if key:
                combo.select_key(key)

    def _on_pair_changed(self, *_args) -> None:
        self.workspace.compare_pair = (self.checkpoint_a.currentData(), self.checkpoint_b.currentData())
        pair = [c.loaded() for c in (self.checkpoint_a, self.checkpoint_b)]
        if self.poses.align.currentData() == "none" and any(ld is not None and ld.rotation_free for ld in pair):
            self.poses.align.setCurrentIndex(self.poses.align.findData("rigid"))  # as the 3D view: align it
        self._on_workspace_selection_changed(self.workspace.feed.selection)  # the new pair's poses

    # ------------------------------------------------------------------ running
    def request(self) -> CompareRequest | None:
        a, b = self.checkpoint_a.loaded(), self.checkpoint_b.loaded()
        entry = self.workspace.catalog.datasets.get(self.workspace.catalog.current_key)
        if entry is None:
            self.strip.show_message("info", msg.NEED_DATASET)
            return None
        if a is None or b is None:
            self.strip.show_message("info", msg.NEED_TWO)
            return None
        for combo in (self.checkpoint_a, self.checkpoint_b):  # the poses of a predictions file are still drawn
            problem = combo.model_or_message("comparing metrics, features and filters")[1]
            if problem:
                self.strip.show_message("info", problem)
                return None
        return CompareRequest(str(a.path), str(b.path), str(entry.key), self.layer.currentData(),
                              self.method.currentData(), int(self.clusters.value()), self.split.currentData(),
                              int(self.samples.value()) or None, device=self.workspace.device.spec,
                              precision=self.workspace.device.precision, skip_list=entry.skip_list)

    def run(self) -> None:
        req = self.request()
        if req is None:
            return
        self.embeds = {}
        self.summary.clear(msg.COMPARING)
        self.structure_runner.cancel()
        self.structures = {}
        self.structure.clear()
        self.runner.start(compare_job(req), f"Compare {Path(req.checkpoint_a).name} and {Path(req.checkpoint_b).name}",
                          self._on_task_partial, self._on_task_done)

    def names(self) -> dict[str, str]:
        req = self.bundle.request if self.bundle is not None else self.request()
        if req is None:
            return {"a": "A", "b": "B", "gt": "ground truth"}
        return {"a": Path(req.checkpoint_a).name, "b": Path(req.checkpoint_b).name, "gt": "ground truth"}

    def _on_task_partial(self, item) -> None:
        if item[0] == "compare":
            names = self.names()
            self.metrics.set_result(item[1], names["a"], names["b"], self.layer.currentData())
            self.summary.set_result(item[1], names)
            self._fit_table()
            self.cka.set_data(item[1].layers_a, item[1].layers_b, item[1].cka, f"A: {names['a']}", f"B: {names['b']}")
        elif item[0] == "embed":
            self._show_column(item[1], item[2])

    def _on_task_done(self, bundle) -> None:
        self.bundle = bundle
        names = self.names()
        self.metrics.set_result(bundle.compare, names["a"], names["b"], bundle.request.layer)
        self.summary.set_result(bundle.compare, names)
        self._fit_table()
        self.cka.set_data(bundle.compare.layers_a, bundle.compare.layers_b, bundle.compare.cka,
                          f"A: {names['a']}", f"B: {names['b']}")
        for key, result in bundle.embeds.items():
            if self.embeds.get(key) is not result:
                self._show_column(key, result)
        self.conv1.set_kernels(bundle.kernels, names)
        self.strip.show_message("info", f"{bundle.compare.samples:,} samples ({bundle.request.split})")
        self._on_workspace_selection_changed(self.workspace.feed.selection)
        self.run_structure()

    def run_structure(self) -> None:
        """Label silhouettes, the scan over k and the collapse check of both models' layer."""
        from app.workers.structure_jobs import structure_job

        if self.bundle is None:
            return
        req, c = self.bundle.request, self.bundle.compare
        requests = {"a": req.embed_request(req.checkpoint_a), "b": req.embed_request(req.checkpoint_b)}
        clusters = {k: c.silhouette.get(k, {}).get(req.layer) for k in requests}
        self.structures = {}
        self.structure_runner.start(structure_job(requests, clusters), f"Silhouettes of {req.layer}: labels, k = 2…20",
                                    on_done=self._on_structure_done)

    def _on_structure_done(self, results: dict) -> None:
        self.structures = results
        names = self.names()
        self.structure.set_structure(results, {k: k.upper() for k in results},  # short: the plots stay narrow
                                     self.bundle.request.layer)
        warnings = collapse_warnings(self.bundle.compare, names)
        if warnings:  # every layer's check, beside the shown layer's
            self.structure.collapse.setText(self.structure.collapse.text() + "<br>"
                                            + "<br>".join(f'<span style="color: #ff8a8a">{w}</span>' for w in warnings))

    def _show_column(self, key: str, result) -> None:
        self.embeds[key] = result
        plot = self.plots[key]
        plot.set_data(result.coords, result.indices)
        codes, palette, legend, _ = colour_codes("cluster", self.workspace, np.asarray(result.indices), result)
        plot.set_colours(codes, palette, legend)
        method = METHOD_LABELS[self.method.currentData()]
        score = result.silhouette.get("clusters")
        plot.plot_item.setTitle(f"{key.upper()}: {self.names()[key]} · {method} of {self.layer.currentData()}"
                                + (f" · silhouette {score:.3f}" if score is not None else ""), size="9pt")
        plot.set_axis_labels(f"{method} 1", f"{method} 2")

    # ------------------------------------------------------------------ linked interaction
    def _on_plot_hovered(self, key: str, index: int) -> None:
        other = "b" if key == "a" else "a"
        self.plots[other].show_hover(index)
        if index < 0:
            self.card.hide()
            return
        result = self.embeds.get(key)
        lines = describe_sample(index, np.asarray(result.indices), result, self.workspace) if result else []
        self.card.show_sample(index, [f"{key.upper()}: {line}" for line in lines], QCursor.pos())

    def _on_plot_selection_made(self, indices) -> None:
        for plot in self.plots.values():
            plot.set_selected(indices)
        self.workspace.select_samples(indices)

    def _on_workspace_selection_changed(self, index: int) -> None:
        """Both checkpoints predict the selected sample, with the catalog's predictors: on the
        device and at the precision chosen now."""
        ds = self.workspace.catalog.dataset
        if ds is None or index < 0:
            return
        predictors, only_2d = {}, []
        for key, combo in (("a", self.checkpoint_a), ("b", self.checkpoint_b)):
            loaded = combo.loaded()
            if loaded is None or not loaded.has_pose_head:
                continue
            if not predicts_3d(loaded):  # a heatmap network: its 2D has no place in the 3D view
                only_2d.append(f"{key.upper()}: {loaded.path.name}")
                continue
            predictors[key] = loaded.predictor
        if only_2d:
            self.strip.show_message("info", msg.ONLY_2D.format(names=", ".join(only_2d)))
        if not predictors:
            self._draw_poses(index, {})
            if not only_2d:  # none chosen yet (still loading, at a start) is not "without pose heads"
                chosen = all(c.loaded() is not None for c in (self.checkpoint_a, self.checkpoint_b))
                self.strip.show_message("info", msg.NO_POSE_HEADS if chosen else msg.NEED_TWO)
            return
        precisions = {key: p.precision for key, p in predictors.items()}
        job = predict_samples_job(predictors, ds, index)
        self.pose_runner.start(job, "Compare poses", on_done=lambda preds, i=index: self._draw_poses(i, preds, precisions),
                               on_failed=lambda exc: self.strip.show_message("error", str(exc)), hidden=True)

    def _draw_poses(self, index: int, preds: dict, precisions: dict | None = None) -> None:
        ds = self.workspace.catalog.dataset
        if ds is None or not 0 <= index < len(ds):
            return
        self.pose_precisions = dict(precisions or {})
        self.pose_preds = {k: preds[k] for k in ("a", "b") if preds.get(k) is not None}
        self.pose_index = index
        if self.pose_preds and self.strip.message.text() in (msg.NO_POSE_HEADS, msg.NEED_TWO):
            self.strip.clear_message()  # said of an earlier pair
        self._place_poses()

    def _place_poses(self) -> None:
        """The last predictions on the ground truth's root, aligned to it as the Align control says
        (:func:`app.model.sample_data.place_prediction`, as the 3D view places its prediction)."""
        from app.model.sample_data import place_prediction

        ds, index = self.workspace.catalog.dataset, self.pose_index
        if ds is None or not 0 <= index < len(ds):
            return
        root, align = ds.skeleton.root, self.poses.align.currentData()
        gt = None
        if ds.joints_3d is not None:
            gt = np.asarray(ds.joints_3d[index], np.float64)
            gt = gt - gt[root]
        poses = {"gt": gt, **{k: place_prediction(np.asarray(p, np.float64), gt, root, align)
                              for k, p in self.pose_preds.items()}}
        self.poses.set_poses(ds.skeleton, poses, self.names())

    # ------------------------------------------------------------------ export
    def result_figures(self) -> list:
        from app.export import Figure

        prov = self.bundle.provenance
        names = self.names()
        method = METHOD_LABELS[self.bundle.request.method]
        figs = [Figure(f"compare_{key}", f"{key.upper()}: {names[key]}, {method} of {self.bundle.request.layer}",
                       self.plots[key], prov) for key in ("a", "b")]
        figs += [Figure("cka", "Linear CKA, layers of A × layers of B", self.cka, prov),
                 Figure("conv1_pair", "conv1 filters of A and B", self.conv1, prov)]
        if self.structures:
            layer = self.bundle.request.layer
            figs += [Figure("compare_label_silhouettes",
                            f"Silhouette of the clusters and of the labels, A and B ({layer})", self.structure.chart, prov),
                     Figure("compare_silhouette_scan", f"Silhouette over k = 2…20, A and B ({layer})",
                            self.structure.scan, prov)]
        index = self.pose_index
        if index >= 0:
            align = self.poses.align.currentData()
            figs.append(Figure("predictions_3d", f"Sample #{index}: ground truth and both predictions "
                               f"({self.poses.align.currentText().lower()})", self.poses,
                               {**prov, "sample": index, "alignment": align}))
        return figs

    def report_tables(self) -> list:
        from app.export import Table
        from app.export.report import measure_emphasis

        names = self.names()
        c = self.bundle.compare
        metrics = Table("Metrics of A and B on the same samples (bold: the better by their error measure)",
                        ["metric", f"A: {names['a']}", f"B: {names['b']}", "A − B"], self.metrics.rows,
                        *measure_emphasis(self.metrics.rows, c.error_measure))
        cka = Table("Linear CKA (rows: A, columns: B)", ["A \\ B", *c.layers_b],
                    [[name, *[float(v) for v in row]] for name, row in zip(c.layers_a, c.cka)])
        return [metrics, cka]
