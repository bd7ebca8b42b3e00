"""The cluster bridge: a ready job folder for ``sbatch`` (Slurm) or a plain ``torchrun`` machine.

:func:`export_job` writes, into one folder:

- ``config.yaml``: the resolved config (``train.output`` on the shared path);
- ``job.sbatch`` (Slurm) or ``run.sh`` (torchrun): ``torchrun`` over N nodes x G processes
  (nccl on GPUs, gloo on CPUs), writing ``events.jsonl`` and ``checkpoints/`` on the shared path;
- ``README.md``: the command that submits it and the one that follows it.

Requeue on the time limit (Slurm): ``#SBATCH --signal=B:USR1@GRACE`` sends SIGUSR1 to the batch
shell GRACE seconds before the limit; its trap passes SIGUSR1 to ``srun`` → ``torchrun`` → the
training processes, which stop at the next step boundary and save a resumable ``last.pt``
(:func:`hpe_core.training.state.stop_on_signals`); the script then calls ``scontrol requeue``.
Every start passes ``--resume`` when ``checkpoints/last.pt`` exists, so the requeued job
continues where it stopped. The events file is appended to by every run, so a follower (the
GUI's training panel) sees one job; a ``done`` event whose ``summary.signal`` is ``SIGUSR1``
says "requeued, more to come".

:func:`locate_checkpoints` maps the checkpoint paths of a (remote) events file onto a local copy
of the job folder, and :func:`pull_checkpoints` copies them into a local folder.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hpe_core.atomic import atomic_write
from hpe_core.errors import InputError

KINDS = ("slurm", "torchrun")
EVENTS_NAME = "events.jsonl"
CHECKPOINTS_NAME = "checkpoints"
CONFIG_NAME = "config.yaml"
SCRIPT_NAMES = {"slurm": "job.sbatch", "torchrun": "run.sh"}
REQUEUE_SIGNAL = "SIGUSR1"
#: The signals torchrun passes on to the training processes (its default list, plus SIGUSR1).
FORWARDED_SIGNALS = "SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1"
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_WORD = re.compile(r"^[^\s'\"`$\\;&|<>()]+$")
_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


@dataclass(frozen=True)
class ClusterOptions:
    """How the job runs. ``shared_path``: where the job folder is on the cluster (default: the
    folder written here, for a file system both see)."""

    kind: str = "slurm"
    nodes: int = 1
    gpus_per_node: int = 1  # processes per node; 0: CPU nodes, one process each (gloo)
    time: str = "24:00:00"  # Slurm time limit: MM, HH:MM:SS or D-HH:MM:SS
    partition: str | None = None
    account: str | None = None
    shared_path: str | None = None
    job_name: str | None = None
    cpus_per_task: int | None = None
    requeue_grace_s: int = 300  # SIGUSR1 this long before the time limit
    python: str = "python3"  # the cluster's interpreter with hpe-studio installed
    setup: str | None = None  # a shell line run first, e.g. "source ~/venvs/hpe/bin/activate"
    extra_sbatch: tuple[str, ...] = field(default_factory=tuple)  # more "#SBATCH" options, e.g. "--qos=long"


@dataclass(frozen=True)
class ExportedJob:
    folder: Path
    config: Path
    script: Path
    readme: Path
    shared_path: str
    submit: str  # the command that starts it
    follow: str  # the command that follows it

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "config": str(self.config), "script": str(self.script),
                "readme": str(self.readme), "shared_path": self.shared_path, "submit": self.submit,
                "follow": self.follow}


def time_limit_seconds(text: str) -> int:
    """Seconds of a Slurm time limit (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``)."""
    m = _TIME.match(text.strip())
    if not m:
        raise InputError(f"--time {text!r}: expected MINUTES, HH:MM:SS or D-HH:MM:SS")
    days, a, b, c = (int(g) if g is not None else None for g in m.groups())
    if days is not None:  # D-HH[:MM[:SS]]
        return days * 86400 + a * 3600 + (b or 0) * 60 + (c or 0)
    if b is None:
        return a * 60
    if c is None:
        return a * 60 + b
    return a * 3600 + b * 60 + c


def check_options(options: ClusterOptions) -> ClusterOptions:
    o = options
    if o.kind not in KINDS:
        raise InputError(f"--export-script {o.kind!r}: expected one of {', '.join(KINDS)}")
    if o.nodes < 1:
        raise InputError(f"--nodes: must be at least 1, got {o.nodes}")
    if o.gpus_per_node < 0:
        raise InputError(f"--gpus-per-node: must be 0 or more, got {o.gpus_per_node}")
    if o.cpus_per_task is not None and o.cpus_per_task < 1:
        raise InputError(f"--cpus-per-task: must be at least 1, got {o.cpus_per_task}")
    for key, value in (("--partition", o.partition), ("--account", o.account), ("--job-name", o.job_name)):
        if value is not None and not _NAME.match(value):
            raise InputError(f"{key} {value!r}: only letters, digits and _.+- are allowed")
    limit = time_limit_seconds(o.time)
    if o.kind == "slurm" and not 0 < o.requeue_grace_s < limit:
        raise InputError(f"--requeue-grace {o.requeue_grace_s}: must be between 0 and the time limit "
                         f"({limit} s)")
    if o.shared_path is not None and not o.shared_path.startswith("/"):
        raise InputError(f"--shared-path {o.shared_path!r}: must be an absolute path on the cluster")
    if not _WORD.match(o.python):
        raise InputError(f"--python {o.python!r}: expected one command or path (no spaces or quotes)")
    if o.setup is not None and "\n" in o.setup:
        raise InputError("--setup: expected one shell line")
    for item in o.extra_sbatch:
        if not item.startswith("--") or "\n" in item:
            raise InputError(f"--sbatch-option {item!r}: expected one option like --qos=long")
    return o


def processes_per_node(options: ClusterOptions) -> int:
    return max(options.gpus_per_node, 1)


def export_job(config, folder: str | Path, options: ClusterOptions) -> ExportedJob:
    """Write the job folder for ``config`` (a checked :class:`~hpe_core.training.config.Config`)."""
    import yaml

    from hpe_core.training.config import validate

    o = check_options(options)
    folder = Path(folder).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--export-script {folder}: exists and is not a folder")
    for used in (EVENTS_NAME, CHECKPOINTS_NAME):
        if (folder / used).exists():
            raise InputError(f"--export-script {folder}: already holds a job's {used}; choose a new folder")
    shared = (o.shared_path or str(folder)).rstrip("/") or "/"
    world = o.nodes * processes_per_node(o)
    if config.train.batch_size % world:
        raise InputError(f"train.batch_size: {config.train.batch_size} is not divisible by the {world} "
                         f"processes ({o.nodes} node(s) x {processes_per_node(o)})")
    config = validate(config.replace(train=_replace(config.train, output=f"{shared}/{CHECKPOINTS_NAME}")))
    name = o.job_name or f"hpe-{config.task}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--export-script {folder}: cannot create the folder ({exc.strerror})") from None
    header = (f"# HPE Studio {config.task} job, exported for {o.kind} ({o.nodes} node(s) x "
              f"{processes_per_node(o)} process(es)). 'hpe train' runs it as it is.\n")
    config_path = atomic_write(folder / CONFIG_NAME, header + yaml.safe_dump(config.to_dict(), sort_keys=False))
    script = folder / SCRIPT_NAMES[o.kind]
    text = slurm_script(o, shared, name) if o.kind == "slurm" else torchrun_script(o, shared)
    atomic_write(script, text)
    script.chmod(0o755)
    submit = f"sbatch {shared}/{script.name}" if o.kind == "slurm" else f"bash {shared}/{script.name}"
    follow = f"tail -f {shared}/{EVENTS_NAME}"
    readme = atomic_write(folder / "README.md", _readme(o, shared, name, script.name, submit, follow, config))
    return ExportedJob(folder, config_path, script, readme, shared, submit, follow)


def _replace(section, **changes):
    import dataclasses

    return dataclasses.replace(section, **changes)


# ----------------------------------------------------------------------------- scripts
def _common_lines(o: ClusterOptions, shared: str) -> list[str]:
    lines = ["set -uo pipefail", ""]
    if o.setup:
        lines += ["# environment setup (--setup)", o.setup, ""]
    lines += [
        f'JOB_DIR="${{HPE_JOB_DIR:-{shared}}}"',
        f'PYTHON="${{HPE_PYTHON:-{o.python}}}"',
        f'EVENTS="$JOB_DIR/{EVENTS_NAME}"',
        f'CKPT_DIR="$JOB_DIR/{CHECKPOINTS_NAME}"',
        'mkdir -p "$CKPT_DIR"',
        f'TRAIN=(-m hpe_core.cli train "$JOB_DIR/{CONFIG_NAME}" --output "$CKPT_DIR" --events "$EVENTS")',
        'if [ -f "$CKPT_DIR/last.pt" ]; then',
        '    TRAIN+=(--resume "$CKPT_DIR/last.pt")  # a requeued (or re-run) job continues',
        '    echo "resuming from $CKPT_DIR/last.pt"',
        'fi',
        "",
    ]
    return lines


def _sbatch_lines(o: ClusterOptions, shared: str, name: str) -> list[str]:
    """The ``#SBATCH`` header: resources, the output file, requeue on SIGUSR1 before the time limit."""
    optional = {"gpus-per-node": o.gpus_per_node, "cpus-per-task": o.cpus_per_task}
    sb = [f"#SBATCH --job-name={name}", f"#SBATCH --nodes={o.nodes}", "#SBATCH --ntasks-per-node=1"]
    sb += [f"#SBATCH --{key}={value}" for key, value in optional.items() if value]
    sb.append(f"#SBATCH --time={o.time}")
    sb += [f"#SBATCH --{key}={value}" for key, value in (("partition", o.partition), ("account", o.account))
           if value]
    sb += [f"#SBATCH --output={shared}/slurm-%j.out", "#SBATCH --open-mode=append", "#SBATCH --requeue",
           f"#SBATCH --signal=B:USR1@{o.requeue_grace_s}"]
    return sb + [f"#SBATCH {item}" for item in o.extra_sbatch]


def slurm_script(o: ClusterOptions, shared: str, name: str) -> str:
    procs = processes_per_node(o)
    grace = o.requeue_grace_s
    shutdown = max(10, grace * 2 // 3)
    lines = ["#!/bin/bash", *_sbatch_lines(o, shared, name), "",
             "# torchrun on every node (one srun task per node); rank 0 writes the events and the checkpoints.",
             f"# {grace} s before the time limit Slurm sends SIGUSR1 to this shell: the training stops at the",
             "# next step, saves a resumable last.pt, and the job is requeued; the next start resumes it.",
             *_common_lines(o, shared),
             'MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"',
             'MASTER_PORT="${MASTER_PORT:-$((29500 + SLURM_JOB_ID % 1000))}"',
             'echo "job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $SLURM_JOB_NODELIST; '
             'rendezvous $MASTER_ADDR:$MASTER_PORT"',
             "",
             'REQUEUE=0 SRUN_PID=""',
             "on_time_limit() {",
             '    echo "time limit near: stopping at the next step (a resumable last.pt is saved), then requeue"',
             "    REQUEUE=1",
             '    [ -n "$SRUN_PID" ] && kill -USR1 "$SRUN_PID" 2>/dev/null || true',
             "}",
             "trap on_time_limit USR1",
             "",
             'srun --ntasks-per-node=1 --kill-on-bad-exit=1 "$PYTHON" -m torch.distributed.run \\',
             f'    --nnodes="$SLURM_NNODES" --nproc-per-node={procs} \\',
             '    --rdzv-backend=c10d --rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT" --rdzv-id="$SLURM_JOB_ID" \\',
             f'    --signals-to-handle={FORWARDED_SIGNALS} --shutdown-timeout={shutdown} \\',
             '    "${TRAIN[@]}" &',
             "SRUN_PID=$!",
             *_requeue_lines()]
    return "\n".join(lines)


def _requeue_lines() -> list[str]:
    """After srun started: wait for it, then requeue the job if the time limit stopped it."""
    return ["# wait returns early when a trapped signal arrives: wait again until srun has ended (torchrun",
            "# reports the forwarded SIGUSR1 with a SignalException traceback; that is expected)",
            'while :; do wait "$SRUN_PID"; STATUS=$?; kill -0 "$SRUN_PID" 2>/dev/null || break; done',
            "",
            "# (not when the run finished just as the signal came: its last event says so)",
            'if [ "$REQUEUE" = 1 ] && ! tail -n 1 "$EVENTS" 2>/dev/null | grep -q \'"reason": "finished"\'; then',
            '    echo "requeueing job $SLURM_JOB_ID"',
            '    scontrol requeue "$SLURM_JOB_ID"',
            "    exit 0",
            "fi",
            'exit "$STATUS"',
            ""]


def torchrun_script(o: ClusterOptions, shared: str) -> str:
    procs = processes_per_node(o)
    lines = ["#!/usr/bin/env bash",
             f"# torchrun over {o.nodes} node(s) x {procs} process(es), no scheduler. Run this script on every",
             "# node with NODE_RANK=0..N-1 and MASTER_ADDR=<node 0's address> set (one node: as it is).",
             "# Ctrl-C (SIGINT), SIGTERM or SIGUSR1 stops at the next step and saves a resumable last.pt;",
             "# running the script again resumes it.",
             *_common_lines(o, shared),
             'MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"',
             'MASTER_PORT="${MASTER_PORT:-29500}"',
             "",
             'exec "$PYTHON" -m torch.distributed.run \\',
             f'    --nnodes={o.nodes} --nproc-per-node={procs} --node-rank="${{NODE_RANK:-0}}" \\',
             '    --master-addr="$MASTER_ADDR" --master-port="$MASTER_PORT" \\',
             f'    --signals-to-handle={FORWARDED_SIGNALS} \\',
             '    "${TRAIN[@]}"',
             ""]
    return "\n".join(lines)


def _readme(o: ClusterOptions, shared: str, name: str, script: str, submit: str, follow: str, config) -> str:
    procs = processes_per_node(o)
    where = "the cluster" if o.kind == "slurm" else "the machine"
    backend = "nccl" if o.gpus_per_node else "gloo"
    lines = [f"# {name}: {config.task} training for {o.kind}", "",
             f"{o.nodes} node(s) x {procs} process(es) ({backend}), global batch {config.train.batch_size}, "
             f"{config.train.epochs} epoch(s), data `{config.data.path}`.", "",
             f"Copy this folder to `{shared}` on {where} (a path every node sees), with HPE Studio installed "
             f"for `{o.python}`. Then:", "",
             "```bash", f"{submit}    # start", f"{follow}    # follow (one JSON event per line)", "```", "",
             f"- Events: `{shared}/{EVENTS_NAME}`; checkpoints: `{shared}/{CHECKPOINTS_NAME}/` "
             "(`last.pt`, `best.pt`).",
             "- Follow it in HPE Studio: Training panel → *Follow events file…* on a synced copy of this folder; "
             "when it is done, *Pull checkpoints* copies them into the workspace.",
             "- The data path must exist on every node (change it in `config.yaml` or export with "
             "`--set data.path=...`)."]
    if o.kind == "slurm":
        lines += [f"- Time limit {o.time}: {o.requeue_grace_s} s before it, Slurm sends SIGUSR1; the training "
                  "saves a resumable `last.pt` and the job requeues itself (`scontrol requeue`); the next start "
                  "resumes from `last.pt`. Slurm's own log: `slurm-<jobid>.out` here."]
    else:
        lines += ["- Stop it with Ctrl-C (a resumable `last.pt` is saved); run the script again to resume."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- coming back
def locate_checkpoints(events_path: str | Path, checkpoints: dict[str, str]) -> dict[str, Path]:
    """The local files of a job's checkpoints (``kind -> path`` as its events name them).

    A path is taken as it is when it exists here, else looked up in the job folder next to the
    events file (``checkpoints/<name>``, then ``<name>``): the layout of an exported job folder
    copied or synced from the cluster.
    """
    base = Path(events_path).expanduser().resolve().parent
    found: dict[str, Path] = {}
    for kind, path in checkpoints.items():
        remote = Path(path)
        for candidate in (remote, base / CHECKPOINTS_NAME / remote.name, base / remote.name):
            if candidate.is_file():
                found[kind] = candidate
                break
    return found


def pull_checkpoints(located: dict[str, Path], dest: str | Path) -> dict[str, Path]:
    """Copy the located checkpoints into ``dest`` (atomically, each file whole); ``kind -> new path``."""
    from hpe_core.atomic import atomic_path

    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for kind, path in located.items():
        target = dest / path.name
        if target.resolve() != path.resolve():
            with atomic_path(target, suffix=".pt") as tmp:
                shutil.copyfile(path, tmp)
        out[kind] = target
    return out
