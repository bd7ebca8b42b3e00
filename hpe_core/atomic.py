"""Atomic file writes: the new content is written beside the target, flushed to disk, then put
in place by one rename, so a reader, a crash or a SIGKILL never sees a half-written file and the
previous version survives a failed write. Files get the permissions a plain ``open(path, "w")``
would give (``0o666`` minus the umask), not ``mkstemp``'s ``0o600``.

Where the file system allows it (Linux: ``O_TMPFILE``), :func:`atomic_open` and
:func:`atomic_write` write into a file without a name that is linked into place at the end, so
even a SIGKILL leaves no temporary file behind. :func:`atomic_path` (for writers that want a
file name) and :func:`atomic_folder` (a whole folder, e.g. a report) use a hidden sibling
that is removed on every exit path this process controls.

An ``OSError`` while writing (a full disk, a read-only or missing folder, no permission) becomes
one :class:`~hpe_core.errors.OutputError` naming the final path and the cause in words.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from hpe_core.errors import OutputError, is_environment_error, output_error


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
_UNNAMED = getattr(os, "O_TMPFILE", 0) and os.path.isdir("/proc/self/fd")
_NO_UNNAMED = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


def _file_mode() -> int:
    """``0o666`` minus the umask: never flips the umask, so threads writing at once are safe."""
    return 0o666 & ~_UMASK


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` of the machine's state (full disk, read-only, permission, missing
    folder) raised in the block into an :class:`OutputError` naming ``path``."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        if not is_environment_error(exc):
            raise
        raise output_error(path, exc) from None


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path`` for a writer that wants a file name (Qt, zipfile);
    on success it replaces ``path``, on any error it is removed. ``suffix`` keeps a writer that
    looks at the extension happy."""
    path = Path(path)
    with writing(path):
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
        os.close(fd)
    tmp = Path(name)
    try:
        with writing(path):
            yield tmp
            os.chmod(tmp, _file_mode())
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _open_unnamed(folder: Path) -> int | None:
    """A writable file without a name in ``folder`` (``O_TMPFILE``), or None where unsupported."""
    if not _UNNAMED:
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, _file_mode())
    except OSError as exc:
        if exc.errno in _NO_UNNAMED:
            return None
        raise


def _link(fd: int, target: Path) -> None:
    """``linkat`` the open file ``fd`` to ``target``, following ``/proc/self/fd`` (``os.link``
    without a ``src_dir_fd`` would call ``link()``, which does not follow it)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(str(fd), target, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


def _link_into_place(fd: int, path: Path) -> None:
    """Give the unnamed file ``fd`` the name ``path``, replacing what is there in one rename."""
    try:
        _link(fd, path)  # nothing there yet: the name appears at once
        return
    except FileExistsError:
        pass
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _link(fd, tmp)
    try:
        os.replace(tmp, path)  # a SIGKILL between these two lines is the only way to leave it
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: str | Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """``open`` for writing, atomically: the handle's content replaces ``path`` when the block ends
    without an error, after an ``fsync``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    with writing(path):
        fd = _open_unnamed(path.parent)
    if fd is None:
        with atomic_path(path) as tmp, writing(path):
            with open(tmp, mode, encoding=encoding if mode == "w" else None) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        return
    with writing(path), os.fdopen(fd, mode, encoding=encoding if mode == "w" else None) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        _link_into_place(fh.fileno(), path)


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, making its folder if needed."""
    path = Path(path)
    with writing(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def check_writable(folder: str | Path, target: str | Path | None = None) -> Path:
    """``folder`` (made if missing) after proving a file can be created in it; an
    :class:`OutputError` naming ``target`` (what will be written there; default the folder) and
    the cause otherwise. Call it before long work."""
    folder = Path(folder).expanduser()
    with writing(folder if target is None else target):
        folder.mkdir(parents=True, exist_ok=True)
        fd = _open_unnamed(folder)  # a file without a name: nothing to leave behind
        if fd is None:
            fd, name = tempfile.mkstemp(prefix=".hpe-write-test.", dir=folder)
            os.unlink(name)
        os.close(fd)
    return folder


# --- folders --------------------------------------------------------------------------------
_PARTIAL = ".partial-"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` may still run (where there is no ``/proc`` to ask: assume so)."""
    return not Path("/proc/self").is_dir() or Path(f"/proc/{pid}").is_dir()


def _remove_stale(path: Path) -> None:
    """Remove the hidden partial folders of ``path`` left by a process that no longer runs."""
    for stale in path.parent.glob(f".{path.name}{_PARTIAL}*"):
        pid = stale.name[len(path.name) + 1 + len(_PARTIAL):].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _put_in_place(tmp: Path, path: Path) -> None:
    """``tmp`` takes ``path``'s name; a previous folder there ends up at ``tmp`` (to be removed)."""
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        os.replace(tmp, path)  # a missing or empty folder: one rename
        return
    if _exchange(tmp, path):
        return
    old = path.with_name(f".{path.name}.previous-{secrets.token_hex(4)}")
    os.rename(path, old)
    os.rename(tmp, path)
    os.rename(old, tmp)


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``path`` to fill; when the block ends without an error
    it takes ``path``'s place in one step (a previous folder there is removed), so a folder under
    the final name is always complete. On any error the hidden folder is removed; one left by a
    killed process is removed by the next call for the same ``path``."""
    path = Path(path).expanduser()
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(path)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}{_PARTIAL}{os.getpid()}-", dir=path.parent))
    try:
        try:
            yield tmp
        except OutputError as exc:  # name the file as it would have been, not its hidden folder
            raise OutputError(str(exc).replace(str(tmp), str(path))) from None
        with writing(path):
            os.chmod(tmp, 0o777 & ~_UMASK)
            _put_in_place(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
