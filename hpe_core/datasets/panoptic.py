"""CMU Panoptic, processed layout (as used by seed 000)::

    ProcessedPanopticDataset/<seq>/hdImages/<seq>;hd_PP_CC;person_P;FFFFFFFF.jpg
    ProcessedPanopticDataset/<seq>/hdJoints/<seq>;hd_PP_CC;person_P;FFFFFFFF.json
        {"poses_3d": [x, y, z, conf] * 19 (cm, world), "cam": "<repr of a dict of numpy arrays K, R, t, distCoef>"}
    green_images.txt (optional, in the root, the ProcessedPanopticDataset folder or a sequence)

Accepts the folder holding ``ProcessedPanopticDataset/``, that folder, or one sequence. Joints are
converted to mm in the camera frame (``X_cam = 10 (R X_world + t)``); the ``cam`` string is parsed
with a whitelist over Python's syntax tree, never evaluated. Views of one (sequence, person,
frame) from different cameras share a ``pose_id``; ``green_images.txt`` lists frames to skip.
The files are read by :mod:`hpe_core.datasets.panoptic_files` (in one process per core when there
are many) and indexed by :mod:`hpe_core.datasets.index_cache`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from hpe_core.datasets import index_cache
from hpe_core.datasets.base import PoseDataset
from hpe_core.datasets.folder import FileImages
from hpe_core.datasets.panoptic_files import PART, part_reader, worker_count
from hpe_core.datasets.panoptic_files import camera_from_cam, parse_cam  # noqa: F401  (the reader's API, kept here)
from hpe_core.datasets.skiplist import apply_skip_list, read_skip_list
from hpe_core.errors import DatasetError
from hpe_core.geometry import Camera
from hpe_core.progress import NullProgress, ProgressSink, TerminalProgress, check_cancelled
from hpe_core.skeleton import PANOPTIC19

ROOT_NAME = "ProcessedPanopticDataset"
GREEN_LIST = "green_images.txt"
_COLUMNS = ("joints_3d", "joints_2d", "visible", "pose_id", "camera_id", "sequence", "frame")


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


def read_panoptic(path: str | Path, progress: ProgressSink | None = None, workers: int | None = None) -> PoseDataset:
    """The Panoptic set at ``path``. When it was indexed before, its joints files are listed (names,
    sizes, modification times) and, when the index (:mod:`index_cache`) is of exactly these files,
    their arrays come from there; else every file is read, by ``workers`` processes (default: one
    per CPU this process may use, from :data:`~hpe_core.datasets.panoptic_files.PARALLEL_FROM`
    files on), with ``progress`` (default: a bar on a terminal's stderr) told how far, and the
    index is stored for the next open."""
    path = Path(path)
    base, seqs = _sequences(path)
    if not seqs:
        raise DatasetError(f"{path}: no Panoptic sequences (folders with hdJoints/ and hdImages/)")
    for seq in seqs:
        if not (seq / "hdJoints").is_dir():
            raise DatasetError(f"{seq / 'hdJoints'}: missing (every Panoptic sequence needs hdJoints/ next to "
                               "hdImages/)")
    columns, cameras, matched, listings = _indexed(path, seqs, progress, workers)
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


def _indexed(path: Path, seqs: list[Path], progress: ProgressSink | None, workers: int | None):
    """``(columns, cameras, matched, listings)`` from the index when it is of these files, else from
    the files (then stored). A set never indexed is not listed with a ``stat`` per file first: the
    files' sizes and times are taken as they are read."""
    folders = [seq / "hdJoints" for seq in seqs]
    listings = cached = None
    if index_cache.entry_path("panoptic", path).is_file():
        listings = [index_cache.scan(folder, ".json") for folder in folders]
        cached = index_cache.load("panoptic", path, index_cache.fingerprint(listings, extra="panoptic"))
    if _fits(cached, listings):  # no file read, no name parsed
        columns, cameras = _from_index(*cached)
        return columns, cameras, np.asarray(cached[0]["matched"], dtype=bool), listings
    columns, cameras, matched, listings = _parse(seqs, folders, listings, progress, workers)
    if not matched.any():
        raise DatasetError(f"{path}: no annotation files named '<seq>;hd_PP_CC;person_P;FFFFFFFF.json' in hdJoints/")
    if index_cache.settled(listings):
        index_cache.save("panoptic", path, index_cache.fingerprint(listings, extra="panoptic"),
                         {**columns, **_camera_arrays(cameras), "matched": matched},
                         {"cameras": [cameras[c].name for c in sorted(cameras)]})
    return columns, cameras, matched, listings


def _fits(cached, listings: list) -> bool:
    """Whether a cached index has one ``matched`` flag per listed file and one row per flag set."""
    if cached is None or "matched" not in cached[0] or "joints_3d" not in cached[0]:
        return False
    matched = cached[0]["matched"]
    return (matched.shape == (sum(len(x.names) for x in listings),)
            and int(np.count_nonzero(matched)) == len(cached[0]["joints_3d"]))


def _parse(seqs: list[Path], folders: list[Path], listings: list | None, progress: ProgressSink | None,
           workers: int | None) -> tuple[dict, dict[int, Camera], np.ndarray, list]:
    """``(columns, cameras, matched, listings)`` from every joints file named as a sample (``matched``:
    which of the listed files, the listings one after the other, those are). Without ``listings``
    the folders are listed here and each file's size and time taken as it is read. The names are
    cut into parts of :data:`PART`, read by ``workers`` processes (see
    :func:`~hpe_core.datasets.panoptic_files.worker_count`) and put together in listing order."""
    listed = [index_cache.listed(folder, ".json") for folder in folders] if listings is None else \
        [(x.names, x.scanned_ns) for x in listings]
    parts = [(s, names[k:k + PART]) for s, (names, _) in enumerate(listed) for k in range(0, len(names), PART)]
    total = sum(len(names) for names, _ in listed)
    bar = TerminalProgress(f"indexing {total} Panoptic joints files") if progress is None and total else None
    progress = bar or progress or NullProgress()
    calibrations, got = _Calibrations(seqs), []
    try:
        check_cancelled(progress)
        progress.set_progress(0.0)
        with part_reader([str(f) for f in folders], parts, listings is None, worker_count(workers, total)) as results:
            for (s, names), part in zip(parts, results):
                ids = [calibrations.id_of(text, file, s, panel, cam) for panel, cam, text, file in part.combos]
                got.append((s, part, np.array(ids, np.int32)[part.combo]))
                check_cancelled(progress)
                progress.set_progress(sum(len(p.kept) for _, p, _ in got) / total)
    finally:
        if bar is not None:
            bar.close()
    if listings is None:
        listings = _listings(folders, listed, got)
    matched = np.concatenate([part.matched[part.kept] for _, part, _ in got]) if got else np.zeros(0, bool)
    return _columns(got), calibrations.cameras, matched, listings


def _listings(folders: list[Path], listed: list, got: list) -> list[index_cache.Listing]:
    """The listings of ``folders`` with the sizes and times the parts took (names gone or not
    regular files left out)."""
    out = []
    for s, (folder, (names, start)) in enumerate(zip(folders, listed)):
        parts = [part for t, part, _ in got if t == s]
        kept = np.concatenate([p.kept for p in parts]) if parts else np.zeros(0, bool)
        sizes, mtimes = (np.concatenate([getattr(p, f)[p.kept] for p in parts]) if parts else np.zeros(0, np.int64)
                         for f in ("sizes", "mtimes"))
        out.append(index_cache.Listing(folder, list(itertools.compress(names, kept.tolist())), sizes, mtimes, start))
    return out


class _Calibrations:
    """Camera ids, one per (sequence, panel, camera, calibration); every joints file of a camera
    repeats its calibration text, which is parsed once."""

    def __init__(self, seqs: list[Path]) -> None:
        self.seqs = seqs
        self.cameras: dict[int, Camera] = {}
        self._ids: dict[tuple, int] = {}
        self._parsed: dict[str, tuple[bytes, Camera]] = {}

    def id_of(self, text: str, file: str, s: int, panel: str, cam_name: str) -> int:
        if text not in self._parsed:
            cam = camera_from_cam(parse_cam(text, file), file)
            self._parsed[text] = (b"".join(a.tobytes() for a in (cam.K, cam.R, cam.t, cam.dist)), cam)
        numbers, cam = self._parsed[text]
        key = (s, panel, cam_name, numbers)
        if key not in self._ids:
            self._ids[key] = len(self._ids)
            self.cameras[self._ids[key]] = Camera(K=cam.K, R=cam.R, t=cam.t, dist=cam.dist,
                                                  name=f"{self.seqs[s].name}/hd_{panel}_{cam_name}")
        return self._ids[key]


def _columns(got: list) -> dict:
    """The dataset's columns from the parts' ``(sequence, part, camera ids)``."""
    if not got:
        return {}
    parts = [part for _, part, _ in got]
    keys = np.concatenate([np.c_[np.full(len(p.keys), s, np.int64), p.keys] for s, p, _ in got])
    columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _COLUMNS[:3]}
    return {**columns, "pose_id": _pose_ids(keys), "camera_id": np.concatenate([ids for _, _, ids in got]),
            "sequence": keys[:, 0].astype(np.int32), "frame": keys[:, 2].copy()}


def _pose_ids(keys: np.ndarray) -> np.ndarray:
    """``(N,)`` ids of the distinct (sequence, person, frame) rows of ``keys`` ``(N, 3)``, numbered in
    their sorted order (``np.unique(keys, axis=0)``, as one int64 code when it fits: 10x faster)."""
    span = keys.max(axis=0) + 1 if len(keys) else np.ones(3, np.int64)
    if float(span[0]) * float(span[1]) * float(span[2]) < 2.0 ** 62:
        _, ids = np.unique((keys[:, 0] * span[1] + keys[:, 1]) * span[2] + keys[:, 2], return_inverse=True)
    else:
        _, ids = np.unique(keys, axis=0, return_inverse=True)
    return ids.reshape(-1).astype(np.int64)


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
    columns = {k: arrays[k] for k in _COLUMNS}
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
