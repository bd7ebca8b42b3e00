"""Atomic file writes: a temporary file in the target's folder, flushed to disk, then renamed
over the target (``os.replace``), so a reader, a crash or a SIGKILL never sees a half-written
file and the previous version survives a failed write. The file gets the permissions a plain
``open(path, "w")`` would give (``0o666`` minus the umask), not ``mkstemp``'s ``0o600``.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def _read_umask() -> int:
    """The process umask, read without changing it where the OS says it (Linux); elsewhere set
    and restored once, at import, before any worker thread writes a file."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _file_mode() -> int:
    """``0o666`` minus the umask: never flips the umask, so threads writing at once are safe."""
    return 0o666 & ~_UMASK


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path`` for a writer that wants a file name (Qt, zipfile);
    on success it replaces ``path``, on any error it is removed. ``suffix`` keeps a writer that
    looks at the extension happy."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """``open`` for writing, atomically: the handle's content replaces ``path`` when the block ends
    without an error, after an ``fsync``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding if mode == "w" else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, making its folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path
