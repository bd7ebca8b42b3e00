"""The main window's Analysis menu: show the analysis views, export a figure, export a report.

``add_analysis_actions(window)`` needs the window's ``analysis_docks`` and ``analysis_view(name)``
(the docks are built by the main window; the views on first show).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence

from app.model import messages as msg

# (name, text, shortcut, tip): the README's shortcut table takes these too.
ANALYSIS_SHORTCUTS = [
    ("show_embedding", "&Embedding Explorer", "Ctrl+1", "Embed, cluster and project a layer (PCA, LDA, UMAP, t-SNE)"),
    ("show_kernel", "&Kernel Inspector", "Ctrl+2", "conv1 filters, one filter's effect, feature maps"),
    ("show_compare", "&Compare Checkpoints", "Ctrl+3", "Two checkpoints side by side: metrics, CKA, predictions"),
    ("export_figure", "Export &Figure…", "Ctrl+Shift+E", "Export a figure of the analysis views (PNG, SVG, PDF)"),
    ("export_report", "Export &Report…", "Ctrl+Shift+R", "One HTML file and a PDF with every figure, table and "
                                                         "provenance"),
]
VIEWS = {"show_embedding": "embedding", "show_kernel": "kernel", "show_compare": "compare"}


def add_analysis_actions(window) -> dict[str, QAction]:
    """An "Analysis" menu on ``window``'s menu bar; returns the actions by name."""
    menu = window.menuBar().addMenu("&Analysis")
    acts: dict[str, QAction] = {}
    for name, text, key, tip in ANALYSIS_SHORTCUTS:
        act = QAction(text, window, shortcut=QKeySequence(key), statusTip=tip, toolTip=f"{tip} ({key})")
        window.addAction(act)
        menu.addAction(act)
        acts[name] = act
        if name == "show_compare":
            menu.addSeparator()
    for name, view in VIEWS.items():
        acts[name].triggered.connect(lambda _c=False, v=view: show_analysis(window, v))
    acts["export_figure"].triggered.connect(lambda: export_figure(window))
    acts["export_report"].triggered.connect(lambda: export_report(window))
    return acts


def show_analysis(window, name: str):
    """Show and raise the dock of analysis view ``name``; returns the view."""
    dock = window.analysis_docks[name]
    dock.show()
    dock.raise_()
    return window.analysis_view(name)


def built_views(window) -> list:
    """The analysis views built so far, the visible ones first."""
    docks = [d for d in window.analysis_docks.values() if getattr(d, "view", None) is not None]
    return [d.view for d in sorted(docks, key=lambda d: not d.isVisible())]


def export_figure(window) -> Path | None:
    from app.export.dialog import ExportDialog

    figures = [f for v in built_views(window) for f in v.figures()]
    if not figures:
        window.workspace.message.emit("info", msg.NO_FIGURES)
        return None
    dialog = ExportDialog(figures, parent=window)
    if dialog.exec() and dialog.exported is not None:
        window.workspace.message.emit("info", msg.FIGURES_EXPORTED.format(path=dialog.exported))
        return dialog.exported
    return None


def export_report(window, path: str | Path | None = None) -> Path | None:
    """Write the report of every analysis view with results to ``path`` (asked when None)."""
    from app.export.dialog import ask_report_path
    from app.export.report import write_report

    sections = [s for s in (v.report_section() for v in built_views(window)) if s is not None]
    if not sections:
        window.workspace.message.emit("info", msg.NO_FIGURES)
        return None
    path = Path(path) if path is not None else ask_report_path(window)
    if path is None:
        return None
    try:
        html_path, _pdf = write_report(path, sections)
    except ValueError as exc:
        window.workspace.message.emit("error", msg.ANALYSIS_FAILED.format(what="Export report", why=exc))
        return None
    window.workspace.message.emit("info", msg.REPORT_WRITTEN.format(path=html_path))
    return html_path
