"""User-facing errors.

``InputError`` is raised for bad input a user can fix: a wrong shape, a file that is not
what it claims to be, an unknown option. It is a ``ValueError`` so library callers can
catch it as one; the CLI turns it into one line on stderr and exit status 2.
:func:`existing_path` is the one check that a path a user gave is there. :class:`OutputError`
is the one way a file that cannot be written is reported (:func:`output_error`: the path and
the cause in words, e.g. the disk is full).
"""

from __future__ import annotations

import errno
from pathlib import Path


class InputError(ValueError):
    """Bad input from a user: the message names the argument or file and what is wrong."""


class CheckpointError(InputError):
    """A checkpoint file that cannot be loaded safely or does not fit what was asked."""


class DatasetError(InputError):
    """A dataset path that cannot be read, or annotations that are inconsistent."""


def existing_path(value: str | Path, what: str = "file") -> Path:
    """``value`` as a path (``~`` expanded); an :class:`InputError` naming ``what`` when nothing is there."""
    path = Path(value).expanduser()
    if not path.exists():
        raise InputError(f"{value}: no such {what}")
    return path


class OutputError(InputError):
    """A file or folder that cannot be written: the disk is full, the folder is read-only or
    missing, permission is denied. The message names the path and the cause in words."""


#: errno -> the cause in words; these are the machine's state, not bugs (exit status 2)
_CAUSES = {
    errno.ENOSPC: "no space left on the device: the disk is full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large: over the file system's or this process's file size limit",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder",
    errno.EEXIST: "already exists",
    errno.ENAMETOOLONG: "file name too long",
    errno.EIO: "input/output error (a failing disk or a lost network mount)",
    errno.EMFILE: "too many open files",
    errno.ENOTEMPTY: "folder not empty",
}


def is_environment_error(exc: BaseException) -> bool:
    """True for an ``OSError`` that comes from the machine's state (full disk, read-only or
    missing folder, permission), not from a bug."""
    return isinstance(exc, OSError) and exc.errno in _CAUSES


def os_error_cause(exc: OSError) -> str:
    """The cause of ``exc`` in words (``"no space left on the device (the disk is full)"``)."""
    return _CAUSES.get(exc.errno, (exc.strerror or str(exc) or type(exc).__name__).lower())


def output_error(path: str | Path, exc: OSError, action: str = "cannot write") -> OutputError:
    """An :class:`OutputError` naming ``path`` and the cause of ``exc`` in one line."""
    return OutputError(f"{path}: {action} ({os_error_cause(exc)})")
