"""The jobs side of the training panel: every job of the :class:`TrainingJobsManager` with its
state, progress, ETA and last message (a raised health alarm shows on its row, and in the message
bar when it is raised while the job runs); cancel (or stop following), resume, remove, open its
checkpoint in the workspace; the selected job's live curves and log; several selected jobs
compared (*Compare*: :class:`~app.views.sweep_runs.RunsCompareView`); a sweep's trials
(*Sweep*: :class:`~app.views.sweep_view.SweepView`, a trial double-clicked is followed here).

Row updates are coalesced (at most five a second). What a finished job means for the workspace
is :func:`app.workers.training_jobs.connect_workspace`'s business (it works with no panel built).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QHBoxLayout, QPlainTextEdit, QPushButton, QSplitter, QTabWidget, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from app.model.messages import ALARM_MESSAGE, ALARM_ROW
from app.model.training_record import format_duration
from app.views.job_curves import JobCurvesView
from app.views.sweep_runs import RunsCompareView
from app.views.sweep_view import SweepView
from app.workers import remote_jobs
from hpe_core.errors import InputError

if TYPE_CHECKING:
    from app.workspace import Workspace

COLUMNS = ("Job", "Task", "State", "Progress", "ETA", "Message")


class TrainingJobsView(QWidget):
    def __init__(self, manager, workspace: Workspace | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager, self.workspace = manager, workspace
        self._dirty: set[str] = set()
        self._alarms_seen: dict[str, int] = {}  # job id -> health alarms already announced
        self.jobs = QTreeWidget(objectName="jobs", rootIsDecorated=False, uniformRowHeights=True)
        self.jobs.setHeaderLabels(COLUMNS)
        self.jobs.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.cancel = QPushButton("Cancel", enabled=False)
        self.resume = QPushButton("Resume", enabled=False)
        self.remove = QPushButton("Remove", enabled=False)
        self.open_checkpoint = QPushButton("Open checkpoint", enabled=False)
        self.pull = QPushButton("Pull checkpoints", enabled=False, objectName="pullCheckpoints",
                                toolTip="Copy an ended remote job's checkpoints (from a synced copy of its job "
                                "folder) into this machine's runs folder and the workspace")
        self.curves = JobCurvesView()
        self.log = QPlainTextEdit(readOnly=True, objectName="jobLog")
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.log, "Log")
        self.compare = RunsCompareView()
        self.sweep = SweepView()
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.sweep, "Sweep")
        self._layout()
        self._update_timer = QTimer(self, singleShot=True, interval=200)
        self._update_timer.timeout.connect(self._flush_updates)
        self._connect()
        self._refresh_jobs()

    def _layout(self) -> None:
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.jobs, 1)
        buttons = QHBoxLayout()
        for button in (self.cancel, self.resume, self.remove, self.open_checkpoint, self.pull):
            buttons.addWidget(button)
        top_layout.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def _connect(self) -> None:
        self.jobs.itemSelectionChanged.connect(self._on_selection_changed)
        self.cancel.clicked.connect(lambda: self._act(self.manager.cancel))
        self.resume.clicked.connect(lambda: self._act(self.manager.resume))
        self.remove.clicked.connect(lambda: self._act(self.manager.remove))
        self.open_checkpoint.clicked.connect(self._on_open_checkpoint_clicked)
        self.pull.clicked.connect(lambda: self._act(lambda job_id: remote_jobs.pull(self.manager, job_id)))
        self.tabs.currentChanged.connect(lambda _i: self._show_selected())
        self.sweep.run_requested.connect(self.follow_run)
        self.sweep.failed.connect(lambda text: self._message("error", text))
        m = self.manager
        m.jobs_changed.connect(self._refresh_jobs)
        m.job_updated.connect(self._on_job_updated)
        m.job_finished.connect(self._on_job_updated)

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
        name = rec.name + (" (remote)" if rec.external else "")
        state = f"{rec.state} · remote" if rec.external else rec.state
        alarms = st.alarms if job.loaded else []
        message = " · ".join(([ALARM_ROW.format(count=len(alarms), last=alarms[-1]["message"])] if alarms else [])
                             + ([rec.message] if rec.message else []))
        for col, text in enumerate((name, rec.task or "", state + (" · alarm" if alarms else ""), progress, eta,
                                    message)):
            item.setText(col, text)
        item.setToolTip(5, "\n".join([rec.message] + [a["message"] for a in alarms]).strip())
        item.setForeground(2, QBrush(QColor("#e15759")) if alarms else QBrush())

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
                self._announce_alarms(self.manager.job(job_id))
        if self.selected_id() in dirty:
            self._show_selected()

    def _announce_alarms(self, job) -> None:
        """Each health alarm a running job raised since the last look, in the message bar."""
        alarms = job.state.alarms
        seen = self._alarms_seen.get(job.id, 0)
        self._alarms_seen[job.id] = len(alarms)
        if job.record.state == "running":
            for alarm in alarms[seen:]:
                self._message("warning", ALARM_MESSAGE.format(name=job.record.name, message=alarm["message"]))

    def selected_ids(self) -> list[str]:
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in self.jobs.selectedItems()]

    def follow_run(self, events_path: str) -> None:
        """Show a run in the jobs list (a sweep's trial): the job that has its events, else a followed one."""
        path = str(Path(events_path).resolve())
        known = [j for j in self.manager.jobs()
                 if j.record.events_path and str(Path(j.record.events_path).resolve()) == path]
        try:
            job = known[0] if known else self.manager.follow(path)
        except InputError as exc:
            self._message("error", str(exc))
            return
        self.jobs.clearSelection()
        self.select_job(job.id)
        self.tabs.setCurrentWidget(self.curves)

    def _show_compare(self) -> None:
        jobs = [self.manager.job(i) for i in self.selected_ids()]
        for job in jobs:
            job.ensure_loaded()
        self.compare.set_runs([(j.record.name, j.state) for j in jobs])

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
        self.pull.setVisible(remote_jobs.is_remote(job))
        self.pull.setEnabled(bool(remote_jobs.pullable(job)))
        if self.tabs.currentWidget() is self.compare:
            self._show_compare()
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
