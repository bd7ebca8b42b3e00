"""Detached processes for training jobs, started with ``QProcess`` in their own session with their
output appended to a log file. Recognising and signalling them is shared with ``hpe queue``
(:mod:`hpe_core.training.runs.processes`). POSIX (Linux, macOS).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QProcess

from hpe_core.training.runs.processes import (end_last_line, process_alive, process_start,  # noqa: F401
                                               send_signal)

# ``sh -c LAUNCH hpe-train LOG env K=V... PROGRAM ARGS``: output appended to LOG, and ``exec`` keeps the
# process id that QProcess.startDetached reports (its instance form, which takes output files, loses
# the id in PySide6).
LAUNCH = 'log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null'


def launch_detached(command: list[str], log: Path, folder: Path, env: dict[str, str]) -> tuple[int, str | None] | None:
    """Start ``command`` in ``folder``, detached; ``(pid, start)`` or None if it could not start."""
    extra = [f"{k}={v}" for k, v in env.items()]
    ok, pid = QProcess.startDetached("/bin/sh", ["-c", LAUNCH, "hpe-train", str(log), "env", *extra, *command],
                                     str(folder))
    return (pid, process_start(pid)) if ok and pid else None
