"""File ▸ Open Predictions…: a predictions file opened like a checkpoint (our .npz, a
VideoPose3D-style (N, J, 3) .npy/.npz array, an MMPose 3D result .json); foreign files say no
units, so they are asked for."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

PREDICTIONS_FILTER = "Predictions (*.npz *.npy *.json);;All files (*)"
UNIT_CHOICES = {"millimetres (mm)": "mm", "metres (m)": "m"}


def units_needed(path: str | Path) -> bool:
    from app.model.stored_predictions import is_predictions_path

    return not (Path(path).suffix.lower() == ".npz" and is_predictions_path(path))


def open_predictions_dialog(window) -> None:
    paths, _ = QFileDialog.getOpenFileNames(window, "Open predictions", "", PREDICTIONS_FILTER)
    for path in paths:
        units = None
        if units_needed(path):
            choice, ok = QInputDialog.getItem(window, "Units", f"{Path(path).name}: its coordinates are in",
                                              list(UNIT_CHOICES), 0, False)
            if not ok:
                continue
            units = UNIT_CHOICES[choice]
        window.workspace.open_predictions(path, units)
