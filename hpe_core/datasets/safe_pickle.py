"""Reading pickled dicts of arrays without running code: the object arrays inside VideoPose3D's
``.npz`` files (:func:`load_pickled_member`) and whole pickle files (:func:`load_pickle_file`:
3DPW's Python-2 sequence files, mmpose's camera pickles).

``np.save`` stores a dict as a pickled object array. A normal unpickler may call anything the
file names; this one resolves only the few NumPy functions that rebuild arrays and dtypes, plain
containers and the codec Python 3 writes bytes with at protocol 2, and refuses every other global,
so a crafted file cannot run code (the same idea as ``torch.load(weights_only=True)``). Python 2's
byte strings are read as latin-1, which is what NumPy needs to rebuild the arrays they hold.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np

from hpe_core.errors import DatasetError

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 pickles bytes at protocol 2
    ("builtins", "set"), ("builtins", "frozenset"), ("__builtin__", "set"), ("__builtin__", "frozenset"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):  # NumPy 2 moved it (and warns at the old name)
            module = "numpy._core." + module[len("numpy.core."):]
        return super().find_class(module, name)


def load_pickled_member(path: str | Path, name: str):
    """The Python object (dicts, lists, arrays, numbers, strings) pickled as array ``name``."""
    try:
        with zipfile.ZipFile(path) as zf, zf.open(name + ".npy") as fh:
            version = np.lib.format.read_magic(fh)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = reader(fh)
            payload = fh.read()
    except KeyError:
        raise DatasetError(f"{path}: no array {name!r}") from None
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable npz file ({exc})") from None
    if not dtype.hasobject:
        raise DatasetError(f"{path}: array {name!r} is not a pickled dict")
    try:
        value = _ArrayUnpickler(io.BytesIO(payload)).load()
    except Exception as exc:  # a malformed or malicious pickle: never trust it
        raise DatasetError(f"{path}: array {name!r} cannot be read safely ({exc})") from None
    if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
        value = value.item()
    return value


def load_pickle_file(path: str | Path, what: str = "pickle file"):
    """The plain containers and NumPy arrays pickled in ``path`` (any protocol, Python 2's too);
    :class:`DatasetError` naming the file if it is missing, unreadable, or names anything else."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing {what}") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        return _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as exc:  # a malformed or malicious pickle: never trust it
        raise DatasetError(f"{path}: {what} cannot be read safely ({exc})") from None
