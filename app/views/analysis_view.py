"""``AnalysisView``: what the analysis views (Compare, the embedding explorer, the kernel inspector)
share. A row of controls, the run strip and one body below it; the runners of the view's jobs,
every one cancelled on shutdown; the hover card of a sample, following the current dataset; the
strip's Export… button over the view's figures, and the report section made of its figures and
tables. A view adds only what is its own: its controls, its body, its figures and its tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.views.analysis_controls import AnalysisRunner, RunStrip, controls_row
from app.views.hover_card import HoverCard
from app.visuals.binding import bind

if TYPE_CHECKING:
    from app.workspace import Workspace


class AnalysisView(QWidget):
    """Subclasses set ``REPORT_TITLE`` and implement :meth:`result_figures` and :meth:`report_tables`."""

    REPORT_TITLE = ""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.bundle = None  # the shown result (its provenance goes with every figure and table)
        self.card: HoverCard | None = None
        self.strip = RunStrip()
        self.runner = AnalysisRunner(workspace, self.strip, self)
        self._runners = [self.runner]
        self.strip.export_clicked.connect(self._on_export_clicked)

    # ------------------------------------------------------------------ construction
    def add_runner(self, strip: RunStrip | None = None) -> AnalysisRunner:
        """The runner of another job of this view, showing on ``strip`` (default: the view's)."""
        runner = AnalysisRunner(self.workspace, strip or self.strip, self)
        self._runners.append(runner)
        return runner

    def add_hover_card(self) -> HoverCard:
        """The floating card of a hovered sample; it shows the current dataset's samples."""
        self.card = HoverCard(self)
        self.card.set_dataset(self.workspace.catalog.dataset)
        bind(self.workspace.catalog.current_dataset_changed, self._on_catalog_dataset_changed, self)
        return self.card

    def set_skeleton(self, controls: list[QWidget], body: QWidget) -> None:
        """The controls in one row, the run strip, then ``body`` taking the rest."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(controls_row(controls))
        layout.addWidget(self.strip)
        layout.addWidget(body, 1)

    def _on_catalog_dataset_changed(self, entry) -> None:
        self.card.set_dataset(None if entry is None else entry.dataset)

    # ------------------------------------------------------------------ export
    def figures(self) -> list:
        """The exportable figures of the shown result (none before there is one)."""
        return [] if self.bundle is None else self.result_figures()

    def result_figures(self) -> list:
        raise NotImplementedError

    def report_tables(self) -> list:
        raise NotImplementedError

    def report_section(self):
        """This view's section of "Export report" (None before a result is shown)."""
        from app.export import ReportSection

        if self.bundle is None:
            return None
        return ReportSection(self.REPORT_TITLE, self.figures(), self.report_tables(), self.bundle.provenance)

    def _on_export_clicked(self) -> None:
        from app.export.dialog import export_view_figures

        export_view_figures(self, self.figures(), self.strip)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self) -> None:
        """Cancel every job of the view and stop the hover card's thumbnail loader."""
        for runner in self._runners:
            runner.cancel()
        if self.card is not None:
            self.card.close_loader()
            self.card.hide()
