"""User-facing errors.

``InputError`` is raised for bad input a user can fix: a wrong shape, a file that is not
what it claims to be, an unknown option. It is a ``ValueError`` so library callers can
catch it as one; the CLI turns it into one line on stderr and exit status 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user: the message names the argument or file and what is wrong."""


class CheckpointError(InputError):
    """A checkpoint file that cannot be loaded safely or does not fit what was asked."""


class DatasetError(InputError):
    """A dataset path that cannot be read, or annotations that are inconsistent."""
