"""Figure and report export for the analysis views (PNG / SVG / PDF figures, HTML + PDF reports).

``Figure``, ``export_figure`` (:mod:`.figures`), ``ReportSection``, ``Table``, ``write_report``
(:mod:`.report`) load on first use, so importing :mod:`app.export.menu` at start-up does not
load pyqtgraph.
"""

from __future__ import annotations

_LAZY = {"Figure": "app.export.figures", "export_figure": "app.export.figures",
         "ReportSection": "app.export.report", "Table": "app.export.report", "write_report": "app.export.report"}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'app.export' has no attribute {name!r}")
