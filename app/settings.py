"""Persistent preferences (``QSettings`` in an ini file): recent files, window layout, device.

The file lives in the user's config folder; ``HPE_STUDIO_CONFIG_DIR`` overrides it, and under
``HPE_STUDIO_TESTING`` a private temporary folder is used so tests never touch user state.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10
_testing_dir: Path | None = None


def config_dir() -> Path:
    """The folder of ``settings.ini`` and the last workspace."""
    global _testing_dir
    override = os.environ.get("HPE_STUDIO_CONFIG_DIR")
    if override:
        path = Path(override)
    elif os.environ.get("HPE_STUDIO_TESTING"):
        if _testing_dir is None:
            _testing_dir = Path(tempfile.mkdtemp(prefix="hpe-studio-test-"))
        path = _testing_dir
    else:
        import platformdirs

        path = Path(platformdirs.user_config_dir("hpe-studio", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


class Settings:
    """Typed access to the few things HPE Studio remembers between runs."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else config_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(self.folder / "settings.ini"), QSettings.Format.IniFormat)

    @property
    def last_workspace_path(self) -> Path:
        return self.folder / "last.hpews"

    # ---------------------------------------------------------------- recent files
    def recent_files(self) -> list[str]:
        value = self.qsettings.value("recent/files", [])
        if isinstance(value, str):  # QSettings returns a bare string for one-element lists
            value = [value]
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        self.qsettings.setValue("recent/files", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.qsettings.setValue("recent/files", [])

    # ---------------------------------------------------------------- layout
    def save_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", geometry)
        self.qsettings.setValue("window/state", state)

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.qsettings.value("window/geometry"), self.qsettings.value("window/state")

    def clear_layout(self) -> None:
        """Forget the saved window layout (View ▸ Reset Layout)."""
        self.qsettings.remove("window/geometry")
        self.qsettings.remove("window/state")

    # ---------------------------------------------------------------- device
    def device(self) -> tuple[str, str]:
        return (str(self.qsettings.value("device/spec", "auto")),
                str(self.qsettings.value("device/precision", "fp32")))

    def set_device(self, spec: str, precision: str) -> None:
        self.qsettings.setValue("device/spec", spec)
        self.qsettings.setValue("device/precision", precision)

    def sync(self) -> None:
        self.qsettings.sync()
