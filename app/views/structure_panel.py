"""``StructurePanel``: the label silhouettes beside the clusters', the scan over k, the collapse
check and the health measures (RankMe, spread, alignment, uniformity, kNN, retrieval, 3D probe) of
an analysis view's layer, with the strip of the job that computes them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from app.views.analysis_controls import RunStrip
from hpe_core.analysis.health import describe_measures
from app.visuals.silhouette_plot import LabelSilhouetteChart, SilhouetteScanPlot


class StructurePanel(QWidget):
    """The label silhouettes beside the clusters', the scan over k and the collapse check."""

    def __init__(self, parent=None, orientation=Qt.Orientation.Vertical) -> None:
        super().__init__(parent)
        self.chart = LabelSilhouetteChart()
        self.scan = SilhouetteScanPlot()
        self.collapse = QLabel("")
        self.collapse.setObjectName("collapseLabel")
        self.collapse.setWordWrap(True)
        self.collapse.setTextFormat(Qt.TextFormat.RichText)
        split = QSplitter(orientation)  # side by side where the panel is wide and short (Compare)
        split.setChildrenCollapsible(False)
        split.addWidget(self.chart)
        split.addWidget(self.scan)
        self.strip = RunStrip()  # its own progress: the scan runs in the background after each result
        self.strip.run.setText("Scan k")
        self.strip.run.setToolTip("Silhouette of the dataset's labels and of k-means for k = 2…20")
        self.strip.export.hide()  # the view's Export… button exports these figures too
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.strip)
        layout.addWidget(split, 1)
        notes = QScrollArea()  # a long list of collapsed layers scrolls; it never makes the view taller
        notes.setWidget(self.collapse)
        notes.setWidgetResizable(True)
        notes.setFrameShape(QFrame.Shape.NoFrame)
        notes.setMaximumHeight(self.collapse.fontMetrics().height() * 5)
        layout.addWidget(notes)

    def set_structure(self, results: dict, names: dict[str, str] | None = None, layer: str = "") -> None:
        """``results``: {key: StructureResult} (see :mod:`app.workers.structure_jobs`)."""
        names = names or {}
        self.chart.set_data({k: {"clusters": r.clusters, **r.labels} for k, r in results.items()},
                            names if len(results) > 1 else None, "clusters and labels")
        self.scan.set_scans({k: r.scan for k, r in results.items()}, names if len(results) > 1 else None,
                            f"silhouette over k ({layer})")
        lines = []
        for k, r in results.items():
            who = names.get(k, k.upper())
            text = f"{who} · {layer}: {r.collapse.describe()}"
            lines.append(f'<span style="color: #ff8a8a"><b>{text}</b></span>' if r.collapse.collapsed else text)
            if getattr(r, "health", None):
                lines.append(f"{who} · {layer} health: {describe_measures(r.health)}")
        self.collapse.setText("<br>".join(lines))

    def clear(self) -> None:
        self.chart.set_data({})
        self.scan.set_scans({})
        self.collapse.setText("")
