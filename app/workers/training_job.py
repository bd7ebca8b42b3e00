"""One training job as the GUI knows it: its history record plus what its events file says."""

from __future__ import annotations

from pathlib import Path

from app.model.training_record import FileTail, JobRecord, RunState, parse_line

REQUEUED = "requeued on the time limit at step {step}; waiting for it to resume"


class TrainingJob:
    """A record plus what its events say; read with :meth:`poll`."""

    def __init__(self, record: JobRecord) -> None:
        self.record = record
        self.state = RunState()
        self.tail = FileTail(record.events_path) if record.events_path else None
        self.stop_deadline: float | None = None  # monotonic time of the SIGKILL after a cancel
        self.killed = False
        self.loaded = False

    @property
    def id(self) -> str:
        return self.record.id

    def poll(self, final: bool = False) -> bool:
        """Apply the events appended since the last poll; True when any arrived."""
        if self.tail is None:
            return False
        resets = self.tail.resets
        lines = self.tail.read(final)
        if self.tail.resets != resets:  # the file was replaced: rebuild from its start
            self.state = RunState()
        for line in lines:
            event, why = parse_line(line)
            if event is not None:
                self.state.apply(event)
            elif why:
                self.state.note_bad_line(why)
        self.loaded = True
        self.record.step, self.record.total_steps = self.state.step, self.state.total_steps
        self.record.task = self.record.task or self.state.task  # a followed job says it in its start event
        if self.state.checkpoints.get("last"):
            self.record.last_checkpoint = self.state.checkpoints["last"]
        if self.record.external and lines:
            self.record.message = (REQUEUED.format(step=self.state.step) if self.state.waiting_requeue
                                   else "" if self.record.message.startswith(REQUEUED[:8]) else self.record.message)
        return bool(lines)

    def run_ended(self) -> bool:
        """Whether the current run (not an earlier one of a resumed job) sent its final event.

        A remote job stopped by its scheduler's time limit (SIGUSR1) and requeued has not ended."""
        requeued = self.state.requeues if self.record.external else 0
        return self.state.finals - requeued > self.record.finals_before

    def ensure_loaded(self) -> None:
        """Read a finished job's events once (its curves are rebuilt on demand)."""
        if not self.loaded:
            self.poll(final=True)

    def output(self, max_bytes: int = 64_000) -> str:
        """The end of the process's standard output and error (its log file)."""
        path = Path(self.record.log_path) if self.record.log_path else None
        if path is None or not path.is_file():
            return ""
        with open(path, "rb") as fh:
            fh.seek(max(path.stat().st_size - max_bytes, 0))
            return fh.read().decode("utf-8", errors="replace").strip()

    def log_text(self, max_bytes: int = 64_000) -> str:
        """What the job said: its events as text, then the end of its process output."""
        output = self.output(max_bytes)
        return "\n".join(self.state.messages + (["", "── process output ──", output] if output else []))

    def last_output_line(self) -> str:
        lines = [ln.strip() for ln in self.output(4000).splitlines() if ln.strip()]
        return lines[-1] if lines else ""

    def resumable(self) -> bool:
        path = self.record.last_checkpoint
        return (not self.record.external and self.record.state in ("cancelled", "failed")
                and bool(path) and Path(path).is_file())
