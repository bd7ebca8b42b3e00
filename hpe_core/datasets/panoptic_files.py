"""Reading CMU Panoptic joints files (see :mod:`hpe_core.datasets.panoptic`): the ``cam`` string,
parsed without eval, and :func:`read_part`, which reads one part of a sequence's listing into the
dataset's columns in the camera frame, in a worker process or not (:func:`part_reader`).

A first open of a set it has never indexed does not ``stat`` its files before reading them: each
worker takes a file's size and modification time from the file it opened (``fstat``, no second
path lookup), and the reader makes the index key of those.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from hpe_core.datasets.fileio import read_json
from hpe_core.errors import DatasetError
from hpe_core.geometry import Camera, project
from hpe_core.skeleton import PANOPTIC19

NAME = re.compile(r"^(?P<seq>.+);hd_(?P<panel>\d+)_(?P<cam>\d+);person_(?P<person>\d+);(?P<frame>\d+)$")
PART = 2000  # joints files read as one piece of work (by a worker process, between progress reports)
PARALLEL_FROM = 4 * PART  # files from which an open reads them in several processes
_ARRAY_CALLS = {"array", "matrix", "asarray"}
_NAMED = {"nan": np.nan, "inf": np.inf}
_J = PANOPTIC19.num_joints


# ----------------------------------------------------------------------------- cam string
def parse_cam(text: str, where: str = "cam") -> dict[str, np.ndarray]:
    """The dict of arrays in a Panoptic ``cam`` string such as
    ``"{'K': array([[...]]), 'distCoef': array([...]), 'R': ..., 't': ...}"``, without eval."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError) as exc:
        raise DatasetError(f"{where}: the 'cam' string does not parse ({exc.msg if hasattr(exc, 'msg') else exc})") from None
    if not isinstance(tree, ast.Dict):
        raise DatasetError(f"{where}: the 'cam' string is not a dict")
    out = {}
    for key, value in zip(tree.keys, tree.values):
        if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
            raise DatasetError(f"{where}: the 'cam' dict has a key that is not a string")
        out[key.value] = np.asarray(_literal(value, where), dtype=np.float64)
    return out


def _literal(node, where: str):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, where)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in _NAMED:
        return _NAMED[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, where) for e in node.elts]
    if isinstance(node, ast.Call) and _call_name(node.func) in _ARRAY_CALLS and len(node.args) == 1:
        return _literal(node.args[0], where)  # keywords such as dtype= are ignored
    raise DatasetError(f"{where}: the 'cam' string holds something other than numbers and arrays "
                       f"({type(node).__name__}); refusing it")


def _call_name(func) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def camera_from_cam(cam: dict, where: str) -> Camera:
    """A :class:`Camera` with ``t`` in mm from a Panoptic calibration (``t`` in cm)."""
    try:
        return Camera(K=cam["K"], R=cam["R"], t=np.asarray(cam["t"]).reshape(3) * 10.0,
                      dist=np.asarray(cam.get("distCoef", np.zeros(5))).reshape(-1))
    except KeyError as exc:
        raise DatasetError(f"{where}: the 'cam' string has no {exc.args[0]!r}") from None
    except ValueError as exc:
        raise DatasetError(f"{where}: bad calibration ({exc})") from None


# ----------------------------------------------------------------------------- one part
@dataclass
class Part:
    """What :func:`read_part` made of ``n`` listed names, ``m`` of them samples. ``kept`` (n,): the
    names that are regular files, with their ``sizes`` and ``mtimes`` (ns) when it took them (else
    None: the caller listed them); ``matched`` (n,): named as a sample. Per sample: ``joints_3d``
    (m, 19, 3) and ``joints_2d`` (m, 19, 2) float32 in the camera frame, ``visible`` (m, 19),
    ``keys`` (m, 2) person and frame, ``combo`` (m,) its entry of ``combos``, the distinct
    (panel, camera, cam string, first file with it)."""

    kept: np.ndarray
    sizes: np.ndarray | None
    mtimes: np.ndarray | None
    matched: np.ndarray
    joints_3d: np.ndarray
    joints_2d: np.ndarray
    visible: np.ndarray
    keys: np.ndarray
    combo: np.ndarray
    combos: list


def read_part(folder: str, names: list[str], take_stats: bool) -> Part:
    """Read and parse the joints files ``names`` of ``folder``; with ``take_stats`` also their sizes and
    modification times (a name that is gone or not a regular file is left out, as a listing does).
    Each file's numbers go into arrays as it is read, so no parsed document outlives its file."""
    n = len(names)
    kept, matched, fields = np.ones(n, bool), np.zeros(n, bool), np.zeros((n, 2), np.int64)
    poses, keys, combo = np.empty((n, 4 * _J)), np.empty((n, 2), np.int64), np.empty(n, np.int64)
    combos, cameras, m = {}, [], 0
    for k, name in enumerate(names):
        file = folder + os.sep + name
        match = NAME.match(name[:-5]) if not name.startswith(".") else None
        doc, kept[k] = _read(file, fields[k] if take_stats else None, match is not None)
        if doc is None:
            continue
        matched[k] = True
        _put_pose(poses, m, doc, file)
        keys[m] = int(match["person"]), int(match["frame"])
        combo[m] = _combo(combos, cameras, (match["panel"], match["cam"], str(doc["cam"])), file)
        m += 1
    joints_3d, joints_2d, visible = camera_frame(poses[:m].reshape(m, _J, 4), combo[:m], cameras)
    stats = (fields[:, 0], fields[:, 1]) if take_stats else (None, None)
    return Part(kept, *stats, matched, joints_3d, joints_2d, visible, keys[:m], combo[:m],
                [(*key, first) for key, (_, first) in combos.items()])


def _combo(combos: dict, cameras: list[Camera], key: tuple, file: str) -> int:
    """The entry of ``key`` (panel, camera, cam string) in ``combos``; a new one is added with its
    camera, parsed from the string (an error names ``file``, the first with it)."""
    entry = combos.get(key)
    if entry is None:
        cameras.append(camera_from_cam(parse_cam(key[2], file), file))
        entry = combos[key] = (len(combos), file)
    return entry[0]


def _read(file: str, fields: np.ndarray | None, sample: bool):
    """``(doc or None, kept)``: the parsed file when it is a ``sample``; with ``fields`` its size and
    modification time go there (and a name that is gone or not a regular file gives kept False)."""
    if fields is None:
        return (_read_doc(file) if sample else None), True
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO named *.json must not block
    except FileNotFoundError:
        return None, False
    except OSError:
        fd = None
    try:
        st = os.fstat(fd) if fd is not None else os.stat(file)
        fields[:] = st.st_size, st.st_mtime_ns
        if not stat.S_ISREG(st.st_mode):
            return None, False
        if not sample:
            return None, True
        data = _read_all(fd, st.st_size) if fd is not None else b""
    finally:
        if fd is not None:
            os.close(fd)
    try:
        return json.loads(data.decode("utf-8")), True  # what json.loads(bytes) does for UTF-8, less its sniffing
    except ValueError:  # UnicodeDecodeError included: the reading that names the error (or a BOM) decides
        return _read_doc(file), True


def _read_all(fd: int, size: int) -> bytes:
    """The file's bytes: one read of its ``size`` (from ``fstat``) and one more byte, more reads only
    if it has grown since."""
    chunks = [os.read(fd, size + 1)]
    while len(chunks[-1]) and sum(map(len, chunks)) > size:
        chunks.append(os.read(fd, 1 << 16))
    return b"".join(chunks)


def _read_doc(file: str):
    """The parsed joints file; on any failure, :func:`read_json`'s error naming the file."""
    try:
        with open(file, "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return read_json(file, "Panoptic joints file")


def _put_pose(poses: np.ndarray, row: int, doc, where: str) -> None:
    """``poses[row]`` = the 76 numbers of the doc's ``poses_3d`` (a flat list straight in, any other
    layout through :func:`_pose`, which names what is wrong)."""
    if not isinstance(doc, dict) or "poses_3d" not in doc or "cam" not in doc:
        raise DatasetError(f"{where}: expected an object with 'poses_3d' and 'cam'")
    values = doc["poses_3d"]
    try:
        if isinstance(values, list) and len(values) == 4 * _J:
            poses[row] = values
            return
    except (TypeError, ValueError):
        pass
    poses[row] = _pose(values, where).reshape(-1)


def _pose(values, where: str) -> np.ndarray:
    try:
        pose = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: 'poses_3d' is not a list of numbers") from None
    if pose.size != 4 * _J:
        raise DatasetError(f"{where}: 'poses_3d' has {pose.size} numbers, expected 19 x (x, y, z, conf) = 76")
    return pose.reshape(_J, 4)


def camera_frame(poses: np.ndarray, camera: np.ndarray, cameras: list[Camera]):
    """``(joints_3d, joints_2d, visible)`` of world poses ``(m, 19, 4)`` (cm + confidence), each row
    in the camera ``cameras[camera[row]]``: mm in its frame, its pixels, and the joints seen."""
    present = np.isfinite(poses[..., :3]).all(-1) & (poses[..., 3] >= 0)
    joints = np.full((len(poses), _J, 3), np.nan, np.float32)
    joints_2d = np.full((len(poses), _J, 2), np.nan, np.float32)
    for c, cam in enumerate(cameras):
        sel = np.flatnonzero(camera == c)
        j = 10.0 * (poses[sel, :, :3] @ cam.R.T) + cam.t
        joints[sel] = np.where(present[sel, :, None], j, np.nan)
        joints_2d[sel] = project(joints[sel], cam.K, cam.dist)
    return joints, joints_2d, present & (poses[..., 3] > 0.1)


# ----------------------------------------------------------------------------- processes
@contextmanager
def part_reader(folders: list[str], parts: list, take_stats: bool, workers: int):
    """An iterator over :func:`read_part` of ``parts`` ((folder index, names) each), in order, read by
    ``workers`` processes (or this one); leaving the context stops them, dropping parts not begun."""
    args = ([folders[s] for s, _ in parts], [names for _, names in parts], [take_stats] * len(parts))
    if workers <= 1:
        yield map(read_part, *args)
        return
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context=_pool_context())
    try:
        yield pool.map(read_part, *args)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def worker_count(workers: int | None, files: int) -> int:
    """``workers``, or one per CPU this process may use (at most 8) from :data:`PARALLEL_FROM` files on."""
    if workers is not None:
        return max(1, int(workers))
    if files < PARALLEL_FROM:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cpus, 8)


def _pool_context():
    """``fork`` on Linux, as PyTorch's DataLoader does (a worker starts in milliseconds with this
    module imported; it only reads and parses files, needing no lock another thread could hold),
    else the platform's default (``spawn`` on macOS and Windows)."""
    import multiprocessing

    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
