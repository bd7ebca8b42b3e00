"""The kernel inspector: a checkpoint's conv1 filters, what one filter does to the current
image, and the feature maps of a deeper layer.

Everything shown comes from ``hpe_core.analysis`` (``conv1_kernels``, ``kernel_grid``,
``frequency_response``, ``filter_responses``, ``feature_maps``) through workers, the same
functions and numbers as ``hpe kernels``. Click a filter to see its response and spectrum next
to the image (seed 000's high-pass / low-pass / negative comparisons).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSplitter, QWidget

from app.model import messages as msg
from app.views.analysis_controls import CheckpointCombo
from app.views.analysis_view import AnalysisView
from app.views.kernel_panels import FilterDetailPanel, KernelGridPanel
from app.visuals.binding import bind
from app.workers.analysis_jobs import image_maps_job, kernels_job

if TYPE_CHECKING:
    from app.workspace import Workspace

MODES = {"rgb": "RGB filters", "signed": "Per channel (signed)"}
MAP_LAYERS = ("conv1", "layer1", "layer2", "layer3", "layer4")
INPUT_WORDS = {"pose2d": "2D joints", "pose3d": "3D joints"}


def no_conv1(loaded) -> str:
    """Why ``loaded``'s model has no conv1 filters to show ("" when it has them): its family reads
    no images (what it reads, in words), or hpe_core finds no conv1 layer in it."""
    from hpe_core.analysis.kernels import conv1_weight
    from hpe_core.errors import InputError
    from hpe_core.models.families import family_of

    family = family_of(loaded.model)
    if "image" not in family.inputs:
        reads = " and ".join(INPUT_WORDS.get(i, i) for i in sorted(family.inputs))
        return f"a {loaded.model.family} model reads {reads}, not images"
    try:
        conv1_weight(loaded.model)
    except InputError as exc:
        return str(exc)
    return ""


class KernelView(AnalysisView):
    REPORT_TITLE = "Kernel inspector"

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.maps = None       # ImageMaps of the current image
        self.image: np.ndarray | None = None
        self.filter_index = -1
        self.checkpoint = CheckpointCombo(workspace)
        self.mode = QComboBox(toolTip="Show filters as RGB images or each channel's signed weights")
        for key, label in MODES.items():
            self.mode.addItem(label, key)
        self.layer = QComboBox(toolTip="Layer whose feature maps of the current image are shown")
        for name in MAP_LAYERS:
            self.layer.addItem(f"{name} maps", name)
        self.layer.setCurrentIndex(1)
        self.strip.run.setText("Refresh")
        self.maps_runner = self.add_runner()
        self.grid = KernelGridPanel()
        self.detail = FilterDetailPanel()
        self._build_maps_panel()
        self._layout()
        self.checkpoint.currentIndexChanged.connect(lambda _i: self.refresh())
        self.mode.currentIndexChanged.connect(lambda _i: self._draw_grid())
        self.layer.currentIndexChanged.connect(lambda _i: self.refresh_maps())
        self.strip.run_clicked.connect(self.refresh)
        self.grid.filter_clicked.connect(self.show_filter)
        bind(workspace.feed.sample_changed, self._on_workspace_sample_changed, self)
        self._on_workspace_sample_changed(workspace.feed.sample)  # built after a sample was shown
        loaded = self.checkpoint.model_or_message("the filter inspector")[0]
        if loaded is not None and no_conv1(loaded):  # opened on a model without filters: say so at once
            self._show_no_conv1(loaded)

    def _build_maps_panel(self) -> None:
        self.maps_panel = pg.GraphicsLayoutWidget()
        self.maps_panel.setBackground(None)
        self.maps_title = self.maps_panel.addLabel("", row=0, col=0, size="9pt")
        self.maps_box = self.maps_panel.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
        self.maps_image = pg.ImageItem(axisOrder="row-major")
        self.maps_box.addItem(self.maps_image)

    def _layout(self) -> None:
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.detail)
        right.addWidget(self.maps_panel)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.grid)
        split.addWidget(right)
        split.setSizes([520, 520])
        self.set_skeleton([QLabel("checkpoint"), self.checkpoint, self.mode, self.layer], split)

    # ------------------------------------------------------------------ computing
    def refresh(self) -> None:
        """Analyse the chosen checkpoint's conv1, then the current image's maps."""
        loaded, problem = self.checkpoint.model_or_message("the filter inspector")
        if loaded is None:
            self.strip.show_message("info", problem)
            return
        if no_conv1(loaded):
            self._show_no_conv1(loaded)
            return
        sha = getattr(loaded.info, "sha256", "")
        self.runner.start(kernels_job(loaded.model, loaded.path, sha), f"conv1 of {loaded.path.name}",
                          on_done=self._on_kernels_done)

    def _show_no_conv1(self, loaded) -> None:
        """Nothing to analyse: say why, in the strip and in the grid, and show no stale filters."""
        text = msg.NO_CONV1.format(name=loaded.path.name, why=no_conv1(loaded))
        for runner in self._runners:
            runner.cancel()
        self.bundle, self.maps = None, None
        self.grid.show_none(text)
        self.detail.clear_filter()
        self.maps_image.clear()
        self.maps_title.setText("")
        self.strip.show_message("info", text)

    def refresh_maps(self) -> None:
        loaded = self.checkpoint.model_or_message("the filter inspector")[0]
        if loaded is None or self.image is None or self.bundle is None:
            if loaded is not None:
                self.strip.show_message("info", msg.NEED_IMAGE)
            return
        layer = self.layer.currentData()
        self.maps_runner.start(image_maps_job(loaded.model, self.image, layer, info=loaded.info),
                               f"{layer} maps", on_done=self._on_maps_done)

    def _on_kernels_done(self, bundle) -> None:
        self.bundle = bundle
        self._draw_grid()
        if self.filter_index < 0 or self.filter_index >= len(bundle.report.classes):
            self.filter_index = 0
        self.grid.select(self.filter_index)
        self.show_filter(self.filter_index)
        self.refresh_maps()

    def _on_maps_done(self, maps) -> None:
        self.maps = maps
        self.maps_image.setImage(maps.grid, autoLevels=False, levels=(0, 255))
        self.maps_box.autoRange(padding=0.01)
        c, h, w = maps.maps.shape
        shown = min(c, 64)
        self.maps_title.setText(f"{maps.layer}: {c} feature maps of {h} × {w}"
                                + (f" (first {shown})" if shown < c else "") + f" · input {maps.image_size} px")
        self.show_filter(self.filter_index)

    # ------------------------------------------------------------------ drawing
    def _draw_grid(self) -> None:
        if self.bundle is None:
            return
        loaded = self.checkpoint.loaded()
        self.grid.set_bundle(self.bundle, self.mode.currentData(), loaded.path.name if loaded else "")

    def show_filter(self, index: int) -> None:
        """Show filter ``index``: its response to the current image and its spectrum."""
        if self.bundle is None or not 0 <= index < len(self.bundle.report.classes):
            self.detail.clear_filter()
            return
        self.filter_index = int(index)
        self.grid.select(index)
        entry = self.bundle.report.entries()[index]
        response = self.maps.responses[index] if self.maps is not None else None
        self.detail.set_image(self.image)
        self.detail.set_filter(index, entry, response, self.bundle.frequency[index])

    def _on_workspace_sample_changed(self, sample) -> None:
        image = None if sample is None else sample.image
        if image is self.image:
            return
        self.image = image
        self.detail.set_image(image)
        if self.bundle is not None:
            self.refresh_maps()

    # ------------------------------------------------------------------ export
    def result_figures(self) -> list:
        from app.export import Figure

        prov = dict(self.bundle.provenance)
        prov["mode"] = self.mode.currentData()
        figs = [Figure("conv1_filters", f"conv1 filters ({MODES[self.mode.currentData()]})", self.grid, prov)]
        if self.filter_index >= 0:
            figs.append(Figure(f"filter{self.filter_index}", f"conv1 filter {self.filter_index}: image, response, "
                               "frequency response", self.detail, {**prov, "filter": self.filter_index,
                                                                   "sample": self._sample_index()}))
        if self.maps is not None:
            figs.append(Figure(f"{self.maps.layer}_maps", f"{self.maps.layer} feature maps of sample "
                               f"#{self._sample_index()}", self.maps_panel,
                               {**prov, "layer": self.maps.layer, "sample": self._sample_index(),
                                "image_size": self.maps.image_size}))
        return figs

    def _sample_index(self) -> int:
        sample = self.workspace.feed.sample
        return -1 if sample is None else int(sample.index)

    def report_tables(self) -> list:
        from app.export import Table

        report = self.bundle.report
        channels = list(report.entries()[0]["sums"]) if len(report.classes) else []
        rows = [[e["index"], e["class"], *[e["sums"][k] for k in channels], e["dc_ratio"]] for e in report.entries()]
        filters = Table("conv1 filters: class, sums and |sum| / max|FFT|", ["filter", "class", *channels, "dc ratio"],
                        rows)
        counts = Table("conv1 filter classes", ["class", "filters"], [[k, v] for k, v in report.counts().items()])
        return [counts, filters]
