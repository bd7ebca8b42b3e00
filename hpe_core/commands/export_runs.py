"""``hpe export-runs RUN... --to tensorboard|mlflow``: finished runs' events into a tracker."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit
from hpe_core.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-runs", help="write finished runs' events as TensorBoard event files or MLflow runs",
        description="Replay each RUN's events (an events.jsonl, or a folder holding one: a sweep trial, a "
        "queued job's folder) into TensorBoard (RUN/tensorboard, or --out) or MLflow (--tracking-uri, "
        "default a SQLite store beside the run: RUN/../mlflow.db). Needs the extra: pip install "
        "'hpe-studio[tensorboard]' or 'hpe-studio[mlflow]'.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="events files or folders holding events.jsonl")
    p.add_argument("--to", required=True, choices=["tensorboard", "mlflow"])
    p.add_argument("--tracking-uri", metavar="URI", help="MLflow's tracking URI (default: sqlite beside each run)")
    p.add_argument("--out", type=Path, help="TensorBoard: the log folder (one run only; default RUN/tensorboard)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _events_file(run: str) -> Path:
    path = Path(run).expanduser()
    if path.is_dir():
        path = path / "events.jsonl"
    if not path.is_file():
        raise InputError(f"{run}: no such events file (nor a folder holding events.jsonl)")
    return path


def run(args: argparse.Namespace) -> int:
    from hpe_core.training.runs.trackers import export_run, require

    require(args.to)
    if args.out and len(args.runs) > 1:
        raise InputError("--out: give one RUN with it (each run gets its own TensorBoard folder)")
    files = [_events_file(r) for r in args.runs]  # all checked before any is written
    done = [export_run(path, args.to, args.tracking_uri, args.out) for path in files]
    return emit(args, {"exported": done}, lambda d: "\n".join(
        f"{e['events']}: {e['scalars']} scalars -> {e['to']} {e['where']}" for e in d["exported"]))
