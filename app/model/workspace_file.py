"""The workspace file (``*.hpews``, JSON, versioned): what is open, selected and shown.

Format 1::

    {"format": "hpe-studio-workspace", "format_version": 1, "created": "...",
     "datasets": [{"path": "...", "skip_list": null}], "current_dataset": "<path>|null",
     "checkpoints": ["..."], "active_checkpoint": "<path>|null", "selection": 12,
     "filters": {"action": 2, "split": "val"}, "sort": "error_desc",
     "options": {"align": "similarity", "frustums": true, "parts": "prediction", "heatmap": 4},
     "device": "auto", "precision": "fp32",
     "video": "<path>|null", "video_frame": 0, "compare": ["<checkpoint A>", "<checkpoint B>"],
     "units": {"<foreign predictions file>": "m"}, "lift_source": "<heatmap checkpoint>|null"}

``units`` (how each foreign predictions file was read) and ``lift_source`` (the 2D the lifters
lift; null: the ground truth) are optional: files without them read as before.

Paths inside the workspace's folder are stored relative to it, so a project folder can move.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.model import messages
from hpe_core.atomic import atomic_write
from hpe_core.errors import InputError
from hpe_core.file_kinds import WORKSPACE_FORMAT as FORMAT, WORKSPACE_SUFFIX as SUFFIX

VERSION = 1


@dataclass
class WorkspaceState:
    """Plain data of a session; paths are absolute strings once loaded."""

    datasets: list[dict] = field(default_factory=list)  # {"path", "skip_list"}
    current_dataset: str | None = None
    checkpoints: list[str] = field(default_factory=list)
    active_checkpoint: str | None = None
    selection: int = -1
    filters: dict = field(default_factory=dict)
    sort: str = "index"
    options: dict = field(default_factory=dict)
    device: str = "auto"
    precision: str = "fp32"
    video: str | None = None
    video_frame: int = 0
    compare: list[str] = field(default_factory=list)  # Compare's checkpoints A and B
    units: dict = field(default_factory=dict)  # foreign predictions file -> "m" | "mm", as read
    lift_source: str | None = None  # the heatmap checkpoint whose 2D the lifters lift (None: ground truth)


def _rel(path: str | None, base: Path) -> str | None:
    if path is None:
        return None
    p = Path(path).resolve()
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return str(p)


def _abs(path: str | None, base: Path) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def save_workspace_file(path: str | Path, state: WorkspaceState) -> Path:
    """Write ``state`` to ``path`` atomically; returns the path."""
    path = Path(path)
    base = path.resolve().parent
    data = asdict(state)
    data["datasets"] = [{"path": _rel(d["path"], base), "skip_list": _rel(d.get("skip_list"), base)}
                        for d in state.datasets]
    for key in ("current_dataset", "active_checkpoint", "video", "lift_source"):
        data[key] = _rel(data[key], base)
    data["units"] = {_rel(k, base): v for k, v in state.units.items()}
    data["checkpoints"] = [_rel(c, base) for c in state.checkpoints]
    data["compare"] = [_rel(c, base) for c in state.compare]
    doc = {"format": FORMAT, "format_version": VERSION,
           "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **data}
    atomic_write(path, json.dumps(doc, indent=2))
    return path


def load_workspace_file(path: str | Path) -> WorkspaceState:
    """Read a workspace file; :class:`InputError` naming the file when it is not one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{path}: not a workspace file (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path}: not a workspace file (no \"format\": \"{FORMAT}\")")
    version = doc.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{path}: workspace format_version {version!r} is not valid")
    if version > VERSION:
        raise InputError(messages.WORKSPACE_NEWER.format(path=path, version=version))
    return _from_v1(doc, path.resolve().parent, path)


def _from_v1(doc: dict, base: Path, path: Path) -> WorkspaceState:
    try:
        datasets = [{"path": _abs(d["path"], base), "skip_list": _abs(d.get("skip_list"), base)}
                    for d in doc.get("datasets", [])]
        return WorkspaceState(
            datasets=datasets,
            current_dataset=_abs(doc.get("current_dataset"), base),
            checkpoints=[_abs(c, base) for c in doc.get("checkpoints", [])],
            active_checkpoint=_abs(doc.get("active_checkpoint"), base),
            selection=int(doc.get("selection", -1)),
            filters=dict(doc.get("filters", {})),
            sort=str(doc.get("sort", "index")),
            options=dict(doc.get("options", {})),
            device=str(doc.get("device", "auto")),
            precision=str(doc.get("precision", "fp32")),
            video=_abs(doc.get("video"), base),
            video_frame=int(doc.get("video_frame", 0)),
            compare=[_abs(c, base) for c in doc.get("compare", [])],
            units={_abs(k, base): str(v) for k, v in dict(doc.get("units", {})).items()},
            lift_source=_abs(doc.get("lift_source"), base),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{path}: workspace file is malformed ({exc!r})") from None
