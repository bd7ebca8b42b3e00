"""``provenance.json``: what a report was made from, enough to make it again (``--rerun``).

It holds the exact command, the versions of hpe-studio / torch / numpy, the sha256 of every
checkpoint and prediction file, a fingerprint of the dataset (sha256 of its sample names and
annotation columns), the protocol with its manifest (what every table carries beside it), the seed
and the sample list. :func:`check_inputs` refuses a
rerun whose inputs changed since.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

from hpe_core.datasets.fingerprint import annotations_fingerprint
from hpe_core.errors import InputError

FORMAT = "hpe-studio-report-provenance"


def file_sha256(path: str | Path) -> str:
    from hpe_core.models.checkpoint import file_hash

    return file_hash(path)


def versions() -> dict:
    import torch

    from hpe_core import __version__

    return {"hpe-studio": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0], "platform": platform.platform()}


def make(command: list[str], settings: dict, dataset, sources: list[str], rows: np.ndarray,
         protocol_text: str, manifest: dict | None = None) -> dict:
    return {"format": FORMAT, "format_version": 1, "command": command, "versions": versions(),
            "settings": settings, "protocol": {"name": settings["protocol"], "definition": protocol_text,
                                               **({"manifest": manifest} if manifest else {})},
            "dataset": {"path": str(Path(settings["dataset"]).resolve()), "samples": len(dataset),
                        "fingerprint": annotations_fingerprint(dataset)},
            "inputs": [{"path": str(Path(s).resolve()), "sha256": file_sha256(s)} for s in sources],
            "seed": settings["seed"], "samples": [int(r) for r in rows],
            "sample_names": [dataset.sample_name(int(r)) for r in rows]}


def read(path: str | Path) -> dict:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable provenance.json ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path}: not a provenance.json of 'hpe report'")
    for key in ("settings", "dataset", "inputs", "samples"):
        if key not in doc:
            raise InputError(f"{path}: has no {key!r}")
    return doc


def check_inputs(doc: dict, dataset, path: Path) -> None:
    """InputError when a checkpoint, prediction file or the dataset changed since ``doc``."""
    for item in doc["inputs"]:
        if not Path(item["path"]).is_file():
            raise InputError(f"{path}: input {item['path']} no longer exists")
        if file_sha256(item["path"]) != item["sha256"]:
            raise InputError(f"{path}: input {item['path']} changed since the report (sha256 differs)")
    if annotations_fingerprint(dataset) != doc["dataset"]["fingerprint"]:
        raise InputError(f"{path}: the dataset {doc['dataset']['path']} changed since the report")
