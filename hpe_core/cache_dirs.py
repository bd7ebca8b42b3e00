"""Where HPE Studio keeps what it can recompute: ``$HPE_STUDIO_CACHE``, else the user's cache
folder for hpe-studio (``platformdirs.user_cache_dir``); under ``HPE_STUDIO_TESTING`` (set by the
test suite) a temporary folder of this process, so tests never touch user state, removed when the
process exits."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_root() -> Path:
    """The cache folder (not created here)."""
    root = os.environ.get("HPE_STUDIO_CACHE")
    if root:
        return Path(root).expanduser()
    if os.environ.get("HPE_STUDIO_TESTING"):
        return _test_cache(os.getpid())
    import platformdirs

    return Path(platformdirs.user_cache_dir("hpe-studio"))


_removed_at_exit: set[int] = set()


def _test_cache(pid: int) -> Path:
    """This process's test cache, removed when it exits (a forked child has a pid, and a folder, of its own)."""
    path = Path(tempfile.gettempdir()) / f"hpe-studio-test-cache-{pid}"
    if pid not in _removed_at_exit:
        import atexit
        import shutil

        _removed_at_exit.add(pid)
        atexit.register(lambda: os.getpid() == pid and shutil.rmtree(path, ignore_errors=True))
    return path
