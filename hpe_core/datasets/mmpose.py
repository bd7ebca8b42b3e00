"""mmpose's body3d layout: Human3.6M and MPI-INF-3DHP with their images.

An ``.npz`` of ``imgname`` (N,), ``center`` (N, 2) px and ``scale`` (N,) (the person box: side =
200 x scale px), ``part`` (N, J, 3: x, y px, visibility) and ``S`` (N, J, 4: x, y, z metres in the
camera frame, visibility), with the ``cameras*.pkl`` written beside it, as mmpose's
``tools/dataset_converters/preprocess_h36m.py`` and ``preprocess_mpi_inf_3dhp.py`` make them. The
camera pickle is read by the allow-list unpickler (:mod:`hpe_core.datasets.safe_pickle`).

Joints keep the file's joint set: ``h36m17`` for Human3.6M (image names
``S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg``), ``mpi3dhp17`` for
MPI-INF-3DHP (``S1_Seq1_Cam0_000001.jpg``; test ``TS1_000001.jpg``), told by the file's name
(``h36m*`` / ``mpi_inf_3dhp*``), else by its image names. Subject, sequence (Human3.6M's
subject + action, MPI-INF-3DHP's ``S1_Seq1`` or test sequence ``TS1``), action (Human3.6M),
camera and frame come from the image names; the views of one frame share a ``pose_id``. The
file's visibility flag marks joints inside the image (mmpose sets it so); a joint outside the
image is still annotated, so ``visible`` is True wherever the file has a joint, as mmpose's own
evaluation counts every joint. ``center`` and ``scale`` are kept as columns, and make the person box
(``boxes``: centre +- 100 x scale, :mod:`hpe_core.datasets.boxes`).

Images: ``imgname`` relative to a given folder, else the file's folder, else an ``images/``
folder beside the file or beside one of the two folders above it (mmpose writes
``processed/images/`` and ``processed/annotation_body3d/fps10/h36m_train.npz``). Splits by
subject: Human3.6M S1, S5, S6, S7, S8 train and S9, S11 test; MPI-INF-3DHP S1-S8 train, TS1-TS6 test.

Opening parses the N image names once, vectorised, and keeps the per-row labels in the index
cache (:mod:`hpe_core.datasets.index_cache`), keyed by the file's and the camera pickle's
sizes and modification times: a second open reads only them. Joints convert on first use.
"""

from __future__ import annotations

import functools
import re
import time
from pathlib import Path

import numpy as np

from hpe_core.datasets import index_cache
from hpe_core.datasets.base import LazyArray, NoImages, PoseDataset
from hpe_core.datasets.boxes import boxes_from_center_scale
from hpe_core.datasets.fileio import load_npz_member, npz_member_shape, npz_members
from hpe_core.datasets.folder import FileImages
from hpe_core.datasets.mmpose_names import parse_names
from hpe_core.errors import DatasetError
from hpe_core.geometry import Camera
from hpe_core.skeleton import H36M17, MPI3DHP17

MEMBERS = ("imgname", "center", "scale", "part", "S")
SUBJECT_SPLIT = {
    "h36m17": {"train": ["S1", "S5", "S6", "S7", "S8"], "val": ["S9", "S11"], "test": ["S9", "S11"]},
    "mpi3dhp17": {"train": [f"S{k}" for k in range(1, 9)], "val": [f"TS{k}" for k in range(1, 7)],
                  "test": [f"TS{k}" for k in range(1, 7)]},
}
LABELS = ("sequence", "frame", "camera_id", "subject", "action", "pose_id")
CHUNK = 1 << 18  # rows converted at a time


def is_mmpose_file(path: Path) -> bool:
    """An ``.npz`` holding mmpose's body3d arrays (reads only the zip's table of contents)."""
    try:
        return path.suffix.lower() == ".npz" and set(MEMBERS) <= set(npz_members(path))
    except DatasetError:
        return False


def find_files(folder: Path) -> list[Path]:
    """mmpose body3d files in ``folder``, its ``annotations/`` or its ``annotation_body3d/fps*/``."""
    places = [folder, folder / "annotations", *sorted((folder / "annotation_body3d").glob("fps*"))]
    return [f for place in places if place.is_dir() for f in sorted(place.glob("*.npz")) if is_mmpose_file(f)]


def _resolve(path: Path) -> Path:
    if path.is_file():
        return path
    found = find_files(path)
    if len(found) > 1:
        raise DatasetError(f"{path}: several mmpose body3d files ({', '.join(f.name for f in found)}); open one of them")
    if not found:
        raise DatasetError(f"{path}: no mmpose body3d .npz (imgname, center, scale, part, S)")
    return found[0]


class _Members:
    """The file's arrays, each read on first use (memory-mapped when stored, as ``np.savez`` does)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.n = self.j = None
        self._read: dict[str, np.ndarray] = {}

    def get(self, name: str) -> np.ndarray:
        if name not in self._read:
            self._read[name] = self._names() if name == "imgname" else self._array(name)
        return self._read[name]

    def _array(self, name: str) -> np.ndarray:  # shapes checked by check()
        array = load_npz_member(self.path, name)
        return array.reshape(-1) if name == "scale" else array

    def _names(self) -> np.ndarray:
        try:
            names = load_npz_member(self.path, "imgname")
        except DatasetError as exc:
            if "Python objects" not in str(exc):
                raise
            from hpe_core.datasets.safe_pickle import load_pickled_member

            names = np.asarray([str(v) for v in load_pickled_member(self.path, "imgname")])
        if names.ndim != 1 or names.dtype.kind not in "US" or len(names) == 0:
            raise DatasetError(f"{self.path}: imgname must be a non-empty (N,) array of strings, got "
                               f"{names.dtype} {names.shape}")
        return names

    def check(self) -> None:
        """N from imgname, J from S, every shape from the headers (nothing else read)."""
        self.n = len(self.get("imgname"))
        s = npz_member_shape(self.path, "S")
        if len(s) != 3 or s[0] != self.n or s[2] != 4:
            raise DatasetError(f"{self.path}: S has shape {s}, expected ({self.n}, J, 4)")
        self.j = s[1]
        if self.j != 17:
            raise DatasetError(f"{self.path}: S has {self.j} joints; mmpose's Human3.6M and MPI-INF-3DHP have 17")
        for name, want in (("center", [(self.n, 2)]), ("scale", [(self.n,), (self.n, 1)]),
                           ("part", [(self.n, self.j, 3)])):
            shape = npz_member_shape(self.path, name)
            if shape not in want:
                raise DatasetError(f"{self.path}: {name} has shape {shape}, expected {want[0]}")


def _converted(source: np.ndarray, take, factor: float = 1.0) -> np.ndarray:
    """``take(source[a:b]) * factor`` as float32 over all rows, a chunk at a time (bounded memory)."""
    first = np.asarray(take(source[:1]))
    out = np.empty((len(source),) + first.shape[1:], np.float32)
    for a in range(0, len(source), CHUNK):
        out[a:a + CHUNK] = np.asarray(take(source[a:a + CHUNK]), np.float64) * factor
    return out


def _joint_set(path: Path, names: np.ndarray) -> str:
    stem = path.stem.lower()
    if stem.startswith("h36m"):
        return "h36m17"
    if stem.startswith(("mpi_inf_3dhp", "mpi-inf-3dhp", "3dhp")):
        return "mpi3dhp17"
    base = str(names[0]).rsplit("/", 1)[-1]
    return "h36m17" if re.match(r"^S\d+_.+\.\d+_\d+\.\w+$", base) else "mpi3dhp17"


# ---------------------------------------------------------------------------- the cached labels
def _listing(path: Path) -> index_cache.Listing:
    st = path.stat()
    return index_cache.Listing(path.parent, [path.name], np.array([st.st_size], np.int64),
                               np.array([st.st_mtime_ns], np.int64), time.time_ns())


def _labels(path: Path, members: _Members, cameras_file: Path | None, joint_set: str) -> tuple[dict, dict]:
    """``(arrays, meta)``: the per-row labels and their names, from the index cache or parsed."""
    listings = [_listing(path)] + ([_listing(cameras_file)] if cameras_file else [])
    key = index_cache.fingerprint(listings, extra=f"mmpose:{joint_set}")
    cached = index_cache.load("mmpose", path, key)
    if cached is not None and set(LABELS) <= set(cached[0]):
        return cached
    arrays, meta = parse_names(members.get("imgname"), joint_set)
    if index_cache.settled(listings):
        index_cache.save("mmpose", path, key, arrays, meta)
    return arrays, meta


# ---------------------------------------------------------------------------- cameras and images
def _cameras_file(path: Path) -> Path | None:
    """``cameras*.pkl`` in the file's folder or one of the two above; of several, the one whose
    name shares the file's split (``cameras_test.pkl`` for ``mpi_inf_3dhp_test_valid.npz``)."""
    for folder in (path.parent, path.parent.parent, path.parent.parent.parent):
        found = sorted(folder.glob("cameras*.pkl"))
        if len(found) == 1:
            return found[0]
        fitting = [f for f in found if f.stem.split("_", 1)[-1] in path.stem.lower()]
        if len(fitting) == 1:
            return fitting[0]
    return None


def _camera(key: str, param) -> Camera:
    """One mmpose camera dict (``f``, ``c`` px; optional ``R``, ``T`` m camera-to-world as mmpose's
    SimpleCamera reads them, ``k``, ``p`` distortion, ``w``, ``h``) as a :class:`Camera` (mm)."""
    try:
        f, c = np.asarray(param["f"], np.float64).reshape(2), np.asarray(param["c"], np.float64).reshape(2)
        K = [[f[0], 0, c[0]], [0, f[1], c[1]], [0, 0, 1]]
        R = np.asarray(param.get("R", np.eye(3)), np.float64).reshape(3, 3)
        T = np.asarray(param.get("T", np.zeros(3)), np.float64).reshape(3) * 1000.0
        k = np.asarray(param.get("k", np.zeros(3)), np.float64).reshape(-1)
        p = np.asarray(param.get("p", np.zeros(2)), np.float64).reshape(-1)
        dist = [k[0], k[1], p[0], p[1], k[2]] if len(k) >= 3 and len(p) == 2 else np.zeros(5)
        return Camera(K=K, R=R.T, t=-R.T @ T, dist=dist, width=int(param.get("w", 0)),
                      height=int(param.get("h", 0)), name=key)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DatasetError(f"camera {key}: not an mmpose camera ({type(exc).__name__}: {exc})") from None


def _read_cameras(file: Path | None, keys: list[str]) -> dict[int, Camera]:
    """The cameras of ``keys`` ("S1/54138969" for Human3.6M's (subject, id) keys, else the image
    name prefix mmpose uses: "S1_Seq1_Cam0", "TS1") found in ``file``."""
    if file is None:
        return {}
    from hpe_core.datasets.safe_pickle import load_pickle_file

    table = load_pickle_file(file, "camera pickle")
    if not isinstance(table, dict):
        raise DatasetError(f"{file}: not a dict of cameras")
    out = {}
    for k, key in enumerate(keys):
        param = table.get(tuple(key.split("/"))) if "/" in key else table.get(key)
        if param is not None:
            try:
                out[k] = _camera(key, param)
            except DatasetError as exc:
                raise DatasetError(f"{file}: {exc}") from None
    return out


def _images(path: Path, names: np.ndarray, images: str | Path | None):
    first = str(names[0])
    if images is not None:
        root = Path(images).expanduser()
        if not (root / first).is_file():
            raise DatasetError(f"{root}: no image {first} (the first of {path.name}) in this folder")
        return FileImages(root, names)
    candidates = [path.parent] + [p / "images" for p in (path.parent, path.parent.parent, path.parent.parent.parent)]
    for root in candidates:
        if (root / first).is_file():
            return FileImages(root, names)
    return NoImages(f"{path}: its images were not found ({first} under {', '.join(map(str, candidates))}); "
                    "give the image folder", names=lambda row: str(names[row]))


# ---------------------------------------------------------------------------- the reader
def read_mmpose(path: str | Path, images: str | Path | None = None) -> PoseDataset:
    """The mmpose body3d file ``path`` (or the one in a folder); ``images``: their folder, if not found."""
    path = _resolve(Path(path))
    members = _Members(path)
    members.check()
    names = members.get("imgname")
    joint_set = _joint_set(path, names)
    skeleton = {"h36m17": H36M17, "mpi3dhp17": MPI3DHP17}[joint_set]
    cameras_file = _cameras_file(path)
    labels, meta = _labels(path, members, cameras_file, joint_set)
    n, j = members.n, members.j
    get = members.get
    columns = {
        "joints_3d": LazyArray(lambda: _converted(get("S"), lambda s: s[..., :3], 1000.0),
                               lambda r: (np.asarray(get("S")[r, :, :3], np.float64) * 1000.0).astype(np.float32)),
        "joints_2d": LazyArray(lambda: _converted(get("part"), lambda s: s[..., :2]),
                               lambda r: np.asarray(get("part")[r, :, :2], np.float32)),
        "visible": LazyArray(functools.partial(np.ones, (n, j), bool)),
        "center": LazyArray(lambda: np.asarray(get("center"), np.float32)),
        "scale": LazyArray(lambda: np.asarray(get("scale"), np.float32)),
        "boxes": LazyArray(lambda: boxes_from_center_scale(get("center"), get("scale")),
                           lambda r: boxes_from_center_scale(get("center")[r], np.ravel(get("scale")[r]))[0]),
        **{name: labels[name] for name in LABELS if name != "action" or meta["actions"]},
    }
    source = _images(path, names, images)
    return PoseDataset(
        path=path, format="mmpose", skeleton=skeleton, size=n, columns=columns, images=source,
        cameras=_read_cameras(cameras_file, meta["cameras"]),
        names={"subject": meta["subjects"], "action": meta["actions"], "sequence": meta["sequences"]},
        subject_split=SUBJECT_SPLIT[joint_set],
        extra={"joint_set": joint_set, "boxes": "mmpose center +- 100 x scale", "camera_file": str(cameras_file) if cameras_file else None,
               "image_root": str(source.root) if isinstance(source, FileImages) else None})
