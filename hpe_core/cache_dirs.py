"""Where HPE Studio keeps what it can recompute: ``$HPE_STUDIO_CACHE``, else the user's cache
folder for hpe-studio (``platformdirs.user_cache_dir``); under ``HPE_STUDIO_TESTING`` (set by the
test suite) a temporary folder of this process, so tests never touch user state."""

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
        return Path(tempfile.gettempdir()) / f"hpe-studio-test-cache-{os.getpid()}"
    import platformdirs

    return Path(platformdirs.user_cache_dir("hpe-studio"))
