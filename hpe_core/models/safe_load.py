"""Read a checkpoint file without ever running code from it.

``read_checkpoint_file(path)`` sniffs the file type first, so an empty, truncated or foreign file
(HDF5, NumPy, ONNX, text, ...) gets a message saying what it is; PyTorch files are opened with
``torch.load(weights_only=True)`` (its restricted unpickler; never the standard one, never
evaluated text); a pickle that refers to Python code is refused with a message saying it would
need arbitrary code execution. The CRC-32 of every member of a PyTorch zip file is checked
first (:func:`check_zip`, once per file per process), so a damaged file is refused instead of
loading wrong weights.
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

from hpe_core.errors import CheckpointError

_REFUSAL = ("refused: unpickling it needs arbitrary code execution{what}; HPE Studio loads weights "
            "only and never runs code from a file (re-save it with torch.save(model.state_dict(), ...) "
            "in the program that made it)")


def _foreign_kind(head: bytes, path: Path) -> str | None:
    """A description of a known non-PyTorch file type, or None."""
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "an HDF5 file (Keras / TensorFlow weights?)"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy array"
    if head[4:8] == b"TFL3":
        return "a TensorFlow Lite model"
    if head.startswith(b"GGUF"):
        return "a GGUF model file"
    if path.suffix.lower() in (".onnx", ".pb", ".h5", ".keras", ".tflite", ".ckpt-index"):
        return f"a {path.suffix} file of another framework"
    return None


def _is_safetensors(head: bytes, size: int) -> bool:
    n = int.from_bytes(head[:8], "little")
    return len(head) > 8 and 0 < n <= size - 8 and head[8:9] == b"{"


def _safetensors_header_problem(head: bytes, size: int) -> str | None:
    """Why a file that starts like a safetensors file (a JSON header after its 8-byte length) is
    not a whole one: its header length runs past the end of the file."""
    n = int.from_bytes(head[:8], "little")
    if len(head) > 8 and head[8:9] == b"{" and n > size - 8:
        return (f"a damaged safetensors file: its header length field says {n:,} bytes, but the file "
                f"holds {size - 8:,} after it")
    return None


#: (path, size, mtime, inode) of the zip files whose CRCs were checked in this process
_CHECKED: set[tuple] = set()


def check_zip(path: Path) -> None:
    """CheckpointError unless every member of the zip container ``path`` (a PyTorch file) reads
    back with its stored CRC-32: a flipped bit anywhere in the weights or the pickle is caught
    before anything is loaded. A file is checked once per process while it is unchanged."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key in _CHECKED:
        return
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as fh:
                    while fh.read(1 << 24):
                        pass
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, zlib.error) as exc:
        raise CheckpointError(f"{path}: the file is damaged: {exc} (its zip container's check failed; "
                              "copy it again from its source)") from None
    _CHECKED.add(key)


def sniff(path: Path) -> str:
    """'torch' or 'safetensors'; CheckpointError naming what else the file is."""
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(path):
            raise CheckpointError(f"{path}: the file is truncated or corrupt (its zip archive has no end)")
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        if any(n.endswith("data.pkl") for n in names):
            check_zip(path)
            return "torch"
        if names and all(n.endswith(".npy") for n in names):
            raise CheckpointError(f"{path}: a NumPy .npz archive, not a PyTorch checkpoint")
        raise CheckpointError(f"{path}: a zip archive that is not a PyTorch checkpoint")
    if _is_safetensors(head, size):
        return "safetensors"
    damaged = _safetensors_header_problem(head, size)
    if damaged:
        raise CheckpointError(f"{path}: {damaged}")
    foreign = _foreign_kind(head, path)
    if foreign:
        raise CheckpointError(f"{path}: {foreign}, not a PyTorch checkpoint")
    if head[:1] == b"\x80":  # a pickle stream: torch's legacy format (or a plain pickle)
        return "torch"
    if head.lstrip()[:1] in (b"{", b"[") or all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        raise CheckpointError(f"{path}: a text file, not a PyTorch checkpoint")
    raise CheckpointError(f"{path}: not a PyTorch checkpoint (unknown file type)")


def _load_torch(path: Path) -> Any:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc)) or re.search(r"global ['\"]?([\w.]+)", str(exc))
        what = f" (it refers to {found.group(1)})" if found else " or pickle features weights-only loading refuses"
        raise CheckpointError(f"{path}: " + _REFUSAL.format(what=what)) from None
    except Exception as exc:  # noqa: BLE001 - any failure to parse untrusted bytes is bad input
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}: {first[:160]}" if first else type(exc).__name__
        raise CheckpointError(f"{path}: the file is truncated or corrupt ({detail})") from None


def _load_safetensors(path: Path) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = dict(fh.metadata() or {})
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: the safetensors file is truncated or corrupt ({exc})") from None
    return {"state_dict": tensors, "metadata": metadata}


def read_checkpoint_file(path: str | Path) -> tuple[Any, str]:
    """(the loaded object, 'torch' | 'safetensors'). FileNotFoundError if ``path`` is missing.

    For safetensors the object is ``{"state_dict": {...}, "metadata": {str: str}}``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "no such file", str(path))
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file")
    kind = sniff(path)
    return (_load_safetensors(path) if kind == "safetensors" else _load_torch(path)), kind


def decode_metadata(metadata: dict[str, str], key: str, path: Path) -> Any:
    """A JSON value stored in safetensors metadata (whose values are strings)."""
    try:
        return json.loads(metadata[key]) if key in metadata else None
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: metadata '{key}' is not valid JSON") from None
