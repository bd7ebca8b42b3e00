"""Jobs that ran elsewhere (a cluster, exported with :mod:`hpe_core.training.cluster`) and were
followed through their events file: their checkpoints, found in a synced copy of the job folder
(or at the paths the events name, on a shared file system), are copied into this machine's runs
folder and join the workspace's checkpoints.
"""

from __future__ import annotations

import re
from pathlib import Path

from hpe_core.errors import InputError
from hpe_core.training.cluster import locate_checkpoints, pull_checkpoints

# User-facing messages (tests assert on them).
PULLED = "Pulled {count} checkpoint(s) of '{name}' into {folder}; they join the workspace"
NOTHING_TO_PULL = ("{name}: none of its checkpoints ({names}) is here: sync the job folder (with its "
                   "checkpoints/ next to {events}) and try again")
FINISHED_REMOTELY = "Remote job '{name}' finished; Pull checkpoints brings them into the workspace"


def is_remote(job) -> bool:
    return bool(job is not None and job.record.external)


def pullable(job) -> dict[str, Path]:
    """The local files of an ended remote job's checkpoints (``kind -> path``); empty otherwise."""
    if not is_remote(job) or job.record.active:
        return {}
    job.ensure_loaded()
    return locate_checkpoints(job.record.events_path, job.state.checkpoints)


def pull(manager, job_id: str) -> dict[str, Path]:
    """Copy a remote job's checkpoints into ``manager.runs_dir/<name>-<id>/`` and announce each
    with ``manager.checkpoint_ready`` (the workspace opens them); InputError when there are none."""
    job = manager.job(job_id)
    rec = job.record
    if not is_remote(job) or rec.active:
        raise InputError(f"{rec.name}: only an ended remote (followed) job's checkpoints can be pulled")
    found = pullable(job)
    if not found:
        names = ", ".join(Path(p).name for p in job.state.checkpoints.values()) or "none announced"
        raise InputError(NOTHING_TO_PULL.format(name=rec.name, names=names, events=rec.events_path))
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", rec.name).strip("._") or "remote"
    folder = Path(manager.runs_dir) / f"{safe}-{rec.id}"
    pulled = pull_checkpoints(found, folder)
    rec.checkpoint = str(pulled.get("best") or pulled.get("last") or next(iter(pulled.values())))
    if "last" in pulled:
        rec.last_checkpoint = str(pulled["last"])
    manager.record_changed(job_id)
    for path in pulled.values():
        manager.checkpoint_ready.emit(str(path))
    manager.message.emit("info", PULLED.format(count=len(pulled), name=rec.name, folder=folder))
    return pulled
