"""Detached training processes, recognised later by pid and start time (a reused pid is not
mistaken for them), signalled alone or with their process group. POSIX (Linux, macOS).

Shared by the GUI's job owner (which starts them with ``QProcess``) and ``hpe queue start``
(which starts them with :func:`launch`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def launch(command: list[str], log: Path, folder: Path, env: dict[str, str]) -> tuple[int, str | None] | None:
    """Start ``command`` in ``folder`` in its own session, output appended to ``log``; ``(pid, start)``
    or None if it could not start. The child outlives this process."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env={**os.environ, **env}, start_new_session=True)
    except OSError:
        return None
    return proc.pid, process_start(proc.pid)


def _proc_stat(text: str) -> tuple[str, str]:
    rest = text.rsplit(")", 1)[1].split()
    return rest[0], rest[19]  # field 3 (state) and field 22 (start time in clock ticks)


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` (Linux ``/proc``; None elsewhere or when it is gone)."""
    try:
        return _proc_stat(Path(f"/proc/{pid}/stat").read_text())[1]
    except (OSError, IndexError):
        return None


def process_alive(pid: int | None, start: str | None = None) -> bool:
    """Whether ``pid`` runs (zombies do not) and, when ``start`` is given, is the process started then."""
    if not pid:
        return False
    if sys.platform.startswith("linux"):
        try:
            state, started = _proc_stat(Path(f"/proc/{pid}/stat").read_text())
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X") and (start is None or started == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def send_signal(pid: int | None, start: str | None, sig: int, group: bool = False) -> None:
    """Send ``sig`` to the process (or its whole process group) if it is still the same process."""
    if not process_alive(pid, start):
        return
    try:
        if group and hasattr(os, "killpg"):
            pgid = os.getpgid(pid)
            if pgid != os.getpgid(0):
                os.killpg(pgid, sig)
                return
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def end_last_line(path: Path) -> None:
    """Append a newline if ``path`` ends in the middle of a line (so the next event starts its own)."""
    try:
        with open(path, "rb+") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() and (fh.seek(-1, os.SEEK_END), fh.read(1))[1] != b"\n":
                fh.write(b"\n")
    except FileNotFoundError:
        pass
