"""Training checkpoints: the native checkpoint of the model plus what a resume needs.

``last.pt`` and ``best.pt`` in the run's output folder are native checkpoints (DESIGN.md,
format v1) written atomically by :func:`hpe_core.models.checkpoint.save_checkpoint`. Their
``training`` entry holds the task, the config, the history and the position
(``epoch``, ``batch``, ``step``); ``last.pt`` also carries ``extra["resume"]``: optimizer and
AMP-scaler states and the RNG states, all plain tensors and containers, so the file still
loads with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hpe_core.errors import CheckpointError, InputError
from hpe_core.training.config import Config, config_from_dict


def save_training_checkpoint(path: Path, model: torch.nn.Module, training: dict,
                             resume: dict | None = None) -> Path:
    from hpe_core.models.checkpoint import save_checkpoint

    extra = {"resume": resume} if resume is not None else None
    return save_checkpoint(path, model, training=training, extra=extra)


def check_output_folder(out: Path) -> None:
    """InputError unless the run's folder ``out`` is, or can be made, a folder files can be
    written into; nothing is created (a refused run leaves no empty folder)."""
    from hpe_core.atomic import check_writable

    if out.exists() and not out.is_dir():
        raise InputError(f"train.output {out}: a file, not a folder")
    existing = next(p for p in (out, *out.parents) if p.exists())
    if not existing.is_dir():
        raise InputError(f"train.output {out}: {existing} is a file, not a folder")
    check_writable(existing, f"train.output {out}")


def resume_output(resume: str | Path, output: str | None) -> Path:
    """Where ``--resume CKPT`` writes: ``output`` when given (``--output``), else the folder of
    CKPT itself, never the folder recorded inside the file (a copied run would overwrite the
    original). A folder holding another run's checkpoints is refused, asking for ``--output``."""
    resume = Path(resume).expanduser()
    out = Path(output).expanduser() if output else resume.parent
    if output is not None and out.resolve() != resume.parent.resolve():
        held = [n for n in ("last.pt", "best.pt") if (out / n).is_file()]
        if held:
            raise InputError(f"--output {out}: holds another run's checkpoints ({', '.join(held)}); resuming "
                             f"{resume} there would overwrite them; give another --output")
    return out


def read_raw(path: str | Path) -> dict:
    """The checkpoint file as plain data, loaded safely (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--resume {path}: no such checkpoint file")
    from hpe_core.models.safe_load import sniff

    try:
        sniff(path)  # what the file is; a PyTorch file's CRCs checked
    except CheckpointError as exc:
        raise CheckpointError(f"--resume {exc}") from None
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, not a torch file, or needs code to unpickle
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"--resume {path}: cannot be read safely ({first[:200]})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"--resume {path}: not an HPE Studio checkpoint")
    return raw


class ResumePoint:
    """What ``--resume CKPT`` restores: config, position, history, optimizer and RNG states."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        raw = read_raw(self.path)
        training = raw.get("training")
        extra = raw.get("extra") if isinstance(raw.get("extra"), dict) else raw
        resume = extra.get("resume") if isinstance(extra, dict) else None
        if not isinstance(training, dict) or "config" not in training or not isinstance(resume, dict):
            raise CheckpointError(f"--resume {self.path}: has no resume state (only a run's last.pt "
                                  "written by 'hpe train' can be resumed)")
        try:
            self.config: Config = config_from_dict(training["config"])
        except InputError as exc:
            raise CheckpointError(f"--resume {self.path}: its stored config is invalid ({exc})") from None
        self.training: dict[str, Any] = training
        self.state_dict: dict = raw.get("state_dict") or {}
        self.optimizer: dict = _int_state_keys(resume["optimizer"])
        self.scaler: dict | None = resume.get("scaler")
        self.rng: dict = resume["rng"]
        self.epoch, self.batch, self.step = (int(training[k]) for k in ("epoch", "batch", "step"))

    def load_model(self, model: torch.nn.Module) -> None:
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise CheckpointError(f"--resume {self.path}: weights do not fit the model ({first})") from None


def _int_state_keys(optimizer_state: dict) -> dict:
    """Checkpoints store dict keys as strings; the optimizer's per-parameter state wants ints."""
    state = optimizer_state.get("state", {})
    return {**optimizer_state, "state": {int(k): v for k, v in state.items()}}
