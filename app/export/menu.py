"""What the Analysis menu's actions (declared in :mod:`app.actions`) do: show an analysis view,
export a figure, export a report. They need the window's ``analysis_docks`` and
``analysis_view(name)`` (the docks are built by the main window; the views on first show).
"""

from __future__ import annotations

from pathlib import Path

from app.model import messages as msg


def show_analysis(window, name: str):
    """Show and raise the dock of analysis view ``name``; returns the view."""
    dock = window.analysis_docks[name]
    dock.show()
    dock.raise_()
    if getattr(window, "dock_layout", None) is not None:
        window.dock_layout.last_shown = dock  # what View ▸ Maximise Panel maximises
    return window.analysis_view(name)


def built_views(window) -> list:
    """The analysis views built so far, the visible ones first."""
    docks = [d for d in window.analysis_docks.values() if getattr(d, "view", None) is not None]
    return [d.view for d in sorted(docks, key=lambda d: not d.isVisible())]


def main_figures(window) -> list:
    """Figures of the main window's own views: the image with its 2D skeletons and the 3D view."""
    from app.export.figures import Figure

    ws = window.workspace
    sample = ws.feed.sample
    if sample is None:
        return []
    prov = {"dataset": str(ws.catalog.current_key or ""), "checkpoint": str(ws.catalog.active_key or ""),
            "sample": int(sample.index), "alignment": str(ws.options.align)}
    return [Figure("overlay_2d", f"Sample #{sample.index}: image with ground truth and prediction",
                   window.image_view.overlay_figure(), prov),
            Figure("skeleton_3d", f"Sample #{sample.index}: 3D ground truth and prediction", window.scene_view, prov)]


def export_figure(window) -> Path | None:
    from app.export.dialog import ExportDialog

    figures = [f for v in built_views(window) for f in v.figures()] + main_figures(window)
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
    except (ValueError, OSError) as exc:  # bad input, a full disk, a read-only folder: one message
        window.workspace.message.emit("error", msg.ANALYSIS_FAILED.format(what="Export report", why=exc))
        return None
    window.workspace.message.emit("info", msg.REPORT_WRITTEN.format(path=html_path))
    return html_path


def report(window, opener=None):
    """Analysis ▸ Report…: the dialog, then ``hpe report`` as a background job; returns its task."""
    from app.export.report_dialog import ReportDialog

    ws = window.workspace
    if ws.catalog.entry is None or not ws.catalog.checkpoints:
        ws.message.emit("info", msg.NEED_REPORT_INPUT)
        return None
    dialog = ReportDialog(ws, parent=window)
    if not dialog.exec() or dialog.spec() is None:
        return None
    return start_report(ws, dialog.spec(), opener)


def open_in_browser(path: Path) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def start_report(workspace, spec, opener=None):
    """Run the report of ``spec`` in the jobs bar (progress, Esc / ✕ cancels); when it is written,
    say where and open its report.html with ``opener`` (default: the desktop's browser)."""
    from app.export.report_dialog import report_job

    opener = opener or open_in_browser

    def done(result: dict) -> None:
        html = Path(result["out"]) / "report.html"
        workspace.message.emit("info", msg.REPORT_DONE.format(models=", ".join(result["models"]), path=html,
                                                              samples=result["samples"],
                                                              verdict=result["verdict"]).rstrip())
        opener(html)

    def failed(exc) -> None:
        workspace.message.emit("error", msg.with_traceback(exc, msg.REPORT_FAILED.format(why=msg.why(exc))))

    task = workspace.run_task(report_job(spec), f"Report → {Path(spec.out).name}", done, failed)
    task.cancelled.connect(lambda: workspace.message.emit("info", msg.REPORT_CANCELLED.format(path=spec.out)))
    return task
