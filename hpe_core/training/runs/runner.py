"""``hpe queue start``: run the queued jobs of a :class:`~.queue.QueueFile`, N at a time.

Each job is ``hpe train CONFIG --events FILE`` in its own session (it outlives the runner). A job
is claimed under the queue's lock (queued → running, with its pid), so the GUI and several
runners never start one twice. A job that fails is marked failed and the queue goes on. A job
found running whose process is gone (the runner or the GUI was killed meanwhile) is judged
from its events; one whose process still runs is followed until it ends.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from hpe_core.training.runs.processes import end_last_line, launch, process_alive
from hpe_core.training.runs.queue import NO_FINAL_EVENT, JobRecord, QueueFile, startable

FINAL = ("done", "error")


def hpe_command() -> list[str]:
    """``hpe`` as this interpreter runs it (also when the ``hpe`` script is not on PATH); in the
    packaged app (PyInstaller), the ``hpe`` program next to ``hpe-studio``."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).with_name("hpe"))]
    return [sys.executable, "-m", "hpe_core.cli"]


def run_outcome(record: JobRecord) -> tuple[str, str, dict]:
    """``(state, message, checkpoints)`` of a job whose process is gone, from the events of its
    current run (those after ``finals_before`` final events); its last position goes into ``record``."""
    finals, checkpoints, last = 0, {}, None
    try:
        with open(record.events_path, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if isinstance(event.get("step"), int) and isinstance(event.get("total_steps"), int):
            record.step, record.total_steps = event["step"], event["total_steps"]
        if event.get("type") == "checkpoint":
            checkpoints[str(event.get("kind"))] = str(event.get("path"))
        if event.get("type") in FINAL:
            finals += 1
            last = event if finals > record.finals_before else None
    if last is None:
        return "failed", NO_FINAL_EVENT, checkpoints
    if last["type"] == "error":
        return "failed", str(last.get("message", "error")), checkpoints
    if last.get("reason") == "finished":
        return "done", f"finished: epoch {last.get('epoch')}, step {last.get('step')}/{last.get('total_steps')}", \
            checkpoints
    return "cancelled", f"interrupted at step {last.get('step')}", checkpoints


def finish(record: JobRecord) -> None:
    """Mark a job whose process is gone as its events say."""
    state, message, checkpoints = run_outcome(record)
    record.state, record.message, record.ended, record.pid = state, message, time.time(), None
    record.last_checkpoint = checkpoints.get("last", record.last_checkpoint)
    if state == "done":
        record.checkpoint = checkpoints.get("best") or checkpoints.get("last")
    record.updated = time.time()


def start(record: JobRecord, command: list[str], env: dict[str, str]) -> None:
    """Launch a claimed job (queued → running) or mark it failed if it cannot start."""
    args = ["train", "--resume", record.resume_from] if record.resume_from else ["train", record.config_path]
    record.finals_before = _count_finals(Path(record.events_path))
    end_last_line(Path(record.events_path))  # a killed run may have left half a line
    started = launch([*command, *args, "--events", record.events_path], Path(record.log_path),
                     Path(record.folder), env)
    record.updated = time.time()
    if started is None:
        record.state, record.message, record.ended = "failed", f"could not start {' '.join(command)}", time.time()
        return
    (record.pid, record.pid_start), record.state, record.message = started, "running", ""
    record.started, record.runs, record.resume_from = time.time(), record.runs + 1, None


def _count_finals(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if '"type": "done"' in line or '"type": "error"' in line)


def default_slots() -> int:
    """One per GPU, else one."""
    try:
        import torch

        return max(torch.cuda.device_count(), 1)
    except Exception:  # noqa: BLE001 - no usable CUDA is "no GPU"
        return 1


class QueueRunner:
    """Runs the queue until nothing is queued or running (:meth:`run`), one :meth:`step` at a time."""

    def __init__(self, queue: QueueFile, slots: int = 1, command: list[str] | None = None,
                 env: dict[str, str] | None = None, gpus: int = 0) -> None:
        self.queue, self.slots, self.gpus = queue, slots, gpus
        self.command = list(command or hpe_command())
        self.env = dict(env or {})
        self.started: list[str] = []
        self.gpu_of: dict[str, int] = {}  # job id -> the GPU this runner gave it

    def step(self) -> bool:
        """End the jobs whose process is gone, start queued ones in free slots; True while any is active."""
        with self.queue.transaction() as records:
            running = [r for r in records if r.state == "running" and not r.external]
            for record in running:
                if not process_alive(record.pid, record.pid_start):
                    finish(record)
            running = [r for r in running if r.state == "running"]
            queued, impossible = startable(records)
            for record, why in impossible:
                record.state, record.message, record.ended, record.updated = "failed", why, time.time(), time.time()
            while queued and len(running) < self.slots:
                record = queued.pop(0)
                start(record, self.command, self._environment(record, running))
                self.started.append(record.id)
                if record.state == "running":
                    running.append(record)
            return bool(running) or bool(queued)  # jobs waiting on a running one: running is not empty

    def _environment(self, record: JobRecord, running: list[JobRecord]) -> dict[str, str]:
        root = str(Path(__file__).resolve().parents[3])  # so hpe_core imports from a source tree too
        old = os.environ.get("PYTHONPATH", "")
        env = {"PYTHONPATH": root + (os.pathsep + old if old else ""), "PYTHONUNBUFFERED": "1", **self.env}
        if self.gpus:  # one GPU per slot: the lowest one none of this runner's running jobs holds
            held = {self.gpu_of.get(r.id) for r in running}
            self.gpu_of[record.id] = min((g for g in range(self.gpus) if g not in held), default=0)
            env["CUDA_VISIBLE_DEVICES"] = str(self.gpu_of[record.id])
        return env

    def run(self, progress=None, poll_s: float = 0.2) -> list[JobRecord]:
        """Step until nothing is queued or running; the queue's records at the end. Interrupting the
        runner (Ctrl-C) leaves its jobs running: the next ``hpe queue start`` (or the GUI) follows them."""
        while self.step():
            if progress is not None:
                records = self.queue.read()
                done = sum(1 for r in records if not r.active)
                progress.set_progress(done / max(len(records), 1))
                progress.set_status(f"{done}/{len(records)} ended")
            time.sleep(poll_s)
        return self.queue.read()
