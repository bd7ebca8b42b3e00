"""What a file is, for whoever opens files (the CLI and the GUI): :func:`classify_file` and the
one list of checkpoint suffixes.

Kinds: ``"workspace"`` (the GUI's session file, ``*.hpews`` or a JSON whose ``format`` says so),
``"predictions"`` (our predictions ``.npz``, by its content, or a ``.npy`` array),
``"checkpoint"`` (by suffix, :data:`CHECKPOINT_SUFFIXES`) and ``"dataset"`` (anything else: the
dataset readers decide the rest, a video or an image folder is a dataset of its frames).
"""

from __future__ import annotations

import json
from pathlib import Path

CHECKPOINT_SUFFIXES = frozenset({".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".tar"})
WORKSPACE_SUFFIX = ".hpews"
WORKSPACE_FORMAT = "hpe-studio-workspace"
FILE_KINDS = ("workspace", "predictions", "checkpoint", "dataset")
_WORKSPACE_JSON_MAX = 5_000_000  # bytes: a larger .json is not read to find out


def is_workspace_file(path: str | Path) -> bool:
    """A workspace file: ``*.hpews``, or a ``.json`` whose ``format`` is :data:`WORKSPACE_FORMAT`."""
    path = Path(path)
    if path.suffix == WORKSPACE_SUFFIX:
        return True
    if path.suffix != ".json" or not path.is_file() or path.stat().st_size > _WORKSPACE_JSON_MAX:
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == WORKSPACE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def is_predictions_path(path: str | Path) -> bool:
    """Our predictions ``.npz`` (by its content) or a ``.npy`` array: opened as predictions."""
    from hpe_core.predictions import is_prediction_file

    path = Path(path)
    suffix = path.suffix.lower()
    return suffix == ".npy" or (suffix == ".npz" and path.is_file() and is_prediction_file(path))


def classify_file(path: str | Path) -> str:
    """One of :data:`FILE_KINDS` for ``path`` (see the module docstring)."""
    path = Path(path)
    if is_workspace_file(path):
        return "workspace"
    if is_predictions_path(path):
        return "predictions"
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    return "dataset"
