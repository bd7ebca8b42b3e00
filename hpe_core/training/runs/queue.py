"""The run queue: one JSON file shared by the GUI's training panel and ``hpe queue``.

The file (``<data dir>/jobs/history.json``, format ``hpe-studio-training-jobs``) lists every job:
queued → running → done | failed | cancelled. Each job has a folder of its own beside the file
(``config.json``, ``events.jsonl``, ``output.log``). Several processes read and change it (the GUI,
``hpe queue add``, ``hpe queue start``): every change is a read-modify-write under an exclusive
lock (``history.json.lock``, ``fcntl.flock``) and the write is atomic (:mod:`hpe_core.atomic`), so
a reader never sees half a file and no writer loses another's change. A record carries
``updated`` (the time of its last change): when two writers changed the same job, the later
change wins (:func:`merge_records`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterator

from hpe_core.atomic import atomic_write
from hpe_core.errors import InputError

STATES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")
HISTORY_FORMAT = "hpe-studio-training-jobs"
HISTORY_VERSION = 1
NO_FINAL_EVENT = "the process ended without a final event (killed, or it crashed)"


def data_dir() -> Path:
    """Where job folders (``jobs/``) and default run outputs (``runs/``) live: ``HPE_STUDIO_DATA_DIR``,
    else the user's data folder."""
    override = os.environ.get("HPE_STUDIO_DATA_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("hpe-studio", appauthor=False))


@dataclass
class JobRecord:
    """One job as the queue file keeps it. ``external``: followed, not started, by HPE Studio."""

    id: str
    name: str
    task: str = ""
    state: str = "queued"
    external: bool = False
    folder: str = ""  # the job's own folder: config, events, log
    config_path: str = ""
    events_path: str = ""
    log_path: str = ""
    output: str = ""  # the run's output folder (its checkpoints)
    pid: int | None = None
    pid_start: str | None = None  # the process's start tick (tells a reused pid apart)
    resume_from: str | None = None  # the checkpoint the next start continues from
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    message: str = ""
    checkpoint: str | None = None  # the checkpoint that joins the workspace when done
    last_checkpoint: str | None = None
    runs: int = 0  # starts, resumes included
    finals_before: int = 0  # final events in the events file when the current run was started
    step: int = 0  # the position last seen, for the list (the events file has the rest)
    total_steps: int = 0
    updated: float = 0.0  # when a writer last changed it (the later change wins a merge)
    after: list = field(default_factory=list)  # ids of the jobs that must be done before this one starts

    @staticmethod
    def new_id() -> str:
        return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "JobRecord":
        known = {f.name for f in fields(cls)}
        record = cls(**{k: v for k, v in raw.items() if k in known})
        if record.state not in STATES:
            raise InputError(f"job {record.id}: unknown state {record.state!r}")
        return record


def load_history(path: Path) -> tuple[list[JobRecord], str | None]:
    """The records of ``path`` and a warning (None when all is well); a bad file yields none."""
    if not path.is_file():
        return [], None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or raw.get("format") != HISTORY_FORMAT:
            raise InputError("not a training-jobs history file")
        if int(raw.get("version", 0)) > HISTORY_VERSION:
            return [], (f"{path}: made by a newer version of HPE Studio (version {raw['version']}); "
                        "its jobs are not shown")
        return [JobRecord.from_dict(r) for r in raw.get("jobs", [])], None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return [], f"{path}: the job history could not be read ({exc}); starting with an empty one"


def save_history(path: Path, records: list[JobRecord]) -> None:
    """Write the history atomically (a temporary file in the same folder, then ``os.replace``)."""
    payload = {"format": HISTORY_FORMAT, "version": HISTORY_VERSION,
               "jobs": [r.to_dict() for r in records]}
    atomic_write(path, json.dumps(payload, indent=1))


def merge_records(mine: list[JobRecord], theirs: list[JobRecord], removed: set[str] = frozenset()
                  ) -> list[JobRecord]:
    """One list from a writer's records and the file's: per id the later ``updated`` wins; ids only
    in the file are kept unless ``removed``; the order is the file's, then new ones."""
    own = {r.id: r for r in mine}
    out = []
    for record in theirs:
        if record.id in removed:
            continue
        ours = own.pop(record.id, None)
        out.append(record if ours is None or record.updated > ours.updated else ours)
    return out + list(own.values())


class QueueFile:
    """The queue file at ``path`` with its lock; :meth:`lock` is re-entrant within one object."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._depth = 0
        self._fd: int | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the exclusive lock (blocks while another process holds it)."""
        import fcntl

        if self._depth == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                os.close(self._fd)  # closing releases the lock
                self._fd = None

    def read(self) -> list[JobRecord]:
        records, warning = load_history(self.path)
        if warning and self.path.is_file():
            raise InputError(warning)
        return records

    def write(self, records: list[JobRecord]) -> None:
        save_history(self.path, records)

    @contextmanager
    def transaction(self) -> Iterator[list[JobRecord]]:
        """The records, to change in place (stamp what you change with ``updated``); written at the end."""
        with self.lock():
            records = self.read()
            yield records
            self.write(records)

    def stamp(self) -> tuple[int, int] | None:
        """``(mtime_ns, size)`` of the file, to tell cheaply that someone wrote it."""
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size


def startable(records: list[JobRecord]) -> tuple[list[JobRecord], list[tuple[JobRecord, str]]]:
    """``(ready, impossible)``: the queued jobs whose ``after`` jobs are all done, oldest first, and
    the queued jobs one of whose ``after`` jobs failed, was cancelled or is gone, with why."""
    by_id = {r.id: r for r in records}
    ready, impossible = [], []
    for record in sorted((r for r in records if r.state == "queued"), key=lambda r: r.created):
        needed = [by_id.get(dep) for dep in record.after]
        gone = [dep for dep, other in zip(record.after, needed)
                if other is None or other.state in ("failed", "cancelled")]
        if gone:
            other = by_id.get(gone[0])
            impossible.append((record, f"it needs {other.name if other else gone[0]} done first, which "
                                       f"{other.state if other else 'is no longer in the queue'}"))
        elif all(other.state == "done" for other in needed):
            ready.append(record)
    return ready, impossible


def output_for(output: str | None, runs_dir: Path, taken: set[str]) -> Path:
    """An absolute output folder: relative ones go under ``runs_dir``; never one ``taken`` or
    holding checkpoints (``name-2``, ``name-3``, ... instead)."""
    path = Path(output or "train").expanduser()
    if not path.is_absolute():
        parts = path.parts[1:] if path.parts[:1] == ("runs",) and len(path.parts) > 1 else path.parts
        path = runs_dir.joinpath(*(parts or ("train",)))
    candidate, n = path, 1
    while str(candidate) in taken or any(candidate.glob("*.pt")):
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def new_record(raw: dict, jobs_dir: Path, runs_dir: Path, taken: set[str], name: str | None = None) -> JobRecord:
    """A queued job for the config ``raw`` (plain data): checked (not its paths: they are checked
    when it runs, when an earlier run may have made them), its folder made and its config written."""
    from hpe_core.training.config import config_from_dict, validate

    raw = dict(raw, train=dict(raw.get("train") or {}))
    raw["train"]["output"] = str(output_for(raw["train"].get("output"), runs_dir, taken))
    config = validate(config_from_dict(raw))
    record = JobRecord(id=JobRecord.new_id(), name=name or Path(config.train.output).name,
                       task=config.task, output=config.train.output, updated=time.time())
    folder = jobs_dir / record.id
    record.folder = str(folder)
    record.config_path, record.events_path = str(folder / "config.json"), str(folder / "events.jsonl")
    record.log_path = str(folder / "output.log")
    atomic_write(Path(record.config_path), json.dumps(config.to_dict(), indent=1))
    return record


class SharedQueue:
    """A long-lived writer's view of the queue file (the GUI's): it remembers each record as last
    read or written, so a save stamps only what this writer changed and merges with the rest."""

    def __init__(self, path: str | Path) -> None:
        self.file = QueueFile(path)
        self.synced: dict[str, dict] = {}
        self.removed: set[str] = set()
        self._stamp: tuple[int, int] | None = None

    def mark_synced(self, records: list[JobRecord]) -> None:
        for record in records:
            self.synced[record.id] = record.to_dict()

    def save(self, records: list[JobRecord]) -> list[JobRecord]:
        """Stamp the records changed since the last sync, merge them with the file under its lock,
        write; the merged list (records another writer changed later are theirs)."""
        now = time.time()
        for record in records:
            if record.to_dict() != self.synced.get(record.id):
                record.updated = now
        with self.file.lock():
            try:
                theirs = self.file.read()
            except InputError:  # unreadable (the writer was told at its start): replaced, as before
                theirs = []
            merged = merge_records(records, theirs, self.removed)
            self.file.write(merged)
            self._stamp = self.file.stamp()
        self.mark_synced(merged)
        return merged

    def changed(self) -> bool:
        """Whether someone wrote the file since this view last read or wrote it."""
        return self.file.stamp() != self._stamp

    def load(self, records: list[JobRecord]) -> list[JobRecord]:
        """``records`` merged with the file as it is now (InputError if it cannot be read)."""
        with self.file.lock():
            self._stamp = self.file.stamp()
            merged = merge_records(records, self.file.read(), self.removed)
        self.mark_synced(merged)
        return merged
