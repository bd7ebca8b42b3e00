"""The one owner of every ``hpe train`` process: :class:`TrainingJobsManager`.

Jobs are queued, then started as ``hpe train CONFIG --events FILE`` processes with
``QProcess.startDetached`` (own session; standard output and error appended to the job's log
file), so that a job can outlive the window when the user chooses to keep it running. Their
events are read by tailing the events file with a line buffer (a line split across two reads
still parses); a job running elsewhere (``torchrun`` on a cluster) is followed the same way,
from its events file alone. States: queued → running → done | failed | cancelled.

Cancel sends SIGINT (the job saves a resumable ``last.pt`` at its next step and stops), then
SIGKILL to its process group after ``stop_timeout_s``. Resume starts ``hpe train --resume
last.pt`` on the same events file, so the curves continue. The history (one JSON file, written
atomically) keeps every job across restarts; a job still running from an earlier session is
followed again, one that ended meanwhile is judged from its events.

The history is the run queue that ``hpe queue`` shares (:mod:`hpe_core.training.runs.queue`): every
save merges under the file's lock (the later change of a job wins), jobs added or ended by ``hpe
queue`` are picked up when the file changes, and a queued job is claimed under the lock before it
starts, so neither side starts it twice.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.workers.job_process import end_last_line, launch_detached, process_alive, send_signal
from app.workers.training_job import TrainingJob
from hpe_core.errors import InputError
from hpe_core.training.runs.queue import JobRecord, SharedQueue, new_record, output_for, startable
from hpe_core.training.runs.queue import data_dir as queue_data_dir
from hpe_core.training.runs.runner import hpe_command as default_command

from app.model.messages import JOB_DONE, JOB_FAILED, KILLED_AFTER, NO_FINAL_EVENT  # noqa: F401 - tests read them here
from app.workers.job_notices import connect_workspace  # noqa: F401 - the main window takes it from here


def data_dir() -> Path:
    """Where job folders and default run outputs live (:func:`hpe_core.training.runs.queue.data_dir`;
    a private folder in tests)."""
    if os.environ.get("HPE_STUDIO_TESTING") and not os.environ.get("HPE_STUDIO_DATA_DIR"):
        from app.settings import config_dir

        return config_dir() / "data"
    return queue_data_dir()


class TrainingJobsManager(QObject):
    """Queues, starts, follows, cancels and resumes training jobs; keeps their history."""

    jobs_changed = Signal()  # a job was added or removed
    job_updated = Signal(str)  # job id: new events, or its state changed
    job_finished = Signal(str, str)  # job id, final state
    checkpoint_ready = Signal(str)  # a finished job's checkpoint, for the workspace
    message = Signal(str, str)  # level, text
    all_stopped = Signal()  # after stop_all: no job runs and no process of theirs is left

    def __init__(self, folder: str | Path | None = None, runs_dir: str | Path | None = None,
                 command: list[str] | None = None, env: dict[str, str] | None = None,
                 max_running: int = 1, poll_ms: int = 200, stop_timeout_s: float = 30.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        base = data_dir()
        self.folder = Path(folder) if folder is not None else base / "jobs"
        self.runs_dir = Path(runs_dir) if runs_dir is not None else self.folder.parent / "runs"
        self.command = list(command or default_command())
        self.env = dict(env or {})
        self.max_running, self.stop_timeout_s = max_running, stop_timeout_s
        self.history_path = self.folder / "history.json"
        self.queue = SharedQueue(self.history_path)
        self._jobs: dict[str, TrainingJob] = {}
        self._restoring = False
        self._stopping: list[tuple] | None = None  # processes stop_all waits for
        self._give_up = 0.0
        self._timer = QTimer(self, interval=poll_ms)
        self._timer.timeout.connect(self.poll)
        self._sync_timer = QTimer(self, interval=max(poll_ms, 500))  # jobs added or ended by `hpe queue`
        self._sync_timer.timeout.connect(self.sync)
        self.closed = False
        self._restore()
        self._sync_timer.start()

    # ------------------------------------------------------------------ queries
    def jobs(self) -> list[TrainingJob]:
        return list(self._jobs.values())

    def job(self, job_id: str) -> TrainingJob:
        return self._jobs[job_id]

    def running(self, local_only: bool = True) -> list[TrainingJob]:
        return [j for j in self._jobs.values() if j.record.state == "running"
                and not (local_only and j.record.external)]

    # ------------------------------------------------------------------ actions
    def submit(self, raw: dict, name: str | None = None) -> TrainingJob:
        """Queue a job for the config ``raw`` (plain data, as in a config file); InputError if invalid."""
        taken = {j.record.output for j in self._jobs.values()}
        return self._add(TrainingJob(new_record(raw, self.folder, self.runs_dir, taken, name)))

    def follow(self, events_path: str | Path, name: str | None = None) -> TrainingJob:
        """Follow a job started elsewhere (``torchrun`` on a cluster) through its events file."""
        path = Path(events_path).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"{path}: no such events file")
        for job in self._jobs.values():
            if job.record.external and job.record.events_path == str(path) and job.record.active:
                raise InputError(f"{path}: already followed as '{job.record.name}'")
        record = JobRecord(id=JobRecord.new_id(), name=name or path.parent.name or path.stem,
                           external=True, state="running", events_path=str(path), started=time.time())
        job = self._add(TrainingJob(record))
        self._after_poll(job, job.poll())
        return job

    def cancel(self, job_id: str) -> None:
        """Queued: dropped. Running here: SIGINT, SIGKILL later. Followed: no longer followed."""
        job = self._jobs[job_id]
        rec = job.record
        if rec.state == "queued":
            self._end(job, "cancelled", "cancelled before it started")
        elif rec.state == "running" and rec.external:
            self._end(job, "cancelled", "no longer followed (the job itself was not touched)")
        elif rec.state == "running" and job.stop_deadline is None:
            job.stop_deadline = time.monotonic() + self.stop_timeout_s
            rec.message = "stopping at the next step…"
            send_signal(rec.pid, rec.pid_start, signal.SIGINT)
            self.job_updated.emit(job_id)

    def resume(self, job_id: str) -> TrainingJob:
        job = self._jobs[job_id]
        if not job.resumable():
            raise InputError(f"{job.record.name}: nothing to resume (no last checkpoint of a "
                             "cancelled or failed job)")
        rec = job.record
        rec.resume_from, rec.state, rec.message, rec.ended = rec.last_checkpoint, "queued", "", None
        self._save()
        self.job_updated.emit(job_id)
        self._schedule()
        return job

    def remove(self, job_id: str) -> None:
        """Forget an ended job (its run outputs, the checkpoints, stay on disk)."""
        job = self._jobs[job_id]
        if job.record.active:
            raise InputError(f"{job.record.name}: cancel the job before removing it")
        del self._jobs[job_id]
        self.queue.removed.add(job_id)
        folder = Path(job.record.folder).resolve() if job.record.folder else None
        if folder is not None and folder.parent == self.folder.resolve():  # only a job folder of ours
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        self._save()
        self.jobs_changed.emit()

    def record_changed(self, job_id: str) -> None:
        """A job's record was changed from outside (e.g. its checkpoints were pulled): save, tell."""
        self._save()
        self.job_updated.emit(job_id)

    def shutdown(self, stop: bool, timeout_s: float | None = None) -> None:
        """Stop following. ``stop``: SIGINT the running jobs, wait, kill the late ones; else they
        keep running (and are followed again at the next start)."""
        self._timer.stop()
        self._sync_timer.stop()
        self.closed = True  # nothing queued starts from now on
        if stop:
            timeout = self.stop_timeout_s if timeout_s is None else timeout_s
            processes = [(j.record.pid, j.record.pid_start) for j in self.running()]
            for job in self.running():
                self.cancel(job.id)
                job.stop_deadline = time.monotonic() + timeout
            give_up = time.monotonic() + timeout + 10.0
            while time.monotonic() < give_up and (self.running() or any(process_alive(*p) for p in processes)):
                time.sleep(0.05)
                self.poll()
            for pid, start in processes:  # saved and reported, but still not gone
                send_signal(pid, start, signal.SIGKILL, group=True)
        self._save()

    def stop_all(self, timeout_s: float | None = None) -> None:
        """Stop every running job without blocking: SIGINT now (each saves a resumable
        checkpoint), SIGKILL to the late ones, ``all_stopped`` once none is left. Nothing
        queued starts any more. The event loop keeps running meanwhile."""
        self.closed = True
        timeout = self.stop_timeout_s if timeout_s is None else timeout_s
        self._stopping = [(j.record.pid, j.record.pid_start) for j in self.running()]
        for job in self.running():
            self.cancel(job.id)
            job.stop_deadline = time.monotonic() + timeout
        self._give_up = time.monotonic() + timeout + 10.0
        self._timer.start()
        self._check_stopped()

    def stopping(self) -> bool:
        return self._stopping is not None

    def _check_stopped(self) -> None:
        alive = [p for p in self._stopping if process_alive(*p)]
        if (self.running() or alive) and time.monotonic() < self._give_up:
            if not self._timer.isActive():
                self._timer.start()
            return
        for pid, start in alive:  # saved and reported, but still not gone
            send_signal(pid, start, signal.SIGKILL, group=True)
        self._stopping = None
        self._timer.stop()
        self._save()
        self.all_stopped.emit()

    # ------------------------------------------------------------------ the loop
    def poll(self) -> None:
        """Read new events of the jobs in flight; end those whose process is gone."""
        for job in [j for j in self._jobs.values() if j.record.state == "running"]:
            self._after_poll(job, job.poll())
        if not any(j.record.active for j in self._jobs.values()):
            self._timer.stop()
        if self._stopping is not None:
            self._check_stopped()

    def _after_poll(self, job: TrainingJob, changed: bool) -> None:
        rec = job.record
        if job.run_ended():  # its checkpoints are written; the process may take a moment to exit
            self._finish(job)
            return
        if rec.external or process_alive(rec.pid, rec.pid_start):
            if job.stop_deadline is not None and time.monotonic() > job.stop_deadline:
                job.killed = True
                send_signal(rec.pid, rec.pid_start, signal.SIGKILL, group=True)
            if changed:
                self.job_updated.emit(rec.id)
            return
        job.poll(final=True)
        self._finish(job)

    def _finish(self, job: TrainingJob) -> None:
        st, rec = job.state, job.record
        last = st.checkpoints.get("last")
        reason, error = (st.reason, st.error) if job.run_ended() else (None, None)
        if reason == "finished":
            rec.checkpoint = st.checkpoints.get("best") or last
            self._end(job, "done", f"finished: epoch {st.epoch}, step {st.step}/{st.total_steps}")
            if rec.checkpoint and Path(rec.checkpoint).is_file():
                self._emit(self.checkpoint_ready, rec.checkpoint)
            return
        resumable = f"; resumable from {last} (step {st.step})" if last else ""
        if reason == "interrupted":
            self._end(job, "cancelled", "interrupted" + resumable)
        elif job.stop_deadline is not None:
            why = KILLED_AFTER.format(timeout=self.stop_timeout_s) if job.killed else "stopped"
            self._end(job, "cancelled", why + resumable)
        elif error:
            self._end(job, "failed", error)
        else:
            tail = job.last_output_line()
            self._end(job, "failed", NO_FINAL_EVENT + (f": {tail}" if tail else "") + resumable)

    def _emit(self, signal_, *args) -> None:
        """Emit now, or once the caller is connected for what the start-up finds ended."""
        if self._restoring:
            QTimer.singleShot(0, lambda: signal_.emit(*args))
        else:
            signal_.emit(*args)

    def _end(self, job: TrainingJob, state: str, message: str) -> None:
        rec = job.record
        rec.state, rec.message, rec.ended, rec.pid = state, message, time.time(), None
        job.stop_deadline = None
        self._save()
        self._emit(self.job_updated, rec.id)
        self._emit(self.job_finished, rec.id, state)
        self._schedule()

    # ------------------------------------------------------------------ starting
    def _schedule(self) -> None:
        if self.closed or self._restoring:
            return
        while len(self.running()) < self.max_running:
            ready, impossible = startable([j.record for j in self._jobs.values()])  # `after` jobs done first
            if impossible:
                self._end(self._jobs[impossible[0][0].id], "failed", impossible[0][1])
                continue
            if not ready:
                break
            self._start(self._jobs[ready[0].id])
        if any(j.record.state == "running" for j in self._jobs.values()):
            self._timer.start()

    def _start(self, job: TrainingJob) -> None:
        with self.queue.file.lock():  # claimed here: `hpe queue start` may want it too
            self.sync(force=True)
            if job.record.state == "queued" and job.id in self._jobs:
                self._launch(job)

    def _launch(self, job: TrainingJob) -> None:
        rec = job.record
        args = ["train", "--resume", rec.resume_from] if rec.resume_from else ["train", rec.config_path]
        args += ["--events", rec.events_path]
        job.ensure_loaded()
        rec.finals_before = job.state.finals
        end_last_line(Path(rec.events_path))  # a killed run may have left half a line
        Path(rec.folder).mkdir(parents=True, exist_ok=True)
        started = launch_detached([*self.command, *args], Path(rec.log_path), Path(rec.folder), self._environment())
        if started is None:
            self._end(job, "failed", f"could not start {' '.join(self.command)}")
            return
        (rec.pid, rec.pid_start), rec.state, rec.message = started, "running", ""
        rec.started, rec.runs, rec.resume_from = time.time(), rec.runs + 1, None
        self._save()
        self.job_updated.emit(rec.id)

    def _environment(self) -> dict[str, str]:
        """Additions to the inherited environment."""
        root = str(Path(__file__).resolve().parents[2])  # so hpe_core imports from a source tree too
        old = os.environ.get("PYTHONPATH", "")
        return {"PYTHONPATH": root + (os.pathsep + old if old else ""), "PYTHONUNBUFFERED": "1", **self.env}

    def _output_for(self, output: str | None) -> Path:
        """An absolute output folder: relative ones go under :attr:`runs_dir`, never reused."""
        return output_for(output, self.runs_dir, {j.record.output for j in self._jobs.values()})

    # ------------------------------------------------------------------ history
    def _add(self, job: TrainingJob) -> TrainingJob:
        self._jobs[job.id] = job
        self._save()
        self.jobs_changed.emit()
        self._schedule()
        if job.record.state == "running":
            self._timer.start()
        return job

    def _save(self) -> None:
        """Write the jobs that changed, merged under the lock with what others wrote meanwhile."""
        try:
            merged = self.queue.save([j.record for j in self._jobs.values()])
        except (OSError, InputError) as exc:
            self.message.emit("warning", f"could not save the job history to {self.history_path}: {exc}")
            return
        self._adopt(merged)

    def sync(self, force: bool = False) -> None:
        """Take in what ``hpe queue`` (or another window) wrote since the last read."""
        if self._restoring or not (force or self.queue.changed()):
            return
        try:
            self._adopt(self.queue.load([j.record for j in self._jobs.values()]))
        except (OSError, InputError):
            pass

    def _adopt(self, records: list[JobRecord]) -> None:
        """Make ``records`` (the file's, merged) ours; tell what others added or ended."""
        added = False
        for record in records:
            job = self._jobs.get(record.id)
            if job is None:
                self._jobs[record.id], added = TrainingJob(record), True
            elif job.record is not record:
                was_active, job.record = job.record.active, record
                self._emit(self.job_updated, record.id)
                if was_active and not record.active:  # ended by `hpe queue`
                    self._emit(self.job_finished, record.id, record.state)
                    if record.state == "done" and record.checkpoint and Path(record.checkpoint).is_file():
                        self._emit(self.checkpoint_ready, record.checkpoint)
        if added:
            self._emit(self.jobs_changed)
            if any(r.state == "queued" for r in records):
                QTimer.singleShot(0, self._schedule)
        if any(r.state == "running" for r in records) and not self._timer.isActive() and not self.closed:
            self._timer.start()

    def _restore(self) -> None:
        from hpe_core.training.runs.queue import load_history

        records, warning = load_history(self.history_path)
        self._pending_warning = warning
        self._restoring = True
        for record in records:
            self._jobs[record.id] = TrainingJob(record)
        self.queue.mark_synced(records)
        for job in self._jobs.values():
            if job.record.state == "running":
                job.poll()
                if not job.record.external and not process_alive(job.record.pid, job.record.pid_start):
                    job.poll(final=True)
                    self._finish(job)
                    job.record.message += " (ended while HPE Studio was closed)"
        self._restoring = False
        self._save()
        QTimer.singleShot(0, self._schedule)  # queued jobs start once the caller is connected
        if any(j.record.state == "running" for j in self._jobs.values()):
            self._timer.start()

    def take_warning(self) -> str | None:
        """A problem met reading the history at start-up (once; :func:`connect_workspace` shows it)."""
        warning, self._pending_warning = self._pending_warning, None
        return warning
