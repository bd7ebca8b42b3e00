"""``hpe queue add CONFIG... | list | start [--slots N] | cancel ID``: the training panel's run queue
on the command line (the same file: :mod:`hpe_core.training.runs.queue`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit
from hpe_core.errors import InputError

DESCRIPTION = """\
The run queue the GUI's training panel shows, from the command line: the same file
(DATA_DIR/jobs/history.json; DATA_DIR is --data-dir, else $HPE_STUDIO_DATA_DIR, else the user's data
folder). Runs execute in the order they were added, N at a time; a failed run is marked and the
queue goes on. 'start' returns when nothing is queued or running; Ctrl-C leaves the running jobs
running (the next 'start', or the GUI, follows them)."""


def register(subparsers) -> None:
    p = subparsers.add_parser("queue", help="the run queue shared with the GUI: add, list, start, cancel",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, help="the folder of jobs/ and runs/ (default: as the GUI)")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="queue one run per CONFIG (a file or a preset name)")
    add.add_argument("configs", nargs="+", metavar="CONFIG")
    add.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a value of every config, e.g. --set train.epochs=3 (repeatable)")
    add.add_argument("--name", help="the job's name (default: its output folder's name)")
    sub.add_parser("list", help="every job: id, state, name, progress, message")
    start = sub.add_parser("start", help="run the queue until nothing is queued or running")
    start.add_argument("--slots", type=int, help="runs at a time (default: one per GPU, else one)")
    cancel = sub.add_parser("cancel", help="drop a queued job, or stop a running one (it saves a resumable checkpoint)")
    cancel.add_argument("ids", nargs="+", metavar="ID", help="a job id (or a unique start of one)")
    for action in (add, sub.choices["list"], start, cancel):
        add_json_flag(action)
    p.set_defaults(func=run)


def _paths(args) -> tuple[Path, Path]:
    from hpe_core.training.runs.queue import data_dir

    base = (args.data_dir or data_dir()).expanduser()
    return base / "jobs", base / "runs"


def run(args: argparse.Namespace) -> int:
    from hpe_core.training.runs.queue import QueueFile

    jobs, runs = _paths(args)
    queue = QueueFile(jobs / "history.json")
    return {"add": _add, "list": _list, "start": _start, "cancel": _cancel}[args.action](args, queue, runs)


def _add(args, queue, runs: Path) -> int:
    from hpe_core.commands.train import resolve_config_path
    from hpe_core.training.config_data import apply_overrides, read_mapping
    from hpe_core.training.runs.queue import new_record

    raws = []
    for name in args.configs:  # all checked before any is queued
        path = resolve_config_path(name)
        try:
            raws.append(_absolute_paths(apply_overrides(read_mapping(path), args.overrides)))
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
    added = []
    with queue.transaction() as records:
        for name, raw in zip(args.configs, raws):
            try:
                record = new_record(raw, queue.folder, runs, {r.output for r in records}, args.name)
            except InputError as exc:
                raise InputError(f"{name}: {exc}") from None
            records.append(record)
            added.append(record.to_dict())
    return emit(args, {"added": added}, lambda d: "\n".join(f"queued {r['id']}  {r['name']} -> {r['output']}"
                                                            for r in d["added"]))


def _absolute_paths(raw: dict) -> dict:
    """A job runs in its own folder: a relative dataset or checkpoint path that exists here is made absolute."""
    for section, key in (("data", "path"), ("data", "skip_list"), ("model", "init")):
        value = (raw.get(section) or {}).get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute() and Path(value).exists():
            raw[section][key] = str(Path(value).resolve())
    return raw


def _list(args, queue, runs: Path) -> int:
    return emit(args, {"jobs": [r.to_dict() for r in queue.read()]}, _table)


def _table(d: dict) -> str:
    if not d["jobs"]:
        return "the queue is empty"
    rows = [f"{'id':24} {'state':9} {'step':>11}  name / message"]
    for r in d["jobs"]:
        step = f"{r['step']}/{r['total_steps']}" if r["total_steps"] else "-"
        message = f"  ({r['message']})" if r["message"] else ""
        rows.append(f"{r['id']:24} {r['state']:9} {step:>11}  {r['name']}{message}")
    return "\n".join(rows)


def _start(args, queue, runs: Path) -> int:
    from hpe_core.progress import TerminalProgress
    from hpe_core.training.runs.runner import QueueRunner, default_slots

    if args.slots is not None and args.slots < 1:
        raise InputError(f"--slots {args.slots}: must be at least 1")
    gpus = default_slots() if args.slots is None else 0
    slots = args.slots or gpus
    runner = QueueRunner(queue, slots=slots, gpus=gpus if gpus > 1 else 0)
    bar = TerminalProgress("queue")
    try:
        records = runner.run(bar)
    finally:
        bar.close()
    ours = [r.to_dict() for r in records if r.id in runner.started]
    return emit(args, {"slots": slots, "ran": ours}, lambda d: "\n".join(
        [f"ran {len(d['ran'])} job(s), {d['slots']} at a time"]
        + [f"{r['state']:9} {r['id']}  {r['name']}" + (f"  ({r['message']})" if r["message"] else "")
           for r in d["ran"]]))


def _cancel(args, queue, runs: Path) -> int:
    import signal
    import time

    from hpe_core.training.runs.processes import send_signal

    done = []
    with queue.transaction() as records:
        for wanted in args.ids:
            match = [r for r in records if r.id.startswith(wanted)]
            if len(match) != 1:
                raise InputError(f"{wanted}: {'no' if not match else 'more than one'} job with this id")
            record = match[0]
            if record.state == "queued":
                record.state, record.message, record.ended = "cancelled", "cancelled before it started", time.time()
            elif record.state == "running" and not record.external:
                send_signal(record.pid, record.pid_start, signal.SIGINT)
                record.message = "stopping at the next step…"
            else:
                raise InputError(f"{record.id}: {record.state}; only a queued or running job can be cancelled")
            record.updated = time.time()
            done.append({"id": record.id, "state": record.state, "message": record.message})
    return emit(args, {"cancelled": done}, lambda d: "\n".join(f"{r['id']}: {r['message']}" for r in d["cancelled"]))
