"""HPE Studio core: the science and the data, headless.

Importing this package is cheap: torch, scikit-learn and umap are imported by the
modules that need them, when they are first used.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

__all__ = ["__version__", "resources_dir"]


def resources_dir() -> Path:
    """The folder holding icons, presets and the demo (``resources/`` in the source tree).

    ``HPE_STUDIO_RESOURCES`` overrides it, e.g. for a packaged build.
    """
    import os

    override = os.environ.get("HPE_STUDIO_RESOURCES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "resources"
