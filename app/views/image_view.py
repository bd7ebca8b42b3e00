"""The image of the current sample (or video frame) with ground truth and prediction drawn."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.model.catalog import Catalog
from app.model.sample_data import SampleData
from app.model.sample_feed import SampleFeed
from app.model.view_options import ViewOptions
from app.visuals.binding import bind
from app.visuals.heatmap_overlay import ALL_JOINTS
from app.visuals.image_canvas import BACKGROUND, ImageCanvas
from app.visuals.part_overlay import SOURCES

HEATMAP_OFF = "Heatmap: off"
HEATMAP_ALL = "Heatmap: all joints"


class ImageView(QWidget):
    """Title, the image canvas and the sample's metrics; follows the feed's sample."""

    def __init__(self, feed: SampleFeed, options: ViewOptions, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.options, self.catalog = options, catalog
        self.title = QLabel("")
        self.title.setObjectName("imageTitle")
        self.canvas = ImageCanvas(self)
        self.metrics = QLabel("")
        self.metrics.setObjectName("imageMetrics")
        self.metrics.setTextFormat(Qt.TextFormat.RichText)
        for label in (self.title, self.metrics):  # long texts wrap onto another line, never widen the window
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setWordWrap(True)
        self._build_parts_controls()
        self._build_heatmap_box()
        self._layout()
        bind(feed.sample_changed, self._on_feed_sample_changed, self)
        bind(options.events.show_gt, self._on_options_changed, self)
        bind(options.events.show_pred, self._on_options_changed, self)

    def _build_parts_controls(self) -> None:
        self.parts_box = QCheckBox("Part maps")
        self.parts_box.setToolTip("Seed 004's part maps (a template per limb warped to the 2D joints)")
        self.parts_from = QComboBox()
        self.parts_from.addItems(list(SOURCES))
        self.parts_from.setEnabled(False)
        self.parts_box.toggled.connect(self._on_parts_changed)
        self.parts_from.currentIndexChanged.connect(self._on_parts_changed)

    def _build_heatmap_box(self) -> None:
        self.heatmap_box = QComboBox(toolTip="The 2D model's heatmaps over the image: every joint (their "
                                             "maximum) or one joint")
        self.heatmap_box.addItem(HEATMAP_OFF, "off")
        self.heatmap_box.addItem(HEATMAP_ALL, ALL_JOINTS)
        self.heatmap_box.setCurrentIndex(1)
        self.heatmap_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.heatmap_box.setMinimumContentsLength(8)  # never widens the window
        self.heatmap_box.setEnabled(False)
        self.heatmap_box.setVisible(False)  # shown with a model's heatmaps
        self.heatmap_box.currentIndexChanged.connect(self._on_heatmap_box_changed)

    def _layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.heatmap_box)
        row.addWidget(self.parts_box)
        row.addWidget(self.parts_from)
        layout.addLayout(row)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.metrics)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Window, BACKGROUND)
        self.setAutoFillBackground(True)
        self.setPalette(pal)

    def _on_options_changed(self, _value) -> None:
        self.canvas.show_gt = self.options.show_gt
        self.canvas.show_pred = self.options.show_pred
        self.canvas.update()

    def _on_parts_changed(self, *_) -> None:
        on = self.parts_box.isChecked()
        self.parts_from.setEnabled(on)
        self.canvas.set_part_source(SOURCES[self.parts_from.currentText()] if on else None)

    def _on_heatmap_box_changed(self, _index: int) -> None:
        self.canvas.set_heatmap_mode(self.heatmap_box.currentData())

    def select_heatmap(self, mode: str | int) -> None:
        """Show ``mode``'s heatmap: ``"off"``, ``"all"`` or a joint index."""
        self.heatmap_box.setCurrentIndex(max(self.heatmap_box.findData(mode), 0))

    def _update_heatmap_box(self, sample: SampleData | None) -> None:
        """One entry per joint of the heatmaps shown; enabled only when there are heatmaps."""
        hm = None if sample is None else sample.heatmaps
        self.heatmap_box.setEnabled(hm is not None)
        self.heatmap_box.setVisible(hm is not None)
        if hm is None:
            return
        n = len(hm.heatmaps)
        names = sample.skeleton.joint_names if sample.skeleton.num_joints == n else [f"joint {k}" for k in range(n)]
        if self.heatmap_box.count() != n + 2 or self.heatmap_box.itemText(2) != f"Heatmap: {names[0]}":
            mode = self.heatmap_box.currentData()
            self.heatmap_box.blockSignals(True)
            while self.heatmap_box.count() > 2:
                self.heatmap_box.removeItem(2)
            for k, name in enumerate(names):
                self.heatmap_box.addItem(f"Heatmap: {name}", k)
            self.heatmap_box.setCurrentIndex(max(self.heatmap_box.findData(mode), 0))
            self.heatmap_box.blockSignals(False)

    def _on_feed_sample_changed(self, sample: SampleData | None) -> None:
        self._update_heatmap_box(sample)
        self.canvas.set_sample(sample)
        self.title.setText("" if sample is None else sample.title)
        self.metrics.setText(self._metrics_text(sample))

    def overlay_figure(self):
        """The image with its 2D skeletons as a paper figure (for Export Figure…)."""
        from app.views.overlay_figure import OverlayFigure

        return OverlayFigure(self.canvas)

    def _metrics_text(self, s: SampleData | None) -> str:
        if s is None:
            return ""
        if s.pred_3d is None and s.detected_2d is not None:
            info = "2D only (no 3D from this checkpoint)"
        elif s.pred_3d is None:
            info = "no prediction yet" if self.catalog.checkpoint is not None else "no checkpoint open"
        elif s.metrics:
            loaded = self.catalog.checkpoint  # its one error measure first and in bold, the other after
            measure = loaded.error_measure.name if loaded is not None else "MPJPE"
            order = sorted(s.metrics.items(), key=lambda kv: kv[0] != measure)
            info = " · ".join(f"<b>{k}</b> {v:.1f} mm" if k == measure else f"{k} {v:.1f} mm" for k, v in order)
        else:
            info = "prediction (no ground truth)"
        if s.metrics_2d:
            info += " · predicted 2D: " + " · ".join(
                f"<b>{k}</b> {v:.1f} px" if k == "EPE" else f"<b>{k}</b> {v:.2f}" for k, v in s.metrics_2d.items())
        if s.approximate_overlay:
            info += " · overlay: weak-perspective estimate"
        return info
