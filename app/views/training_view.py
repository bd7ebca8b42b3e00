"""The training panel: configure and start ``hpe train`` jobs, watch and steer them.

Left: a task, a preset (``resources/presets``) or a saved config, the dataset and the device,
and the generated form (:class:`~app.views.training_form.TrainingForm`, validated as you type
with the CLI's checks). Right: every job of the :class:`TrainingJobsManager` with its state,
progress and ETA; cancel, resume, remove, open its checkpoint; its live curves and its log.
A finished job's checkpoint joins the workspace (``Workspace.open_checkpoint``).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import (QApplication, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QMessageBox, QPlainTextEdit, QPushButton, QScrollArea, QSplitter,
                               QTabWidget, QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from app.views.job_curves import JobCurvesView
from app.views.training_form import TrainingForm, scalar_text
from app.workers.training_record import format_duration, write_atomic
from hpe_core.errors import InputError
from hpe_core.training.config import TASKS

# User-facing messages of the panel (tests assert on them).
JOB_DONE = "Training job '{name}' finished; {path} joins the workspace"
JOB_FAILED = "Training job '{name}' failed: {why}"
CONFIG_FAILED = "Could not read the config {path}: {why}"
RUNNING_JOBS = ("{count} training job(s) still running. Keep them running in the background (HPE Studio "
                "follows them again at its next start) or stop them (each saves a resumable checkpoint)?")
DEVICES = ("auto", "cpu", "cuda", "mps")
COLUMNS = ("Job", "Task", "State", "Progress", "ETA", "Message")


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
    box = QMessageBox(QMessageBox.Icon.Question, "Training jobs running", RUNNING_JOBS.format(count=count),
                      parent=parent)
    keep = box.addButton("Keep running", QMessageBox.ButtonRole.AcceptRole)
    stop = box.addButton("Stop jobs", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    return {id(keep): "keep", id(stop): "stop"}.get(id(box.clickedButton()), "cancel")


class TrainingView(QWidget):
    def __init__(self, manager, workspace=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager, self.workspace = manager, workspace
        self._dirty: set[str] = set()
        self._build()
        self._connect()
        self.task.setCurrentText("simclr")
        self._on_task_changed()
        self._refresh_jobs()
        warning = manager.take_warning()
        if warning:
            self._message("warning", warning)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        self.task = QComboBox(objectName="task")
        self.task.addItems(TASKS)
        self.preset = QComboBox(objectName="preset")
        self.open_config = QToolButton(text="Open…", toolTip="Load a saved config file (YAML or JSON)")
        self.save_config = QToolButton(text="Save…", toolTip="Save the form as a config file for 'hpe train'")
        self.dataset = QComboBox(objectName="dataset", editable=True)
        self.browse_dataset = QToolButton(text="…", toolTip="Choose a dataset folder")
        self.device = QComboBox(objectName="device", editable=True)
        self.device.addItems(DEVICES)
        self.name = QLineEdit(objectName="jobName", placeholderText="the output folder's name")
        self.form = TrainingForm()
        self.form.register("data.path", self.dataset, lambda: scalar_text(self.dataset.currentText().strip() or None),
                           lambda v: self.dataset.setCurrentText("" if v is None else str(v)))
        self.form.register("train.device", self.device, lambda: scalar_text(self.device.currentText().strip()),
                           lambda v: self.device.setCurrentText(str(v)))
        self.start = QPushButton("Start training", objectName="start", enabled=False)
        self.follow = QPushButton("Follow events file…", toolTip="Watch a job running elsewhere (torchrun) "
                                  "through the events file it writes with --events")
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
        left_layout.addWidget(_row(self.start, self.follow))
        self.jobs = QTreeWidget(objectName="jobs", rootIsDecorated=False, uniformRowHeights=True)
        self.jobs.setHeaderLabels(COLUMNS)
        self.cancel = QPushButton("Cancel", enabled=False)
        self.resume = QPushButton("Resume", enabled=False)
        self.remove = QPushButton("Remove", enabled=False)
        self.open_checkpoint = QPushButton("Open checkpoint", enabled=False)
        self.curves = JobCurvesView()
        self.log = QPlainTextEdit(readOnly=True, objectName="jobLog")
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.log, "Log")
        right = QSplitter(Qt.Orientation.Vertical)
        jobs_box = QWidget()
        jobs_layout = QVBoxLayout(jobs_box)
        jobs_layout.setContentsMargins(0, 0, 0, 0)
        jobs_layout.addWidget(self.jobs, 1)
        jobs_layout.addWidget(_row(self.cancel, self.resume, self.remove, self.open_checkpoint))
        right.addWidget(jobs_box)
        right.addWidget(self.tabs)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        QVBoxLayout(self).addWidget(split)
        self._update_timer = QTimer(self, singleShot=True, interval=200)
        self._update_timer.timeout.connect(self._flush_updates)

    def _connect(self) -> None:
        self.task.currentTextChanged.connect(self._on_task_changed)
        self.preset.activated.connect(self._on_preset_activated)
        self.open_config.clicked.connect(self._on_open_config_clicked)
        self.save_config.clicked.connect(self._on_save_config_clicked)
        self.browse_dataset.clicked.connect(self._on_browse_dataset_clicked)
        self.dataset.editTextChanged.connect(self.form._on_edited)
        self.device.editTextChanged.connect(self.form._on_edited)
        self.form.validity_changed.connect(self.start.setEnabled)
        self.start.clicked.connect(self.start_job)
        self.follow.clicked.connect(self._on_follow_clicked)
        self.jobs.itemSelectionChanged.connect(self._on_selection_changed)
        self.cancel.clicked.connect(lambda: self._act(self.manager.cancel))
        self.resume.clicked.connect(lambda: self._act(self.manager.resume))
        self.remove.clicked.connect(lambda: self._act(self.manager.remove))
        self.open_checkpoint.clicked.connect(self._on_open_checkpoint_clicked)
        self.tabs.currentChanged.connect(lambda _i: self._show_selected())
        m = self.manager
        m.jobs_changed.connect(self._refresh_jobs)
        m.job_updated.connect(self._on_job_updated)
        m.job_finished.connect(self._on_job_finished)
        m.message.connect(self._message)
        if self.workspace is not None:
            m.checkpoint_ready.connect(self.workspace.open_checkpoint)
            self.workspace.datasets_changed.connect(self._refresh_datasets)
            self._refresh_datasets()

    # ------------------------------------------------------------------ the new-job side
    def _on_task_changed(self, *_args) -> None:
        task = self.task.currentText()
        with QSignalBlocker(self.preset):
            self.preset.clear()
            for name, path, preset_task in list_presets():
                if preset_task == task:
                    self.preset.addItem(name, str(path))
        if self.preset.count():
            self.load_config_file(self.preset.itemData(0))
        else:
            self.form.set_task(task)

    def _on_preset_activated(self, index: int) -> None:
        self.load_config_file(self.preset.itemData(index))

    def load_config_file(self, path: str | Path) -> bool:
        """Fill the form from a preset or a saved config; False (and a message) if unreadable."""
        try:
            config = read_config(path)
        except InputError as exc:
            self._message("error", CONFIG_FAILED.format(path=path, why=exc))
            return False
        if self.preset.findData(str(path)) < 0:
            self.preset.addItem(f"{Path(path).name} (file)", str(path))
        with QSignalBlocker(self.task), QSignalBlocker(self.preset):
            self.task.setCurrentText(config.task)
            self.preset.setCurrentIndex(self.preset.findData(str(path)))
        self.form.set_config(config)
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
            self.dataset.addItems(["demo", *self.workspace.datasets])
            self.dataset.setCurrentText(text)

    def start_job(self):
        """Queue a job for the form (None if the form is invalid: the message says why)."""
        if self.form.revalidate() is None:
            return None
        try:
            job = self.manager.submit(self.form.raw(), name=self.name.text().strip() or None)
        except InputError as exc:
            self.form.error_label.setText(str(exc))
            return None
        self.select_job(job.id)
        return job

    def _on_follow_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Follow a job's events", "", "Events (*.jsonl *.json);;All (*)")
        if path:
            try:
                self.select_job(self.manager.follow(path).id)
            except InputError as exc:
                self._message("error", str(exc))

    # ------------------------------------------------------------------ the jobs side
    def _item(self, job_id: str) -> QTreeWidgetItem | None:
        for i in range(self.jobs.topLevelItemCount()):
            item = self.jobs.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == job_id:
                return item
        return None

    def _refresh_jobs(self) -> None:
        selected = self.selected_id()
        with QSignalBlocker(self.jobs):
            self.jobs.clear()
            for job in sorted(self.manager.jobs(), key=lambda j: j.record.created, reverse=True):
                item = QTreeWidgetItem()
                item.setData(0, Qt.ItemDataRole.UserRole, job.id)
                self.jobs.addTopLevelItem(item)
                self._fill(item, job)
        if selected and self._item(selected) is not None:
            self.select_job(selected)
        else:
            self._on_selection_changed()

    def _fill(self, item: QTreeWidgetItem, job) -> None:
        rec, st = job.record, job.state
        step, total = (st.step, st.total_steps) if job.loaded else (rec.step, rec.total_steps)
        progress = f"{step}/{total} ({100 * min(step / total, 1):.0f}%)" if total else ""
        eta = format_duration(st.eta_s()) if rec.state == "running" else ""
        name = rec.name + (" (followed)" if rec.external else "")
        for col, text in enumerate((name, rec.task or "", rec.state, progress, eta, rec.message)):
            item.setText(col, text)
        item.setToolTip(5, rec.message)

    def selected_id(self) -> str | None:
        items = self.jobs.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select_job(self, job_id: str) -> None:
        item = self._item(job_id)
        if item is not None:
            self.jobs.setCurrentItem(item)
            item.setSelected(True)

    def _on_job_updated(self, job_id: str) -> None:
        self._dirty.add(job_id)
        if not self._update_timer.isActive():
            self._update_timer.start()

    def _flush_updates(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for job_id in dirty:
            item = self._item(job_id)
            if item is not None and job_id in {j.id for j in self.manager.jobs()}:
                self._fill(item, self.manager.job(job_id))
        if self.selected_id() in dirty:
            self._show_selected()

    def _on_job_finished(self, job_id: str, state: str) -> None:
        job = self.manager.job(job_id)
        self._on_job_updated(job_id)
        if state == "failed":
            self._message("error", JOB_FAILED.format(name=job.record.name, why=job.record.message))
        elif state == "done" and job.record.checkpoint:
            self._message("info", JOB_DONE.format(name=job.record.name, path=job.record.checkpoint))

    def _on_selection_changed(self) -> None:
        job_id = self.selected_id()
        job = self.manager.job(job_id) if job_id else None
        if job is not None:
            job.ensure_loaded()
        self.curves.set_state(job.state if job else None, bool(job and job.record.state == "running"))
        self._show_selected()

    def _show_selected(self) -> None:
        job_id = self.selected_id()
        job = self.manager.job(job_id) if job_id else None
        rec = job.record if job else None
        self.cancel.setEnabled(bool(rec and rec.active))
        self.cancel.setText("Stop following" if rec and rec.external and rec.active else "Cancel")
        self.resume.setEnabled(bool(job and job.resumable()))
        self.remove.setEnabled(bool(rec and not rec.active))
        self.open_checkpoint.setEnabled(bool(self.workspace is not None and self._checkpoint_of(job)))
        if job is None:
            self.curves.set_state(None)
            self.log.setPlainText("")
            return
        if self.curves.state is not job.state:
            self.curves.set_state(job.state, rec.state == "running")
        else:
            self.curves.schedule_refresh(rec.state == "running")
        if self.tabs.currentWidget() is self.log:
            bar = self.log.verticalScrollBar()
            at_end = bar.value() >= bar.maximum() - 2
            self.log.setPlainText(job.log_text())
            if at_end:
                bar.setValue(bar.maximum())

    @staticmethod
    def _checkpoint_of(job) -> str | None:
        if job is None:
            return None
        for path in (job.record.checkpoint, job.record.last_checkpoint):
            if path and Path(path).is_file():
                return path
        return None

    def _on_open_checkpoint_clicked(self) -> None:
        path = self._checkpoint_of(self.manager.job(self.selected_id()) if self.selected_id() else None)
        if path and self.workspace is not None:
            self.workspace.open_checkpoint(path)

    def _act(self, action) -> None:
        job_id = self.selected_id()
        if job_id is None:
            return
        try:
            action(job_id)
        except InputError as exc:
            self._message("error", str(exc))
        self._show_selected()

    def _message(self, level: str, text: str) -> None:
        if self.workspace is not None:
            self.workspace.message.emit(level, text)

    # ------------------------------------------------------------------ closing
    def confirm_close(self) -> bool:
        """Before the window closes: ask about running jobs; False if the user called it off."""
        running = self.manager.running()
        if not running:
            self.manager.shutdown(stop=False)
            return True
        choice = ask_keep_running(self, len(running))
        if choice == "cancel":
            return False
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.manager.shutdown(stop=choice == "stop")
        finally:
            QApplication.restoreOverrideCursor()
        return True


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if i == 0 else 0)
    return row

