"""What every demo build writes the same way: a run's checkpoint shipped with its config, JSON
files, and the build's machine figures."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


def write_json(path: Path, data) -> None:
    """``data`` (Paths as text, arrays as lists, NaN as null) as indented JSON, atomically."""
    from hpe_core.atomic import atomic_write
    from hpe_core.training.events import _clean

    atomic_write(path, json.dumps(_clean(data), indent=2, allow_nan=False) + "\n")


def ship_checkpoint(source: Path, out: Path, name: str, file: str | None = None, *, data_path: str = "demo",
                    sets: dict | None = None, half: bool = False):
    """Copy the run checkpoint ``source`` to ``out/file`` (default ``<name>.pt``; weights as float16
    with ``half``) and its config to ``out/configs/<name>.json``, the config saying
    ``train.output: runs/demo/<name>``, ``data.path: data_path`` and ``sets`` (``{"section.key": value}``).
    Returns ``(model, training, entry)``, ``entry`` the file's ``{file, sha256, bytes, config}``."""
    from hpe_core.models.checkpoint import file_hash, load_checkpoint, save_checkpoint

    model, info = load_checkpoint(source)
    training = dict(info.training)
    config = training["config"]
    config["train"]["output"], config["data"]["path"] = f"runs/demo/{name}", data_path
    for key, value in (sets or {}).items():
        section, field = key.split(".")
        config[section][field] = value
    (out / "configs").mkdir(parents=True, exist_ok=True)
    path = save_checkpoint(out / (file or f"{name}.pt"), model.half() if half else model, training=training)
    write_json(out / "configs" / f"{name}.json", config)
    return model, training, {"file": path.name, "sha256": file_hash(path), "bytes": path.stat().st_size,
                             "config": f"configs/{name}.json"}


def build_info(seconds: float, torch_threads: bool = False) -> dict:
    """The build's ``{seconds, machine, cpus}`` (and torch's thread count)."""
    info = {"seconds": round(seconds, 1), "machine": platform.machine(), "cpus": os.cpu_count()}
    if torch_threads:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    return info
