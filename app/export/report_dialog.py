"""Analysis ▸ Report…: ``hpe report`` from the GUI. The dialog picks the models (the open
checkpoints and prediction files, and files added here), the split, the protocol, a seeded
subset and the output folder, and gives the :class:`hpe_core.report.run.ReportSpec` the CLI
would build; :func:`report_job` runs :func:`hpe_core.report.run.build_report` (the function
behind ``hpe report``) as a background task of the jobs bar, cancellable."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from hpe_core.file_kinds import CHECKPOINT_SUFFIXES

SPLITS = ("test", "val", "train", "all")
MODELS_FILTER = ("Models (*" + " *".join(sorted(CHECKPOINT_SUFFIXES | {".npz", ".npy", ".json"}))
                 + ");;All files (*)")


def report_command(spec) -> tuple[str, ...]:
    """The ``hpe report`` command line that makes the same report (for its provenance)."""
    cmd = ["hpe", "report", spec.dataset, *spec.inputs, "--out", spec.out, "--split", spec.split,
           "--protocol", spec.protocol, "--seed", str(spec.seed), "--device", spec.device]
    if spec.max_samples:
        cmd += ["--max-samples", str(spec.max_samples)]
    if spec.units:
        cmd += ["--units", spec.units]
    if not spec.analysis:
        cmd.append("--no-analysis")
    return tuple(cmd)


def _foreign(path: str) -> bool:
    """A prediction file made by another tool (its units must be said)."""
    from hpe_core.file_kinds import is_predictions_path

    suffix = Path(path).suffix.lower()
    return suffix not in CHECKPOINT_SUFFIXES and not (suffix == ".npz" and is_predictions_path(path))


def report_job(spec):
    """``fn(progress)`` for a Task: the report of ``spec``; returns ``build_report``'s summary."""

    def run(progress):
        from hpe_core.report.run import build_report

        progress.set_status(f"Report: {len(spec.inputs)} model(s) on {Path(spec.dataset).name}")
        return build_report(spec, progress)

    return run


class ReportDialog(QDialog):
    """Choose what ``hpe report`` compares; :meth:`spec` is the result (None if incomplete)."""

    def __init__(self, workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Report")
        self.workspace = workspace
        c = workspace.catalog
        self.dataset = c.entry
        self.models = QListWidget()
        for key, loaded in c.checkpoints.items():
            if loaded.has_pose_head:
                self._add_model(str(loaded.path), getattr(loaded, "units", None))
        self.add_files = QPushButton("Add files…", toolTip="Add checkpoints or prediction files")
        self._build_options()
        self.analysis = QCheckBox("Embedding, conv1 and CKA figures (checkpoints)", checked=True)
        self.out = QLineEdit(str(Path.home() / "hpe-report"))
        browse = QPushButton("…", toolTip="Choose the output folder")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run report")
        layout = QVBoxLayout(self)
        layout.addWidget(self.models, 1)
        layout.addWidget(self.add_files, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(self._form(browse))
        layout.addWidget(self.buttons)
        self.add_files.clicked.connect(self._on_add_files_clicked)
        browse.clicked.connect(self._on_browse_clicked)
        self.buttons.accepted.connect(self._on_accepted)
        self.buttons.rejected.connect(self.reject)
        self._refresh_ok()

    def _build_options(self) -> None:
        """The split, protocol, sample count, seed and foreign files' units."""
        from hpe_core.report.scoring import PROTOCOLS

        self.split = QComboBox()
        for split in SPLITS:
            self.split.addItem(split, split)
        self.protocol = QComboBox()
        for name, text in PROTOCOLS.items():
            self.protocol.addItem(name, name)
            self.protocol.setItemData(self.protocol.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.protocol.setCurrentIndex(max(self.protocol.findData(self.workspace.options.protocol), 0))
        self.max_samples = QSpinBox(minimum=0, maximum=10_000_000, value=500, specialValueText="all",
                                    toolTip="A seeded random subset of the split (0: all samples)")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.units = QComboBox(toolTip="Units of array / MMPose prediction files (ours say theirs)")
        for text, value in (("mm", "mm"), ("m", "m")):
            self.units.addItem(text, value)

    def _form(self, browse: QPushButton) -> QFormLayout:
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Dataset", QLineEdit(self.dataset.key if self.dataset else "(open a dataset first)",
                                         readOnly=True))
        form.addRow("Split", self.split)
        form.addRow("Protocol", self.protocol)
        form.addRow("Max samples", self.max_samples)
        form.addRow("Seed", self.seed)
        form.addRow("Units of foreign files", self.units)
        form.addRow("", self.analysis)
        form.addRow("Output folder", out_row)
        return form

    def _add_model(self, path: str, units: str | None = None) -> None:
        item = QListWidgetItem(Path(path).name)
        item.setData(Qt.ItemDataRole.UserRole, path)
        item.setToolTip(path)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.models.addItem(item)
        if units:
            self.units.setCurrentIndex(max(self.units.findData(units), 0))

    def add_paths(self, paths) -> None:
        for path in paths:
            self._add_model(str(path))
        self._refresh_ok()

    def _on_add_files_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add checkpoints or prediction files", "",
                                                MODELS_FILTER)
        self.add_paths(paths)

    def _on_browse_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out.text())
        if path:
            self.out.setText(path)

    def checked_paths(self) -> list[str]:
        items = (self.models.item(i) for i in range(self.models.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.checkState() == Qt.CheckState.Checked]

    def _refresh_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.dataset is not None and self.models.count() > 0)

    def spec(self):
        """The :class:`ReportSpec` of the choices (None without a dataset or a model)."""
        from hpe_core.report.run import ReportSpec

        inputs = tuple(self.checked_paths())
        if self.dataset is None or not inputs or not self.out.text().strip():
            return None
        foreign = any(_foreign(p) for p in inputs)
        spec = ReportSpec(dataset=self.dataset.key, inputs=inputs, out=str(Path(self.out.text().strip()).expanduser()),
                          split=self.split.currentData(), max_samples=int(self.max_samples.value()) or None,
                          seed=int(self.seed.value()), protocol=self.protocol.currentData(),
                          units=self.units.currentData() if foreign else None, device=self.workspace.device.spec,
                          precision=self.workspace.device.precision, analysis=self.analysis.isChecked())
        from dataclasses import replace

        return replace(spec, command=report_command(spec))

    def _on_accepted(self) -> None:
        if self.spec() is not None:
            self.workspace.options.protocol = self.spec().protocol  # the browser's error column follows it
            self.accept()
