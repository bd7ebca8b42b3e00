"""``hpe sweep CONFIG --param KEY=SPEC ... [--trials N] [--metric SPLIT/NAME] [--sampler grid|random|tpe]``,
``hpe sweep status DIR``: an Optuna study whose trials are training runs
(:mod:`hpe_core.training.runs.sweep`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit
from hpe_core.errors import InputError

DESCRIPTION = """\
Search hyper-parameters with Optuna: every trial is a training run of CONFIG (a file or a preset
name) with the trial's values, in OUT/trial-NNN/ (checkpoints and events.jsonl). The study lives in
OUT/study.db (SQLite) unless --storage gives another SQLAlchemy URL (e.g. postgresql://... for
workers on several machines). Running the same command again resumes the sweep (finished trials
are kept); a larger --trials continues it.

  --param optim.lr=log:1e-4..1e-1           float, log-uniform
  --param optim.momentum=0.8..0.99          float, uniform
  --param model.width=int:8..64             integer
  --param contrastive.temperature=0.05,0.1,0.2   listed values (a grid needs these)

  hpe sweep status OUT                      the trials, their values and the best one
  hpe sweep CONFIG ... --export-script slurm JOBDIR --workers 8
                                            a Slurm array of 8 workers sharing the study"""


def register(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="hyper-parameter sweeps on Optuna (grid, random, TPE)",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="+", metavar="CONFIG | status DIR",
                   help="the config of every trial; or 'status DIR' (or 'worker DIR', what each worker runs)")
    p.add_argument("--param", dest="params", action="append", default=[], metavar="KEY=SPEC",
                   help="a searched key (repeatable; see above)")
    p.add_argument("--trials", type=int, default=0, help="trials in all (default: the grid's size; required otherwise)")
    p.add_argument("--metric", default="val/loss", help="SPLIT/NAME the trial is scored by (default: %(default)s)")
    p.add_argument("--direction", default="minimize", choices=["minimize", "maximize"])
    p.add_argument("--sampler", default="tpe", choices=["grid", "random", "tpe"], help="(default: %(default)s)")
    p.add_argument("--prune", action="store_true", help="stop lagging trials early (median pruner on the "
                   "validation events)")
    p.add_argument("--storage", metavar="URL", help="the study's SQLAlchemy URL (default: sqlite in OUT)")
    p.add_argument("--out", type=Path, help="the sweep folder (default: runs/sweep-<config name>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of every trial's config (repeatable)")
    p.add_argument("--workers", type=int, default=1, help="worker processes sharing the study (default 1); "
                   "with --export-script: the Slurm array's size")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (worker I uses SEED+I)")
    p.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)  # 'worker DIR': which worker
    c = p.add_argument_group("cluster export", "--export-script slurm JOBDIR: write the sweep folder and an "
                             "sbatch array script instead of running")
    c.add_argument("--export-script", nargs=2, metavar=("slurm", "JOBDIR"))
    for flag, default, words in (("--time", "24:00:00", "each array task's time limit"),
                                 ("--partition", None, "Slurm partition"), ("--account", None, "Slurm account"),
                                 ("--python", "python3", "the cluster's Python with hpe-studio"),
                                 ("--setup", None, "a shell line run first"),
                                 ("--shared-path", None, "where JOBDIR is on the cluster (default: JOBDIR)")):
        c.add_argument(flag, default=default, help=f"{words} (default: {default})")
    c.add_argument("--gpus-per-node", type=int, default=1, help="GPUs of each array task (default 1; 0: CPU)")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hpe_core.training.runs import sweep

    first, rest = args.target[0], args.target[1:]
    if first in ("status", "worker") and len(rest) == 1:
        folder = Path(rest[0])
        if not (folder / sweep.SPEC_NAME).is_file():
            raise InputError(f"{folder}: not a sweep folder (no {sweep.SPEC_NAME})")
        if first == "worker":
            ran = sweep.work(folder, args.index)
            return emit(args, {"worker": args.index, "ran": ran},
                        lambda d: f"worker {d['worker']}: {d['ran']} trial(s)")
        return emit(args, sweep.status(folder), status_text)
    if rest:
        raise InputError(f"unexpected argument {rest[0]!r} (one CONFIG, or 'status DIR')")
    spec, folder = _spec(args, first)
    if args.export_script:
        from hpe_core.training.runs.sweep_export import export_sweep

        kind, jobdir = args.export_script
        job = export_sweep(spec, Path(jobdir), kind, args)
        return emit(args, job, lambda d: f"wrote {d['folder']}: sweep.json, {Path(d['script']).name}\n"
                    f"submit: {d['submit']}\nfollow: {d['follow']}")
    from hpe_core.progress import TerminalProgress

    bar = TerminalProgress("sweep")
    try:
        doc = sweep.run_sweep(spec, folder, args.workers, bar)
    finally:
        bar.close()
    return emit(args, doc, status_text)


def _spec(args, config_name: str):
    from hpe_core.commands.train import resolve_config_path
    from hpe_core.training.config_data import apply_overrides, read_mapping
    from hpe_core.training.runs.sweep import SweepSpec
    from hpe_core.training.runs.sweep_space import parse_param

    path = resolve_config_path(config_name)
    try:
        raw = apply_overrides(read_mapping(path), args.overrides)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    folder = args.out or Path("runs") / f"sweep-{path.stem}"
    spec = SweepSpec(config=raw, params=tuple(parse_param(p) for p in args.params), metric=args.metric,
                     direction=args.direction, trials=args.trials, sampler=args.sampler, storage=args.storage,
                     study_name=folder.name, seed=args.seed, prune=args.prune)
    return spec, folder


def status_text(d: dict) -> str:
    keys = [p["key"] for p in d["params"]]
    lines = [f"{d['folder']}: {d['sampler']} sweep, {d['metric']} ({d['direction']}), "
             f"{len(d['trials'])} trial(s) of {d['budget']}",
             f"{'#':>4} {'state':9} {'value':>12}  " + "  ".join(keys)]
    for t in d["trials"]:
        value = f"{t['value']:.5g}" if t["value"] is not None else "-"
        lines.append(f"{t['number']:>4} {t['state']:9} {value:>12}  "
                     + "  ".join(f"{t['params'].get(k, '-')}" for k in keys)
                     + (f"  ({t['error']})" if t["error"] else ""))
    if d["best"]:
        b = d["best"]
        lines.append(f"best: trial {b['number']}, {d['metric']} = {b['value']:.5g}, "
                     + ", ".join(f"{k}={v}" for k, v in b["params"].items()) + f"  ({b['run']})")
    return "\n".join(lines)
