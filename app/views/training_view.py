"""The training panel: configure and start ``hpe train`` jobs, watch and steer them.

Left: a task, a preset (``resources/presets``) or a saved config, the dataset and the device,
and the generated form (:class:`~app.views.training_form.TrainingForm`, validated as you type
with the CLI's checks); start a job, or follow one running elsewhere through its events file.
Right: the jobs (:class:`~app.views.training_jobs_view.TrainingJobsView`). Closing the window
while jobs run asks whether to keep them running or stop them (:meth:`TrainingView.confirm_close`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from PySide6.QtCore import QSignalBlocker, QSize, Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit,
                               QMessageBox, QProgressDialog, QPushButton, QScrollArea, QSplitter, QToolButton, QVBoxLayout,
                               QWidget)

from app.model import messages
from app.views.training_form import TrainingForm, guard_wheel
from app.views.training_jobs_view import TrainingJobsView
from hpe_core.atomic import atomic_write as write_atomic
from app.visuals.binding import bind
from hpe_core.errors import InputError
from hpe_core.training.tasks import TASKS

if TYPE_CHECKING:
    from app.workspace import Workspace

DEVICES = ("auto", "cpu", "cuda", "mps")


def list_presets() -> list[tuple[str, Path, str]]:
    """``(name, path, task)`` of every preset in ``resources/presets``."""
    from hpe_core.commands.train import presets_dir

    out = []
    for path in sorted(presets_dir().glob("*.yaml")):
        try:
            task = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("task", "")
        except (OSError, yaml.YAMLError):
            continue
        out.append((path.stem, path, str(task)))
    return out


def read_config(path: str | Path):
    """A config file (YAML or JSON) as a checked :class:`Config` (InputError otherwise)."""
    from hpe_core.training.config import load_config

    return load_config(path)


def ask_keep_running(parent: QWidget, count: int) -> str:
    """``"keep"``, ``"stop"`` or ``"cancel"`` (closing is called off)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Training jobs running", messages.RUNNING_JOBS.format(count=count),
                      parent=parent)
    keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
    stop = box.addButton("Stop jobs", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    return {id(keep): "keep", id(stop): "stop"}.get(id(box.clickedButton()), "cancel")


class TrainingView(QWidget):
    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name): room for the form and the curves in a dock
        return QSize(1200, 460)

    def __init__(self, manager, workspace: Workspace | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager, self.workspace = manager, workspace
        self._auto_dataset: str | None = None  # the dataset path the panel filled in itself
        self.jobs_view = TrainingJobsView(manager, workspace)
        self._build()
        self._connect()
        guard_wheel(self)  # the wheel scrolls the form; a field changes only when it has focus
        self.task.setCurrentText("simclr")
        self._on_task_changed()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self._build_pickers()
        self.form = TrainingForm()
        self.form.register("data.path", self.dataset, lambda: self.dataset.currentText().strip() or None,
                           lambda v: self.dataset.setCurrentText("" if v is None else str(v)))
        self.form.register("train.device", self.device, lambda: self.device.currentText().strip() or None,
                           lambda v: self.device.setCurrentText(str(v)))
        self.start = QPushButton("Start training", objectName="start", enabled=False)
        self.follow = QPushButton("Follow events file…", toolTip="Watch a job running elsewhere (torchrun) "
                                  "through the events file it writes with --events")
        self.export_cluster = QPushButton("Export for cluster…", objectName="exportCluster", enabled=False,
                                          toolTip="Write a job folder for Slurm (sbatch) or torchrun: config, "
                                          "script and README, as 'hpe train --export-script' does")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._new_job_side())
        split.addWidget(self.jobs_view)
        split.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(split)

    def _build_pickers(self) -> None:
        """The rows above the form: task, preset (open, save), dataset, device, the run's name."""
        self.task = QComboBox(objectName="task")
        self.task.addItems(TASKS)
        self.preset = QComboBox(objectName="preset")
        self.open_config = QToolButton(text="Open…", toolTip="Load a saved config file (YAML or JSON)")
        self.save_config = QToolButton(text="Save…", toolTip="Save the form as a config file for 'hpe train'")
        self.dataset = QComboBox(objectName="dataset", editable=True)
        self.browse_dataset = QToolButton(text="…", toolTip="Choose a dataset folder")
        self.device = QComboBox(objectName="device", editable=True)
        self.device.addItems(DEVICES)
        self.name = QLineEdit(objectName="jobName",
                              placeholderText="the run's folder under runs/ (default: the preset's)")

    def _new_job_side(self) -> QWidget:
        """The left side: the pickers, the form (scrolled), its message and the buttons."""
        top = QFormLayout()
        top.addRow("Task", self.task)
        top.addRow("Preset", _row(self.preset, self.open_config, self.save_config))
        top.addRow("Dataset", _row(self.dataset, self.browse_dataset))
        top.addRow("Device", self.device)
        top.addRow("Name", self.name)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.form)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(top)
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(self.form.error_label)
        left_layout.addWidget(_row(self.start, self.export_cluster, self.follow))
        return left

    def _connect(self) -> None:
        self.task.currentTextChanged.connect(self._on_task_changed)
        self.preset.activated.connect(self._on_preset_activated)
        self.open_config.clicked.connect(self._on_open_config_clicked)
        self.save_config.clicked.connect(self._on_save_config_clicked)
        self.browse_dataset.clicked.connect(self._on_browse_dataset_clicked)
        self.dataset.editTextChanged.connect(self.form._on_edited)
        self.device.editTextChanged.connect(self.form._on_edited)
        self.form.validity_changed.connect(self.start.setEnabled)
        self.form.validity_changed.connect(self.export_cluster.setEnabled)
        self.export_cluster.clicked.connect(self._on_export_cluster_clicked)
        self.start.clicked.connect(self.start_job)
        self.follow.clicked.connect(self._on_follow_clicked)
        if self.workspace is not None:
            bind(self.workspace.catalog.datasets_changed, self._refresh_datasets, self)
            bind(self.workspace.catalog.current_dataset_changed, lambda _e: self._use_open_dataset(), self)
            self._refresh_datasets()

    # ------------------------------------------------------------------ the new-job side
    def _on_task_changed(self, *_args) -> None:
        task = self.task.currentText()
        self._fill_presets(task)
        if self.preset.count():
            self.load_config_file(self.preset.itemData(self._default_preset()))
        else:
            self.form.set_task(task)

    def _default_preset(self) -> int:
        """The task's ``*_cpu`` preset (minutes on a laptop) unless a checkpoint here runs on CUDA."""
        on_gpu = self.workspace is not None and "cuda" in (self.workspace.device.in_use or "")
        names = [self.preset.itemText(i) for i in range(self.preset.count())]
        for i, name in enumerate(names):
            if name.endswith("_cpu") != on_gpu:
                return i
        return 0

    def _open_dataset_path(self) -> str | None:
        """The workspace's current dataset when it can be trained on (not a video)."""
        entry = None if self.workspace is None else self.workspace.catalog.entry
        if entry is None or getattr(entry.dataset, "format", "") == "video":
            return None
        return entry.key

    def _use_open_dataset(self) -> None:
        """Point the form at the open dataset unless the user chose another one."""
        path = self._open_dataset_path()
        current = self.dataset.currentText().strip()
        if path and current in ("", "demo", self._auto_dataset or ""):
            self.dataset.setCurrentText(path)
            self._auto_dataset = path
            self.form._on_edited()

    def _fill_presets(self, task: str) -> None:
        with QSignalBlocker(self.preset):
            self.preset.clear()
            for name, path, preset_task in list_presets():
                if preset_task == task:
                    self.preset.addItem(name, str(path))

    def _on_preset_activated(self, index: int) -> None:
        self.load_config_file(self.preset.itemData(index))

    def load_config_file(self, path: str | Path) -> bool:
        """Fill the form from a preset or a saved config; False (and a message) if unreadable."""
        path = Path(path).expanduser().resolve()
        try:
            config = read_config(path)
        except InputError as exc:
            self._message("error", messages.CONFIG_FAILED.format(path=path, why=exc))
            return False
        if config.task != self.task.currentText():
            with QSignalBlocker(self.task):
                self.task.setCurrentText(config.task)
            self._fill_presets(config.task)
        if self.preset.findData(str(path)) < 0:
            self.preset.addItem(f"{path.name} (file)", str(path))
        with QSignalBlocker(self.preset):
            self.preset.setCurrentIndex(self.preset.findData(str(path)))
        self.form.set_config(config)
        self._use_open_dataset()
        return True

    def _on_open_config_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open config", "", "Configs (*.yaml *.yml *.json)")
        if path:
            self.load_config_file(path)

    def _on_save_config_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save config", f"{self.task.currentText()}.yaml",
                                              "YAML (*.yaml);;JSON (*.json)")
        if path:
            self.save_config_file(path)

    def save_config_file(self, path: str | Path) -> Path:
        """Write the form as a config file (atomically) that ``hpe train`` runs as it is."""
        path, raw = Path(path), self.form.raw()
        text = json.dumps(raw, indent=1) if path.suffix == ".json" else yaml.safe_dump(raw, sort_keys=False)
        write_atomic(path, text)
        return path

    def _on_browse_dataset_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder")
        if path:
            self.dataset.setCurrentText(path)

    def _refresh_datasets(self) -> None:
        text = self.dataset.currentText()
        with QSignalBlocker(self.dataset):
            self.dataset.clear()
            self.dataset.addItems(["demo", *self.workspace.catalog.datasets])
            self.dataset.setCurrentText(text)

    def start_job(self):
        """Queue a job for the form (None if the form is invalid: the message says why)."""
        if self.form.revalidate() is None:
            return None
        raw, name = self.form.raw(), self.name.text().strip()
        if name:  # the run's folder: runs/<name> (made unique with -2, -3... if taken)
            if name in (".", "..") or any(c in name for c in '/\\:*?"<>|'):
                self.form.error_label.setText(messages.BAD_RUN_NAME.format(name=name))
                return None
            raw["train"] = dict(raw.get("train") or {}, output=name)
        try:
            job = self.manager.submit(raw, name=name or None)
        except InputError as exc:
            self.form.error_label.setText(str(exc))
            return None
        self.jobs_view.select_job(job.id)
        return job

    def export_dialog(self):
        """The *Export for cluster…* dialog for the form (None if the form is invalid)."""
        from app.views.cluster_export import ClusterExportDialog

        if self.form.revalidate() is None:
            return None
        return ClusterExportDialog(self.form.raw(), parent=self)

    def _on_export_cluster_clicked(self) -> None:
        dialog = self.export_dialog()
        if dialog is not None and dialog.exec():
            self.exported(dialog.job)

    def exported(self, job) -> None:
        from app.views.cluster_export import EXPORTED

        self._message("info", EXPORTED.format(folder=job.folder, submit=job.submit, follow=job.follow))

    def _on_follow_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Follow a job's events", "", "Events (*.jsonl *.json);;All (*)")
        if path:
            try:
                self.jobs_view.select_job(self.manager.follow(path).id)
            except InputError as exc:
                self._message("error", str(exc))

    def _message(self, level: str, text: str) -> None:
        if self.workspace is not None:
            self.workspace.message.emit(level, text)

    # ------------------------------------------------------------------ closing
    def confirm_close(self) -> bool:
        """Before the window closes: ask about running jobs. False: not now (called off, or the
        jobs are being stopped; the window closes itself once they are, never blocking)."""
        if self.manager.stopping():
            return False
        running = self.manager.running()
        if not running:
            self.manager.shutdown(stop=False)
            return True
        choice = ask_keep_running(self, len(running))
        if choice == "cancel":
            return False
        if choice == "keep":
            self.manager.shutdown(stop=False)
            return True
        self.stop_progress = QProgressDialog(messages.STOPPING_JOBS.format(count=len(running)), None, 0, 0, self)
        self.stop_progress.setWindowTitle("Stopping training jobs")
        self.stop_progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.stop_progress.show()
        self.manager.all_stopped.connect(self._on_manager_all_stopped)
        self.manager.stop_all()
        return False

    def _on_manager_all_stopped(self) -> None:
        self.manager.all_stopped.disconnect(self._on_manager_all_stopped)
        self.stop_progress.close()
        self.window().close()  # nothing runs now: the window closes


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if i == 0 else 0)
    return row

