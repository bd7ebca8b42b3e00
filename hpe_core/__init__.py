"""HPE Studio core: the science and the data, headless.

Importing this package is cheap: torch, scikit-learn and umap are imported by the
modules that need them, when they are first used.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

__all__ = ["__version__", "resources_dir"]


def resources_dir() -> Path:
    """The folder holding icons, presets and the demo (``resources/`` in the source tree and in
    the PyInstaller bundle; ``PREFIX/share/hpe-studio/resources`` after ``pip install``).

    ``HPE_STUDIO_RESOURCES`` overrides it.
    """
    import os

    override = os.environ.get("HPE_STUDIO_RESOURCES")
    if override:
        return Path(override)
    source = Path(__file__).resolve().parent.parent / "resources"
    if source.is_dir():
        return source
    import site
    import sys

    for prefix in (sys.prefix, site.USER_BASE or ""):  # pip install . / pip install --user .
        installed = Path(prefix) / "share" / "hpe-studio" / "resources"
        if prefix and installed.is_dir():
            return installed
    return source
