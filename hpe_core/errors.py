"""User-facing errors.

``InputError`` is raised for bad input a user can fix: a wrong shape, a file that is not
what it claims to be, an unknown option. It is a ``ValueError`` so library callers can
catch it as one; the CLI turns it into one line on stderr and exit status 2.
:func:`existing_path` is the one check that a path a user gave is there.
"""

from __future__ import annotations

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
