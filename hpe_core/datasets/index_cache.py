"""A cache of what reading a dataset's many small annotation files computed, keyed by the files.

A reader scans its annotation folders (:func:`scan`: names, sizes and modification times, one
listing and one ``stat`` per file, no file opened; or, when it reads every file anyway,
:func:`listed` and the sizes and times of the files it opened), makes a key of them
(:func:`fingerprint`) and asks :func:`load` for arrays stored under that key. Any change (a file
added, removed, rewritten, touched) gives another key, so the stored arrays are not used and the
reader parses the files again and :func:`save` replaces them (unless a file changed within the
last second before the listing: :func:`settled`). Entries live in
``<cache root>/index/<reader>-<hash of the dataset's path>.npz`` (see
:mod:`hpe_core.cache_dirs`): an uncompressed npz (memory-mapped on load, never pickled) whose
``meta_json`` member holds the key, the format version and the reader's JSON metadata; it is
written atomically. A cache that cannot be read or written is ignored: the dataset opens from
its files as if there were none.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpe_core.cache_dirs import cache_root
from hpe_core.errors import DatasetError

VERSION = 2  # 2: readers store which listed files are samples


@dataclass(frozen=True)
class Listing:
    """The files of one folder with a given suffix, sorted by name."""

    folder: Path
    names: list[str]
    sizes: np.ndarray   # (N,) int64 bytes
    mtimes: np.ndarray  # (N,) int64 ns
    scanned_ns: int     # when the listing started (time.time_ns())


def scan(folder: Path, suffix: str) -> Listing:
    """Names, sizes and modification times of the regular files ``*suffix`` in ``folder``: one
    listing, then one ``stat`` per file relative to the open folder (which saves resolving its
    path each time), in one tight pass: at 200,000 files this is most of a cached open."""
    start = time.time_ns()
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    try:
        names = sorted(name for name in os.listdir(fd) if name.endswith(suffix))
        try:
            stats = [os.stat(name, dir_fd=fd) for name in names]
        except FileNotFoundError:  # removed while listing: leave it out
            names, stats = _stat_present(names, fd)
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    fields = np.array([(st.st_mode, st.st_size, st.st_mtime_ns) for st in stats], np.int64).reshape(-1, 3)
    regular = (fields[:, 0] & 0o170000) == stat.S_IFREG
    if not regular.all():
        names = [name for name, keep in zip(names, regular.tolist()) if keep]
        fields = fields[regular]
    return Listing(Path(folder), names, np.ascontiguousarray(fields[:, 1]), np.ascontiguousarray(fields[:, 2]),
                   start)


def listed(folder: Path, suffix: str) -> tuple[list[str], int]:
    """``(names, started)``: the sorted names ``*suffix`` in ``folder`` and when the listing began
    (``time.time_ns()``), with no ``stat``: for a reader that opens every file anyway and builds
    its :class:`Listing` from the sizes and times of the files it opened."""
    start = time.time_ns()
    try:
        return sorted(name for name in os.listdir(folder) if name.endswith(suffix)), start
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot list the folder ({exc.strerror or exc})") from None


def _stat_present(names: list[str], fd: int) -> tuple[list[str], list]:
    kept, stats = [], []
    for name in names:
        try:
            stats.append(os.stat(name, dir_fd=fd))
        except FileNotFoundError:
            continue
        kept.append(name)
    return kept, stats


def settled(listings: list[Listing], margin_s: float = 1.0) -> bool:
    """Whether every file was last modified ``margin_s`` before it was listed. A file modified
    just before (file systems keep modification times in ticks of a few ms) could be modified
    again within the same tick, with the same size, and keep its key: such a listing is not
    cached."""
    margin = int(margin_s * 1e9)
    return all(len(x.mtimes) == 0 or int(x.mtimes.max()) < x.scanned_ns - margin for x in listings)


def fingerprint(listings: list[Listing], extra: str = "") -> str:
    """A key over the files' names, sizes and modification times (and ``extra``)."""
    h = hashlib.sha256(f"v{VERSION}\0{extra}\0".encode())
    for listing in listings:
        h.update(f"{listing.folder}\0{len(listing.names)}\0".encode("utf-8", "surrogateescape"))
        h.update("\0".join(listing.names).encode("utf-8", "surrogateescape"))
        h.update(listing.sizes.tobytes())
        h.update(listing.mtimes.tobytes())
    return h.hexdigest()


def entry_path(reader: str, dataset: Path) -> Path:
    """The cache file of ``dataset`` read by ``reader``."""
    where = hashlib.sha256(str(Path(dataset).expanduser().resolve()).encode("utf-8", "surrogateescape"))
    return cache_root() / "index" / f"{reader}-{where.hexdigest()[:24]}.npz"


def load(reader: str, dataset: Path, key: str) -> tuple[dict[str, np.ndarray], dict] | None:
    """``(arrays, meta)`` stored for ``key``, or None (no entry, another key, unreadable)."""
    from hpe_core.datasets.fileio import load_npz_member, npz_members

    path = entry_path(reader, dataset)
    if not path.is_file():
        return None
    try:
        meta = json.loads(bytes(load_npz_member(path, "meta_json", mmap=False)).decode("utf-8"))
        if meta.get("key") != key or meta.get("version") != VERSION:
            return None
        arrays = {name: load_npz_member(path, name) for name in npz_members(path) if name != "meta_json"}
    except (DatasetError, ValueError, UnicodeDecodeError, AttributeError):
        return None
    return arrays, meta.get("meta", {})


def save(reader: str, dataset: Path, key: str, arrays: dict[str, np.ndarray], meta: dict) -> Path | None:
    """Store ``arrays`` (no object arrays) and JSON ``meta`` under ``key``; None if it cannot."""
    from hpe_core.datasets.fileio import save_npz_stored

    path = entry_path(reader, dataset)
    doc = json.dumps({"version": VERSION, "key": key, "dataset": str(dataset), "meta": meta})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return save_npz_stored(path, {**arrays, "meta_json": np.frombuffer(doc.encode(), np.uint8)})
    except (OSError, ValueError):
        return None
