"""The export dialog: pick a figure, a format and a size; and the "Export report" file prompt."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QWidget)

from app.export.figures import MAX_PIXELS, Figure, export_figure
from app.model import messages as msg

FORMAT_LABELS = {".png": "PNG image", ".svg": "SVG (vector)", ".pdf": "PDF (vector)"}


class ExportDialog(QDialog):
    """Export one of ``figures``; ``exported`` holds the written path after ``accept``."""

    def __init__(self, figures: list[Figure], folder: str | Path = ".", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export figure")
        self.figures = figures
        self.folder = Path(folder)
        self.exported: Path | None = None
        self.figure = QComboBox()
        for fig in figures:
            self.figure.addItem(fig.title, fig.name)
        self.format = QComboBox()
        self.width = QSpinBox(minimum=16, maximum=MAX_PIXELS, singleStep=100, suffix=" px")
        self.height = QSpinBox(minimum=16, maximum=MAX_PIXELS, singleStep=100, suffix=" px")
        self.paper = QCheckBox("White background (for papers)", checked=True)
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #ff8080")
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        for label, widget in (("Figure", self.figure), ("Format", self.format), ("Width", self.width),
                              ("Height", self.height), ("", self.paper)):
            form.addRow(label, widget)
        form.addRow("File", row)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        form.addRow(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        browse.clicked.connect(self._on_browse_clicked)
        self.figure.currentIndexChanged.connect(self._on_figure_changed)
        self.format.currentIndexChanged.connect(self._on_format_changed)
        self._on_figure_changed()

    def current(self) -> Figure:
        return self.figures[max(self.figure.currentIndex(), 0)]

    def _on_figure_changed(self, _index: int = 0) -> None:
        fig = self.current()
        self.format.blockSignals(True)
        self.format.clear()
        for suffix in fig.formats():
            self.format.addItem(FORMAT_LABELS[suffix], suffix)
        self.format.blockSignals(False)
        w, h = fig.screen_size()
        self.width.setValue(min(2 * w, MAX_PIXELS))
        self.height.setValue(min(2 * h, MAX_PIXELS))
        self._on_format_changed()

    def _on_format_changed(self, _index: int = 0) -> None:
        suffix = self.format.currentData() or ".png"
        fig = self.current()
        unit = " px" if suffix == ".png" else " px (0.75 pt each)"
        self.width.setSuffix(unit)
        self.height.setSuffix(unit)
        self.path.setText(str(self.folder / f"{fig.name}{suffix}"))

    def _on_browse_clicked(self) -> None:
        suffix = self.format.currentData() or ".png"
        name, _ = QFileDialog.getSaveFileName(self, "Export figure", self.path.text(),
                                              f"{FORMAT_LABELS[suffix]} (*{suffix})")
        if name:
            self.path.setText(name if name.lower().endswith(suffix) else name + suffix)

    def accept(self) -> None:
        fig = self.current()
        try:
            self.exported = export_figure(fig, self.path.text(), self.width.value(), self.height.value(),
                                          self.paper.isChecked())
        except (ValueError, OSError) as exc:  # InputError and friends, a full disk: say it in the dialog
            self.error.setText(msg.ANALYSIS_FAILED.format(what="Export", why=exc))
            return
        super().accept()


def export_view_figures(view: QWidget, figures: list[Figure], strip) -> None:
    """A view's "Export…" button: the dialog over ``figures``, the outcome in the view's message
    ``strip`` (``show_message(level, text)``)."""
    if not figures:
        strip.show_message("info", msg.NO_FIGURES)
        return
    dialog = ExportDialog(figures, parent=view)
    if dialog.exec() and dialog.exported is not None:
        strip.show_message("info", msg.FIGURES_EXPORTED.format(path=dialog.exported))


def ask_report_path(parent: QWidget | None, folder: str | Path = ".") -> Path | None:
    name, _ = QFileDialog.getSaveFileName(parent, "Export report", str(Path(folder) / "hpe_report.html"),
                                          "HTML report (*.html)")
    if not name:
        return None
    return Path(name if name.lower().endswith((".html", ".htm")) else name + ".html")
