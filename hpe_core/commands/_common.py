"""Helpers shared by the subcommands: JSON output, device and path arguments (``existing_path``:
:func:`hpe_core.errors.existing_path`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable

from hpe_core.errors import existing_path  # noqa: F401 - the commands' path check, from the one door


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def add_device_args(parser: argparse.ArgumentParser, precision: bool = False) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="auto | cpu | cuda | cuda:N | mps (default: auto, CUDA when present)",
    )
    if precision:
        parser.add_argument(
            "--precision",
            default="fp32",
            choices=["fp32", "bf16", "fp16"],
            help="numeric precision of inference (default: fp32, the exact reference)",
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays, torch tensors
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(args: argparse.Namespace, payload: dict, text: Callable[[dict], str]) -> int:
    """Print ``payload`` as JSON with ``--json``, else ``text(payload)``; return 0."""
    if getattr(args, "json", False):
        json.dump(_jsonable(payload), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text(payload).rstrip("\n") + "\n")
    sys.stdout.flush()
    return 0
