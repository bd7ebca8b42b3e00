"""File ▸ Open Predictions…: a predictions file opened like a checkpoint (our .npz, a
VideoPose3D-style (N, J, 3) .npy/.npz array, an MMPose 3D result .json); foreign files say no
units, so they are asked for."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

PREDICTIONS_FILTER = "Predictions (*.npz *.npy *.json);;All files (*)"
UNIT_CHOICES = {"millimetres (mm)": "mm", "metres (m)": "m"}


def units_needed(path: str | Path) -> bool:
    from hpe_core.file_kinds import is_predictions_path

    path = Path(path)  # a missing file is refused by name when opened, not asked about
    return path.is_file() and not (path.suffix.lower() == ".npz" and is_predictions_path(path))


def ask_units(parent, path: str | Path) -> str | None:
    """"mm" or "m" for a foreign predictions file, asked (None: the user cancelled)."""
    choice, ok = QInputDialog.getItem(parent, "Units", f"{Path(path).name}: its coordinates are in",
                                      list(UNIT_CHOICES), 0, False)
    return UNIT_CHOICES[choice] if ok else None


def open_predictions_file(parent, workspace, path: str | Path) -> None:
    units = None
    if units_needed(path):
        units = ask_units(parent, path)
        if units is None:
            return
    workspace.open_predictions(path, units)


def open_as_model(parent, workspace, path: str | Path) -> None:
    """A file dropped on the checkpoint list: a checkpoint, else a predictions file."""
    from hpe_core.file_kinds import classify_file

    if classify_file(path) == "checkpoint":
        workspace.open_checkpoint(path)
    else:
        open_predictions_file(parent, workspace, path)


def open_predictions_dialog(window) -> None:
    paths, _ = QFileDialog.getOpenFileNames(window, "Open predictions", "", PREDICTIONS_FILTER)
    for path in paths:
        open_predictions_file(window, window.workspace, path)
