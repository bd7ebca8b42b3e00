"""Reading images, JSON and npz members safely, with errors that name the file.

Images are read as bytes and decoded with OpenCV (imported on first use). A JPEG without its
end marker or a PNG without ``IEND`` is reported as truncated instead of being decoded into a
half-grey picture. npz members stored uncompressed are memory-mapped, so opening a large
annotation file costs no memory until its pages are touched; pickled members are refused.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from hpe_core.atomic import atomic_path, atomic_write
from hpe_core.errors import DatasetError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def image_problem(data: bytes) -> str | None:
    """``"empty"``, ``"truncated"`` or None for the raw bytes of an image file."""
    if len(data) == 0:
        return "empty"
    if data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-64:]:
        return "truncated"
    if data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-32:]:
        return "truncated"
    return None


#: the first bytes of the image formats in IMAGE_SUFFIXES
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"II*\x00", b"MM\x00*")


def image_file_problem(path: str | Path) -> str | None:
    """What makes the image file ``path`` unreadable, from its first and last bytes only (cheap
    enough for a whole folder): "cannot be read (...)", "empty", "not an image (...)",
    "truncated"; None if it looks whole (decoding may still fail later)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(size - 64, len(head)))
            data = head + fh.read()  # the whole file when small, else its start and its end
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if size == 0:
        return "empty"
    is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not is_webp and not any(head.startswith(m) for m in _MAGIC):
        return "not an image (unknown content)"
    return image_problem(data)


def image_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) of an image file from its header (Pillow reads no pixels); None if unreadable."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            return tuple(int(v) for v in image.size)
    except (ImportError, OSError, ValueError):
        return None


def decode_image(data: bytes, name: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB from encoded bytes; :class:`DatasetError` naming ``name`` if bad."""
    import cv2

    problem = image_problem(data)
    if problem:
        raise DatasetError(f"{name}: image file is {problem}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{name}: not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB of the image file ``path``; :class:`DatasetError` if unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read image ({exc.strerror or exc})") from None
    return decode_image(data, path)


def read_text(path: str | Path, what: str, missing: str | None = None) -> str:
    """The UTF-8 text of ``path``; :class:`DatasetError` naming the file: ``missing`` (default
    "missing <what>") when it is not there, "cannot read <what>" for any other failure."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: {missing or f'missing {what}'}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read {what} ({exc})") from None


def read_json(path: str | Path, what: str = "JSON file"):
    """The parsed JSON of ``path``; :class:`DatasetError` naming the file and the position."""
    path = Path(path)
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: corrupt {what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (see :mod:`hpe_core.atomic`)."""
    return atomic_write(path, data)


# ---------------------------------------------------------------------------- npz
def npz_members(path: str | Path) -> list[str]:
    """Array names in the npz file ``path`` (without ``.npy``)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing annotation file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"{path}: not a readable npz file ({exc})") from None


def npz_member_shape(path: str | Path, name: str) -> tuple[int, ...]:
    """The shape of array ``name`` of the npz ``path``, from its header only (nothing decompressed)."""
    try:
        with zipfile.ZipFile(path) as zf, zf.open(name + ".npy") as fh:
            return tuple(_read_header(fh, np.lib.format.read_magic(fh))[0])
    except KeyError:
        raise DatasetError(f"{path}: no array {name!r} in the annotation file") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DatasetError(f"{path}: array {name!r} is unreadable ({exc})") from None


def load_npz_member(path: str | Path, name: str, mmap: bool = True) -> np.ndarray:
    """Array ``name`` of the npz ``path``; memory-mapped when stored uncompressed.

    Object (pickled) arrays are refused: untrusted files never run code.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(name + ".npy")
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                shape, fortran, dtype = _read_header(fh, version)
                header_len = fh.tell()
                if dtype.hasobject:
                    raise DatasetError(f"{path}: array {name!r} holds Python objects; refusing to unpickle it")
                if mmap and info.compress_type == zipfile.ZIP_STORED:
                    offset = _data_offset(path, info) + header_len
                    if int(np.prod(shape)) == 0:
                        return np.zeros(shape, dtype)
                    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                                     order="F" if fortran else "C")
                count = int(np.prod(shape))
                data = np.frombuffer(fh.read(count * dtype.itemsize), dtype=dtype, count=count)
                return data.reshape(shape, order="F" if fortran else "C").copy()
    except KeyError:
        raise DatasetError(f"{path}: no array {name!r} in the annotation file") from None
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing annotation file") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{path}: array {name!r} is unreadable ({exc})") from None


def _read_header(fh, version):
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    return np.lib.format.read_array_header_2_0(fh)


def _data_offset(path, info: zipfile.ZipInfo) -> int:
    """Byte offset of a stored member's data in the zip file (after its local header)."""
    with open(path, "rb") as raw:
        raw.seek(info.header_offset)
        local = raw.read(30)
        if local[:4] != b"PK\x03\x04":
            raise DatasetError(f"{path}: corrupt zip local header for {info.filename}")
        name_len = int.from_bytes(local[26:28], "little")
        extra_len = int.from_bytes(local[28:30], "little")
    return info.header_offset + 30 + name_len + extra_len


def save_npz_stored(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` into an uncompressed npz (memory-mappable), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, array in arrays.items():
                array = np.asanyarray(array)
                with zf.open(name + ".npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, array, allow_pickle=False)
    return path
