"""Figure and report export for the analysis views (PNG / SVG / PDF figures, HTML + PDF reports)."""

from app.export.figures import Figure, export_figure
from app.export.report import ReportSection, Table, write_report

__all__ = ["Figure", "ReportSection", "Table", "export_figure", "write_report"]
