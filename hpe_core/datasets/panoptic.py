"""CMU Panoptic, processed layout (as used by seed 000)::

    ProcessedPanopticDataset/<seq>/hdImages/<seq>;hd_PP_CC;person_P;FFFFFFFF.jpg
    ProcessedPanopticDataset/<seq>/hdJoints/<seq>;hd_PP_CC;person_P;FFFFFFFF.json
        {"poses_3d": [x, y, z, conf] * 19 (cm, world), "cam": "<repr of a dict of numpy arrays K, R, t, distCoef>"}
    green_images.txt (optional, in the root, the ProcessedPanopticDataset folder or a sequence)

Accepts the folder holding ``ProcessedPanopticDataset/``, that folder, or one sequence. Joints are
converted to mm in the camera frame (``X_cam = 10 (R X_world + t)``); the ``cam`` string is parsed
with a whitelist over Python's syntax tree, never evaluated. Views of one (sequence, person,
frame) from different cameras share a ``pose_id``; ``green_images.txt`` lists frames to skip.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
from pathlib import Path

import numpy as np

from hpe_core.datasets import index_cache
from hpe_core.datasets.base import PoseDataset
from hpe_core.datasets.fileio import read_json
from hpe_core.datasets.folder import FileImages
from hpe_core.datasets.skiplist import apply_skip_list, read_skip_list
from hpe_core.errors import DatasetError
from hpe_core.geometry import Camera, project
from hpe_core.progress import ProgressSink, TerminalProgress, check_cancelled
from hpe_core.skeleton import PANOPTIC19

ROOT_NAME = "ProcessedPanopticDataset"
GREEN_LIST = "green_images.txt"
_NAME = re.compile(r"^(?P<seq>.+);hd_(?P<panel>\d+)_(?P<cam>\d+);person_(?P<person>\d+);(?P<frame>\d+)$")
_ARRAY_CALLS = {"array", "matrix", "asarray"}
_NAMED = {"nan": np.nan, "inf": np.inf}


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


# ----------------------------------------------------------------------------- layout
def _sequences(path: Path) -> tuple[Path, list[Path]]:
    """(base folder, sequence folders) for any accepted starting point."""
    if (path / ROOT_NAME).is_dir():
        path = path / ROOT_NAME
    if (path / "hdJoints").is_dir() or (path / "hdImages").is_dir():
        return path.parent, [path]
    seqs = sorted(p for p in path.iterdir() if p.is_dir() and ((p / "hdJoints").is_dir() or (p / "hdImages").is_dir())) \
        if path.is_dir() else []
    return path, seqs


def is_panoptic(path: Path) -> bool:
    return path.is_dir() and (path.name == ROOT_NAME or bool(_sequences(path)[1]))


def _pose(doc, where: str) -> np.ndarray:
    if not isinstance(doc, dict) or "poses_3d" not in doc or "cam" not in doc:
        raise DatasetError(f"{where}: expected an object with 'poses_3d' and 'cam'")
    try:
        pose = np.asarray(doc["poses_3d"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: 'poses_3d' is not a list of numbers") from None
    if pose.size != 4 * PANOPTIC19.num_joints:
        raise DatasetError(f"{where}: 'poses_3d' has {pose.size} numbers, expected 19 x (x, y, z, conf) = 76")
    return pose.reshape(PANOPTIC19.num_joints, 4)


def read_panoptic(path: str | Path, progress: ProgressSink | None = None) -> PoseDataset:
    """The Panoptic set at ``path``. Its joints files are listed (names, sizes, modification
    times) and, when an index of exactly these files is cached (:mod:`index_cache`), their arrays
    come from there; else every file is parsed, with ``progress`` (default: a bar on a terminal's
    stderr) told how far, and the index is stored for the next open."""
    path = Path(path)
    base, seqs = _sequences(path)
    if not seqs:
        raise DatasetError(f"{path}: no Panoptic sequences (folders with hdJoints/ and hdImages/)")
    listings = []
    for seq in seqs:
        joints_dir = seq / "hdJoints"
        if not joints_dir.is_dir():
            raise DatasetError(f"{joints_dir}: missing (every Panoptic sequence needs hdJoints/ next to hdImages/)")
        listings.append(index_cache.scan(joints_dir, ".json"))
    key = index_cache.fingerprint(listings, extra="panoptic")
    cached = index_cache.load("panoptic", path, key)
    if _fits(cached, listings):  # no file read, no name parsed
        columns, cameras = _from_index(*cached)
        matched = np.asarray(cached[0]["matched"], dtype=bool)
    else:
        rows, matched = _sample_files(listings)
        if not rows:
            raise DatasetError(f"{path}: no annotation files named '<seq>;hd_PP_CC;person_P;FFFFFFFF.json' in hdJoints/")
        columns, cameras = _parse(seqs, rows, progress)
        if index_cache.settled(listings):
            index_cache.save("panoptic", path, key, {**columns, **_camera_arrays(cameras), "matched": matched},
                             {"cameras": [cameras[c].name for c in sorted(cameras)]})
    names, offset = [], 0
    for seq, listing in zip(seqs, listings):
        prefix, keep = f"{seq.name}/hdImages/", matched[offset:offset + len(listing.names)].tolist()
        names += [prefix + name[:-5] + ".jpg" for name in itertools.compress(listing.names, keep)]
        offset += len(listing.names)
    names = np.array(names, dtype=object)
    dataset = PoseDataset(path=path, format="panoptic", skeleton=PANOPTIC19, size=len(names), cameras=cameras,
                          columns=columns, images=FileImages(base, names),
                          names={"sequence": [s.name for s in seqs]})
    for green in _green_lists(path, base, seqs):
        dataset = apply_skip_list(dataset, read_skip_list(green))
    return dataset


def _fits(cached, listings: list) -> bool:
    """Whether a cached index has one ``matched`` flag per listed file and one row per flag set."""
    if cached is None or "matched" not in cached[0] or "joints_3d" not in cached[0]:
        return False
    matched = cached[0]["matched"]
    return (matched.shape == (sum(len(x.names) for x in listings),)
            and int(np.count_nonzero(matched)) == len(cached[0]["joints_3d"]))


def _sample_files(listings: list) -> tuple[list, np.ndarray]:
    """``(rows, matched)``: (sequence, name match) of each joints file named as a sample, and
    which of all the listed files (the listings one after the other) those are."""
    rows, matched = [], []
    for s, listing in enumerate(listings):
        for name in listing.names:
            match = _NAME.match(name[:-5]) if not name.startswith(".") else None
            matched.append(match is not None)
            if match:
                rows.append((s, match))
    return rows, np.array(matched, dtype=bool)


def _parse(seqs: list[Path], rows: list, progress: ProgressSink | None) -> tuple[dict, dict[int, Camera]]:
    """Columns and cameras from every joints file of ``rows`` ((sequence, name match) each)."""
    n = len(rows)
    bar = TerminalProgress(f"indexing {n} Panoptic joints files") if progress is None else None
    progress = bar or progress
    poses = np.empty((n, PANOPTIC19.num_joints, 4), np.float64)
    camera_id = np.zeros(n, np.int32)
    keys = np.zeros((n, 3), np.int64)  # sequence, person, frame -> pose id
    calibrations = _Calibrations(seqs)
    folders = [os.path.join(seq, "hdJoints") for seq in seqs]
    try:
        for i, (s, match) in enumerate(rows):
            if i % 2000 == 0:
                check_cancelled(progress)
                progress.set_progress(i / n)
            file = os.path.join(folders[s], match.string + ".json")
            doc = _read_doc(file)
            poses[i] = _pose(doc, file)
            camera_id[i] = calibrations.id_of(str(doc["cam"]), str(file), s, match)
            keys[i] = (s, int(match["person"]), int(match["frame"]))
        progress.set_progress(1.0)
    finally:
        if bar is not None:
            bar.close()
    return _columns(poses, camera_id, keys, calibrations.cameras), calibrations.cameras


class _Calibrations:
    """Camera ids, one per (sequence, panel, camera, calibration); every joints file of a camera
    repeats its calibration text, which is parsed once."""

    def __init__(self, seqs: list[Path]) -> None:
        self.seqs = seqs
        self.cameras: dict[int, Camera] = {}
        self._ids: dict[tuple, int] = {}
        self._parsed: dict[str, tuple[bytes, Camera]] = {}

    def id_of(self, text: str, file: str, s: int, match) -> int:
        if text not in self._parsed:
            cam = camera_from_cam(parse_cam(text, file), file)
            self._parsed[text] = (b"".join(a.tobytes() for a in (cam.K, cam.R, cam.t, cam.dist)), cam)
        numbers, cam = self._parsed[text]
        key = (s, match["panel"], match["cam"], numbers)
        if key not in self._ids:
            self._ids[key] = len(self._ids)
            self.cameras[self._ids[key]] = Camera(K=cam.K, R=cam.R, t=cam.t, dist=cam.dist,
                                                  name=f"{self.seqs[s].name}/hd_{match['panel']}_{match['cam']}")
        return self._ids[key]


def _columns(poses: np.ndarray, camera_id: np.ndarray, keys: np.ndarray, cameras: dict[int, Camera]) -> dict:
    """The dataset's columns from world poses ``(N, 19, 4)`` cm + confidence, in each row's camera."""
    n = len(poses)
    present = np.isfinite(poses[..., :3]).all(-1) & (poses[..., 3] >= 0)
    joints = np.full((n, PANOPTIC19.num_joints, 3), np.nan, np.float32)
    joints_2d = np.full((n, PANOPTIC19.num_joints, 2), np.nan, np.float32)
    for cid, cam in cameras.items():
        sel = np.flatnonzero(camera_id == cid)
        j = 10.0 * (poses[sel, :, :3] @ cam.R.T) + cam.t
        joints[sel] = np.where(present[sel, :, None], j, np.nan)
        joints_2d[sel] = project(joints[sel], cam.K, cam.dist)
    _, pose_id = np.unique(keys, axis=0, return_inverse=True)
    return {"joints_3d": joints, "joints_2d": joints_2d, "visible": present & (poses[..., 3] > 0.1),
            "pose_id": pose_id.reshape(-1).astype(np.int64), "camera_id": camera_id,
            "sequence": keys[:, 0].astype(np.int32), "frame": keys[:, 2].copy()}


def _read_doc(file: str):
    """The parsed joints file; on any failure, :func:`read_json`'s error naming the file."""
    try:
        with open(file, "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return read_json(file, "Panoptic joints file")


def _camera_arrays(cameras: dict[int, Camera]) -> dict[str, np.ndarray]:
    ids = sorted(cameras)
    width = max((cameras[c].dist.size for c in ids), default=0)
    dist = np.full((len(ids), width), np.nan)
    for row, c in enumerate(ids):
        dist[row, :cameras[c].dist.size] = cameras[c].dist
    return {"cam_id": np.array(ids, np.int64), "cam_K": np.array([cameras[c].K for c in ids]).reshape(-1, 3, 3),
            "cam_R": np.array([cameras[c].R for c in ids]).reshape(-1, 3, 3),
            "cam_t": np.array([cameras[c].t for c in ids]).reshape(-1, 3), "cam_dist": dist,
            "cam_dist_len": np.array([cameras[c].dist.size for c in ids], np.int64)}


def _from_index(arrays: dict, meta: dict) -> tuple[dict, dict[int, Camera]]:
    names = meta["cameras"]
    cameras = {int(c): Camera(K=np.array(arrays["cam_K"][r]), R=np.array(arrays["cam_R"][r]),
                              t=np.array(arrays["cam_t"][r]),
                              dist=np.array(arrays["cam_dist"][r, :int(arrays["cam_dist_len"][r])]), name=names[r])
               for r, c in enumerate(arrays["cam_id"])}
    columns = {k: arrays[k] for k in ("joints_3d", "joints_2d", "visible", "pose_id", "camera_id", "sequence", "frame")}
    return columns, cameras


def _green_lists(path: Path, base: Path, seqs: list[Path]) -> list[Path]:
    places = [path, base, base.parent, *seqs]
    seen, out = set(), []
    for folder in places:
        f = (folder / GREEN_LIST).resolve()
        if f.is_file() and f not in seen:
            seen.add(f)
            out.append(f)
    return out
