"""``hpe train CONFIG [--resume CKPT] [--events FILE|-] [--set KEY=VALUE ...]``.

CONFIG is a YAML/JSON file or the name of a preset in ``resources/presets`` (``simclr_cpu``).
The same command runs under ``torchrun --nproc_per_node=K`` (DistributedDataParallel; only
rank 0 writes events and checkpoints). SIGINT/SIGTERM/SIGUSR1 stop at the next step, save a
resumable ``last.pt`` and exit 0; a second SIGINT aborts at once.

``--export-script slurm|torchrun DIR`` runs nothing: it writes a job folder for a cluster
(:mod:`hpe_core.training.cluster`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hpe_core.commands._common import add_json_flag, emit
from hpe_core.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train SimCLR / SimSiam encoders or 3D regression heads",
        description="Train as CONFIG says (a YAML/JSON file or a preset name, see --list-presets), "
        "streaming JSON-lines events. Exit status 0 when finished or interrupted (SIGINT saves a "
        "resumable last.pt), 2 for bad input or a NaN loss. Several processes: "
        "torchrun --nproc_per_node=2 -m hpe_core.cli train CONFIG.")
    p.add_argument("config", nargs="?", help="config file or preset name (optional with --resume)")
    p.add_argument("--resume", metavar="CKPT", help="continue the run saved in CKPT (its last.pt), writing into "
                   "CKPT's folder (or --output)")
    p.add_argument("--events", metavar="FILE|-", help="write JSON-lines events to FILE (appended) or stdout")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=3 (repeatable)")
    p.add_argument("--output", metavar="DIR", help="output folder (same as --set train.output=DIR)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps (same as --set train.device=...)")
    p.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    c = p.add_argument_group("cluster export", "with --export-script KIND DIR: write a job folder (config, "
                             "script, README) instead of training")
    c.add_argument("--export-script", nargs=2, metavar=("slurm|torchrun", "DIR"),
                   help="write a ready job folder DIR for sbatch (Slurm, requeued on its time limit) or torchrun")
    c.add_argument("--nodes", type=int, default=1, help="nodes (default 1)")
    c.add_argument("--gpus-per-node", type=int, default=1,
                   help="GPUs, i.e. processes, per node (default 1; 0: CPU nodes, gloo)")
    c.add_argument("--time", default="24:00:00", help="Slurm time limit (default 24:00:00)")
    c.add_argument("--partition", help="Slurm partition")
    c.add_argument("--account", help="Slurm account")
    c.add_argument("--shared-path", metavar="PATH",
                   help="where DIR is on the cluster (default: DIR itself); events and checkpoints go there")
    c.add_argument("--job-name", help="Slurm job name (default hpe-TASK)")
    c.add_argument("--cpus-per-task", type=int, help="CPUs per node task")
    c.add_argument("--requeue-grace", type=int, default=300, metavar="SECONDS",
                   help="SIGUSR1 (save, requeue) this long before the time limit (default 300)")
    c.add_argument("--python", default="python3", help="the cluster's Python with hpe-studio (default python3)")
    c.add_argument("--setup", metavar="LINE", help="a shell line run first, e.g. 'module load cuda'")
    c.add_argument("--sbatch-option", dest="sbatch_options", action="append", default=[], metavar="OPT",
                   help="one more #SBATCH option, e.g. --qos=long (repeatable)")
    add_json_flag(p)
    p.set_defaults(func=run)


def presets_dir() -> Path:
    from hpe_core import resources_dir

    return resources_dir() / "presets"


def resolve_config_path(name: str) -> Path:
    """A file path, or ``resources/presets/<name>.yaml``."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    preset = presets_dir() / f"{name}.yaml"
    if preset.is_file() and os.sep not in name:
        return preset
    names = ", ".join(sorted(p.stem for p in presets_dir().glob("*.yaml")))
    raise InputError(f"{name}: no such config file or preset (presets: {names})")


def load_run_config(args: argparse.Namespace):
    from hpe_core.training.config import config_from_dict, load_config
    from hpe_core.training.config_data import apply_overrides

    overrides = list(args.overrides)
    if args.output:
        overrides.append(f"train.output={args.output}")
    if args.resume:  # where the resumed file is, or --output: never the folder recorded in the file
        from hpe_core.training.checkpoints import resume_output

        given = [o.partition("=")[2] for o in overrides if o.partition("=")[0].strip() == "train.output"]
        out = resume_output(args.resume, given[-1] if given else None)
        overrides.append(f"train.output={json.dumps(str(out))}")  # quoted: a folder named 2024 stays a name
    if args.device:
        overrides.append(f"train.device={args.device}")
    if args.config:
        return load_config(resolve_config_path(args.config), overrides)
    if not args.resume:
        raise InputError("give a CONFIG file or preset name (or --resume CKPT)")
    from hpe_core.training.checkpoints import ResumePoint

    stored = ResumePoint(args.resume).config.to_dict()
    return config_from_dict(apply_overrides(stored, overrides))


def run(args: argparse.Namespace) -> int:
    if args.list_presets:
        return emit(args, {"presets": sorted(p.stem for p in presets_dir().glob("*.yaml"))},
                    lambda d: "\n".join(d["presets"]))
    if args.export_script:
        return export(args)
    if args.json and args.events == "-":
        raise InputError("--json and --events - both write to stdout; use one of them")
    main_rank = os.environ.get("RANK", "0") == "0"
    result = _train(args, main_rank)
    if not main_rank:
        return 0
    payload = {"reason": result.reason, "epoch": result.epoch, "step": result.step,
               "total_steps": result.total_steps, "best": result.best, "final": result.final,
               "last_checkpoint": result.last_checkpoint, "best_checkpoint": result.best_checkpoint}
    if args.events == "-":
        sys.stderr.write(_text(payload) + "\n")
        return 0
    return emit(args, payload, _text)


def _train(args: argparse.Namespace, main_rank: bool):
    """Check the config, then train; every failure becomes an ``error`` event (then re-raised)."""
    from hpe_core.progress import terminal_progress
    from hpe_core.training.config import check_paths, validate
    from hpe_core.training.events import EventWriter

    writer = EventWriter(args.events, enabled=main_rank, on_event=_print_alarm)
    with terminal_progress("train", stream=sys.stderr, enabled=main_rank) as bar:
        try:
            config = check_paths(validate(load_run_config(args)))  # before torch loads: bad input fails fast
            from hpe_core.training.loop import run_training
            from hpe_core.training.state import StopFlag, stop_on_signals

            with stop_on_signals(StopFlag()) as flag:
                return run_training(config, bar, writer, args.resume, flag)
        except InputError as exc:
            _emit_error(writer, str(exc), 2)
            raise
        except KeyboardInterrupt:
            _emit_error(writer, "interrupted at once (second SIGINT); nothing saved", 130)
            raise
        except OSError as exc:  # a full disk or a read-only folder is the machine's state (exit 2), not a bug
            from hpe_core.errors import is_environment_error, os_error_cause

            known = is_environment_error(exc)
            _emit_error(writer, f"{exc.filename or 'writing'}: {os_error_cause(exc)}" if known else
                        f"internal error: {type(exc).__name__}: {exc}", 2 if known else 1)
            raise
        except Exception as exc:
            _emit_error(writer, f"internal error: {type(exc).__name__}: {exc}", 1)
            raise
        finally:
            try:
                writer.close()
            except OSError:
                pass


def _emit_error(writer, message: str, status: int) -> None:
    """The ``error`` event, if the events file can still be written (on a full disk it cannot:
    the message then reaches the user on stderr only)."""
    try:
        writer.emit("error", message=message, exit_status=status)
    except OSError:
        pass


def _print_alarm(event: dict) -> None:
    """A health alarm (hpe_core.analysis.health_alarms) on its own line of stderr, as it is raised."""
    if event["type"] == "log" and event.get("alarm"):
        sys.stderr.write(f"\nALARM {event['message']}\n")
        sys.stderr.flush()


def export(args: argparse.Namespace) -> int:
    """``--export-script KIND DIR``: write the job folder, print where and the two commands."""
    from hpe_core.training.cluster import ClusterOptions, export_job
    from hpe_core.training.config import validate

    kind, folder = args.export_script
    if args.resume or args.events:
        raise InputError("--export-script: --resume and --events do not apply (the job folder's script "
                         "resumes by itself and writes its own events file)")
    options = ClusterOptions(kind=kind, nodes=args.nodes, gpus_per_node=args.gpus_per_node, time=args.time,
                             partition=args.partition, account=args.account, shared_path=args.shared_path,
                             job_name=args.job_name, cpus_per_task=args.cpus_per_task,
                             requeue_grace_s=args.requeue_grace, python=args.python, setup=args.setup,
                             extra_sbatch=tuple(args.sbatch_options))
    config = validate(load_run_config(args))  # paths are the cluster's: not checked here
    job = export_job(config, folder, options)
    return emit(args, job.to_dict(), lambda d: f"wrote {d['folder']}: {Path(d['config']).name}, "
                f"{Path(d['script']).name}, README.md\nsubmit: {d['submit']}\nfollow: {d['follow']}")


def _text(d: dict) -> str:
    lines = [f"{d['reason']}: epoch {d['epoch']}, step {d['step']}/{d['total_steps']}"]
    if d.get("best"):
        b = d["best"]
        lines.append(f"best validation {b['metric']}: {b['value']:.4g} (epoch {b['epoch'] + 1})")
    test = (d.get("final") or {}).get("test")
    if test:
        base = d["final"].get("baseline_test", {})
        lines.append("test: " + ", ".join(f"{k} {v:.1f}" for k, v in test.items() if k != "loss")
                     + (f" (mean-pose baseline PA-MPJPE {base['pa_mpjpe']:.1f})" if base else ""))
    lines.append(f"last checkpoint: {d['last_checkpoint']}")
    if d.get("best_checkpoint"):
        lines.append(f"best checkpoint: {d['best_checkpoint']}")
    return "\n".join(lines)
