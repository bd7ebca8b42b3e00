"""Where models run: the chosen device and precision, and the device actually in use."""

from __future__ import annotations

from dataclasses import dataclass

from psygnal import evented

PRECISIONS = ("fp32", "bf16", "fp16")


@evented
@dataclass
class DeviceChoice:
    spec: str = "auto"  # auto, cpu, cuda[:N], mps
    precision: str = "fp32"  # one of PRECISIONS
    in_use: str = ""  # what the last loaded or moved checkpoint resolved ``spec`` to
