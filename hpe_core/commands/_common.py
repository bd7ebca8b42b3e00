"""Helpers shared by the subcommands: JSON output, device and path arguments."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from hpe_core.errors import InputError


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


def emit(args: argparse.Namespace, payload: dict, text: Callable[[dict], str]) -> int:
    """Print ``payload`` as JSON with ``--json``, else ``text(payload)``; return 0."""
    if getattr(args, "json", False):
        from hpe_core.training.events import _clean as jsonable  # the events writer's: one JSON cleaner

        json.dump(jsonable(payload), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text(payload).rstrip("\n") + "\n")
    sys.stdout.flush()
    return 0


def existing_path(value: str, what: str = "file") -> Path:
    path = Path(value).expanduser()
    if not path.exists():
        raise InputError(f"{value}: no such {what}")
    return path
