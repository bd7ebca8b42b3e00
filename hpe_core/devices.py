"""Device selection and mixed precision, shared by inference, training and the CLI.

``resolve_device("auto")`` takes CUDA when there is one, then Apple's MPS, then the CPU.
torch is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Iterator

from hpe_core.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import torch

VALID_FORMS = "auto, cpu, cuda, cuda:N, mps"
PRECISIONS = ("fp32", "bf16", "fp16")
_SPEC = re.compile(r"^(auto|cpu|mps|cuda)(?::(\d+))?$")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(spec: "str | torch.device" = "auto") -> "torch.device":
    """Turn ``auto | cpu | cuda | cuda:N | mps`` into a ``torch.device`` that exists here.

    Raises :class:`InputError` for an unknown form or a device this machine does not have.
    """
    import torch

    if isinstance(spec, torch.device):
        spec = str(spec)
    text = str(spec).strip().lower()
    match = _SPEC.match(text)
    if match is None or (match.group(2) is not None and match.group(1) != "cuda"):
        raise InputError(f"--device {spec!r}: not a device; valid forms are {VALID_FORMS}")
    kind, index = match.group(1), match.group(2)
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "mps":
        if not _mps_available():
            raise InputError("--device mps: Apple's MPS backend is not available on this machine")
        return torch.device("mps")
    if not torch.cuda.is_available():
        raise InputError(f"--device {text}: CUDA is not available on this machine (try --device cpu)")
    if index is not None and int(index) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise InputError(f"--device {text}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    return torch.device(text)


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of fp32, bf16, fp16; else raise :class:`InputError`."""
    if precision not in PRECISIONS:
        raise InputError(f"--precision {precision!r}: valid values are {', '.join(PRECISIONS)}")
    return precision


@contextlib.contextmanager
def autocast(device: "torch.device | str", precision: str = "fp32") -> Iterator[None]:
    """Mixed-precision context for ``device``; fp32 is a no-op (the exact reference).

    bf16 and fp16 use ``torch.autocast`` for the device's type (CPU autocast supports both).
    """
    import torch

    check_precision(precision)
    if precision == "fp32":
        yield
        return
    device_type = torch.device(device).type
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    with torch.autocast(device_type=device_type, dtype=dtype):
        yield
