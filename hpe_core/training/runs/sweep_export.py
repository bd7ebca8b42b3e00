"""A sweep for Slurm: ``hpe sweep CONFIG ... --export-script slurm JOBDIR --workers N`` writes
``JOBDIR/sweep.json`` and ``JOBDIR/sweep.sbatch``, an array of N tasks, each one worker
(``hpe sweep worker``) sharing the study through its storage (SQLite in JOBDIR on the shared file
system by default; for many workers give ``--storage postgresql://...``). A task stopped by its
time limit (SIGTERM) gives its trial back (queued again); ``hpe sweep status JOBDIR`` follows it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hpe_core.atomic import atomic_write
from hpe_core.errors import InputError

SCRIPT_NAME = "sweep.sbatch"
_PER_JOB = ("#SBATCH --output", "#SBATCH --open-mode", "#SBATCH --requeue", "#SBATCH --signal")


def export_sweep(spec, jobdir: Path, kind: str, args) -> dict:
    """Write the sweep folder for a Slurm array of ``args.workers`` workers; what was written."""
    from hpe_core.training.cluster import ClusterOptions, _sbatch_lines, check_options
    from hpe_core.training.runs.sweep import SPEC_NAME, check_spec

    if kind != "slurm":
        raise InputError(f"--export-script {kind!r}: a sweep exports as 'slurm' (an array of workers)")
    if args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    options = check_options(ClusterOptions(kind="slurm", gpus_per_node=args.gpus_per_node, time=args.time,
                                           partition=args.partition, account=args.account,
                                           shared_path=args.shared_path, python=args.python, setup=args.setup,
                                           requeue_grace_s=1))
    shared = options.shared_path or str(jobdir.resolve())
    spec = check_spec(replace(spec, storage=spec.storage or f"sqlite:///{shared}/study.db", study_name=jobdir.name))
    jobdir.mkdir(parents=True, exist_ok=True)
    atomic_write(jobdir / SPEC_NAME, json.dumps(spec.to_dict(), indent=1))
    header = [line for line in _sbatch_lines(options, shared, f"hpe-sweep-{jobdir.name}")
              if not line.startswith(_PER_JOB)]
    lines = ["#!/bin/bash", *header, f"#SBATCH --array=0-{args.workers - 1}",
             f"#SBATCH --output={shared}/slurm-%A_%a.out", "",
             f"# One sweep worker per array task: each asks the study ({spec.storage}) for the next trial,",
             "# trains it in SWEEP_DIR/trial-NNN/ and tells the study its value, until the budget is taken.",
             "set -uo pipefail", *([options.setup] if options.setup else []),
             f'SWEEP_DIR="${{HPE_SWEEP_DIR:-{shared}}}"', f'PYTHON="${{HPE_PYTHON:-{options.python}}}"',
             'exec "$PYTHON" -m hpe_core.cli sweep worker "$SWEEP_DIR" --index "${SLURM_ARRAY_TASK_ID:-0}"', ""]
    atomic_write(jobdir / SCRIPT_NAME, "\n".join(lines))
    return {"folder": str(jobdir), "script": str(jobdir / SCRIPT_NAME), "storage": spec.storage,
            "workers": args.workers, "submit": f"sbatch {shared}/{SCRIPT_NAME}",
            "follow": f"hpe sweep status {shared}"}
