"""*Export for cluster…*: the training form as a ready job folder for Slurm or torchrun.

The dialog collects :class:`~hpe_core.training.cluster.ClusterOptions` and calls the same
:func:`~hpe_core.training.cluster.export_job` as ``hpe train --export-script``. A problem (a bad
time limit, a folder that already holds a job) is shown in the dialog, which stays open.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from hpe_core.errors import InputError
from hpe_core.training.cluster import KINDS, ClusterOptions, export_job

EXPORTED = "Wrote the job folder {folder}. Submit: {submit} · follow: {follow}"


def export_config(raw: dict, folder: str | Path, options: ClusterOptions):
    """Check the form's config as ``hpe train`` does and write the job folder (InputError if bad)."""
    from hpe_core.training.config import config_from_dict, validate

    return export_job(validate(config_from_dict(raw)), folder, options)


class ClusterExportDialog(QDialog):
    def __init__(self, raw: dict, folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export for cluster")
        self.raw, self.job = raw, None
        self._build_fields(folder)
        self.error = QLabel("", objectName="exportError", wordWrap=True)
        self.error.setStyleSheet("color: #e06c75;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.write)
        buttons.rejected.connect(self.reject)
        self.kind.currentTextChanged.connect(self._on_kind_changed)
        layout = QVBoxLayout(self)
        layout.addLayout(self._form())
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _build_fields(self, folder: str) -> None:
        self.kind = QComboBox(objectName="kind")
        self.kind.addItems(KINDS)
        self.folder = QLineEdit(folder, objectName="folder", placeholderText="the job folder to write")
        self.nodes = QSpinBox(minimum=1, maximum=4096, value=1, objectName="nodes")
        self.gpus = QSpinBox(minimum=0, maximum=64, value=1, objectName="gpus",
                             toolTip="GPUs (processes) per node; 0: CPU nodes, one process each (gloo)")
        self.time = QLineEdit("24:00:00", objectName="time", toolTip="Slurm time limit: MM, HH:MM:SS or D-HH:MM:SS")
        self.grace = QSpinBox(minimum=1, maximum=86_400, value=300, suffix=" s", objectName="grace",
                              toolTip="SIGUSR1 this long before the time limit: save a resumable checkpoint, requeue")
        self.partition = QLineEdit(objectName="partition", placeholderText="default partition")
        self.account = QLineEdit(objectName="account", placeholderText="default account")
        self.shared = QLineEdit(objectName="shared", placeholderText="the job folder itself",
                                toolTip="Where the job folder is on the cluster (events and checkpoints go there)")
        self.python = QLineEdit("python3", objectName="python", toolTip="The cluster's Python with HPE Studio")
        self.setup = QLineEdit(objectName="setup", placeholderText="e.g. module load cuda; source ~/venv/bin/activate")

    def _form(self) -> QFormLayout:
        browse = QToolButton(text="…", toolTip="Choose the job folder")
        browse.clicked.connect(self._browse)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.folder, 1)
        row_layout.addWidget(browse)
        form = QFormLayout()
        for label, widget in (("Scheduler", self.kind), ("Job folder", row), ("Nodes", self.nodes),
                              ("GPUs per node", self.gpus), ("Time limit", self.time), ("Requeue before", self.grace),
                              ("Partition", self.partition), ("Account", self.account),
                              ("Path on the cluster", self.shared), ("Python", self.python), ("Setup", self.setup)):
            form.addRow(label, widget)
        return form

    def _on_kind_changed(self, kind: str) -> None:
        for widget in (self.time, self.grace, self.partition, self.account):
            widget.setEnabled(kind == "slurm")

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Job folder")
        if path:
            self.folder.setText(path)

    def options(self) -> ClusterOptions:
        text = lambda w: w.text().strip() or None  # noqa: E731
        return ClusterOptions(kind=self.kind.currentText(), nodes=self.nodes.value(),
                              gpus_per_node=self.gpus.value(), time=self.time.text().strip(),
                              partition=text(self.partition), account=text(self.account),
                              shared_path=text(self.shared), requeue_grace_s=self.grace.value(),
                              python=self.python.text().strip() or "python3", setup=text(self.setup))

    def write(self):
        """Write the folder; on success close (accepted), else show why and stay open."""
        folder = self.folder.text().strip()
        if not folder:
            self.error.setText("Choose a job folder to write")
            return None
        try:
            self.job = export_config(self.raw, folder, self.options())
        except InputError as exc:
            self.error.setText(str(exc))
            return None
        self.accept()
        return self.job
