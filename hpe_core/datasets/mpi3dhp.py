"""MPI-INF-3DHP's official test set: ``TS1``-``TS6``, each an ``annot_data.mat`` and
``imageSequence/img_000001.jpg`` ...

``annot_data.mat`` holds, as the test set's readme describes: ``annot2`` (2 x 17 x 1 x N px),
``annot3`` (3 x 17 x 1 x N mm, camera frame), ``univ_annot3`` (the same scaled to the height of the
universal skeleton Human3.6M uses), ``valid_frame`` (N: frames the evaluation uses) and
``activity_annotation`` (N: 1-7). Both MATLAB file versions are read: v7.3 is HDF5 (h5py, which
gives the dimensions reversed, N x 1 x 17 x 3, as mmpose's ``preprocess_mpi_inf_3dhp.py`` reads
it), older ones with ``scipy.io.loadmat`` (turned into the same order).

A row per valid frame (the test kit's ``mpii_test_predictions.m`` scores only those; the count of
the others is in ``extra``), joints in the kit's 17-joint order (``mpi3dhp17``), ``univ_annot3`` as
the ``joints_3d_univ`` column. Subject, sequence and camera are the test sequence; the action is
the activity (named as the kit's evaluation reports them). Each sequence's camera: the
intrinsics fitted to ``annot2``/``annot3`` by least squares (as mmpose does; the file has no
calibration), its size that of the sequence's first image. Every row is in the test split.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hpe_core.datasets.base import NoImages, PoseDataset
from hpe_core.datasets.fileio import image_size
from hpe_core.datasets.folder import FileImages
from hpe_core.errors import DatasetError
from hpe_core.geometry import Camera
from hpe_core.skeleton import MPI3DHP17

ANNOTATIONS = "annot_data.mat"
FIELDS = ("annot2", "annot3", "univ_annot3", "valid_frame", "activity_annotation")
ACTIVITIES = ("Stand/Walk", "Exercise", "Sit on Chair", "Reach/Crouch", "On Floor", "Sports", "Misc.")


def find_sequences(path: Path) -> list[Path]:
    """The test sequence folders (holding ``annot_data.mat``) at ``path``: the file, one sequence or the set."""
    if path.is_file():
        return [path.parent] if path.name == ANNOTATIONS else []
    if (path / ANNOTATIONS).is_file():
        return [path]
    number = lambda p: (int(re.sub(r"\D", "", p.name) or 0), p.name)
    return sorted((p.parent for p in path.glob(f"*/{ANNOTATIONS}")), key=number)


def read_mat(path: Path) -> dict[str, np.ndarray]:
    """The fields of ``annot_data.mat`` in HDF5's (reversed) dimension order, whichever MATLAB version."""
    import h5py

    if not path.is_file():
        raise DatasetError(f"{path}: missing annotation file")
    try:
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                return {k: np.array(f[k]) for k in FIELDS if k in f}
        from scipy.io import loadmat

        mat = loadmat(path, variable_names=list(FIELDS))
    except Exception as exc:  # the parsers fail in many ways on a damaged file (scipy: even IndexError)
        raise DatasetError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from None
    return {k: np.asarray(mat[k]).T for k in FIELDS if k in mat}


def _fields(path: Path) -> dict[str, np.ndarray]:
    """annot2 (N, 17, 2), annot3 and univ_annot3 (N, 17, 3), valid_frame (N,) bool, activity (N,) int."""
    raw = read_mat(path)
    missing = [k for k in FIELDS[:4] if k not in raw]
    if missing:
        raise DatasetError(f"{path}: no {', '.join(missing)} (an MPI-INF-3DHP test annotation has {', '.join(FIELDS)})")
    out = {}
    for key, dims in (("annot2", 2), ("annot3", 3), ("univ_annot3", 3)):
        a = np.asarray(raw[key], np.float64)
        if a.size % (17 * dims) or a.shape[-2:] != (17, dims):
            raise DatasetError(f"{path}: {key} has shape {a.shape}, expected N x 1 x 17 x {dims}")
        out[key] = a.reshape(-1, 17, dims)
    n = len(out["annot2"])
    out["valid_frame"] = np.asarray(raw["valid_frame"]).reshape(-1) > 0
    out["activity"] = np.asarray(raw.get("activity_annotation", np.zeros(n))).reshape(-1).astype(np.int64)
    for key in ("annot3", "univ_annot3", "valid_frame", "activity"):
        if len(out[key]) != n:
            raise DatasetError(f"{path}: {key} has {len(out[key])} frames, annot2 {n}")
    return out


def fit_intrinsics(joints_2d: np.ndarray, joints_3d: np.ndarray) -> np.ndarray:
    """(3, 3) K of a distortion-free camera that best maps (N, J, 3) camera-frame joints to (N, J, 2)
    px: u Z = fx X + cx Z and v Z = fy Y + cy Z, each solved by least squares."""
    x, u = joints_3d.reshape(-1, 3), joints_2d.reshape(-1, 2)
    ok = np.isfinite(x).all(1) & np.isfinite(u).all(1) & (x[:, 2] > 0)
    x, u = x[ok], u[ok]
    if len(x) < 2:
        return np.eye(3)
    fx, cx = np.linalg.lstsq(x[:, [0, 2]], u[:, 0] * x[:, 2], rcond=None)[0]
    fy, cy = np.linalg.lstsq(x[:, [1, 2]], u[:, 1] * x[:, 2], rcond=None)[0]
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])


def _activities(activity: np.ndarray) -> tuple[np.ndarray, list[str]]:
    names = list(ACTIVITIES)
    index = activity - 1
    if ((index < 0) | (index >= len(names))).any():
        names.append("(none)")
        index = np.where((index < 0) | (index >= len(ACTIVITIES)), len(ACTIVITIES), index)
    return index.astype(np.int32), names


def read_mpi3dhp(path: str | Path) -> PoseDataset:
    path = Path(path)
    folders = find_sequences(path)
    if not folders:
        raise DatasetError(f"{path}: no MPI-INF-3DHP test sequence (TS*/{ANNOTATIONS})")
    root = folders[0].parent
    parts, cameras, invalid = [], {}, 0
    for k, folder in enumerate(folders):
        f = _fields(folder / ANNOTATIONS)
        keep = np.flatnonzero(f["valid_frame"])
        invalid += len(f["valid_frame"]) - len(keep)
        names = [f"{folder.name}/imageSequence/img_{i + 1:06d}.jpg" for i in keep.tolist()]
        size = image_size(root / names[0]) if names else None
        cameras[k] = Camera(K=fit_intrinsics(f["annot2"][keep], f["annot3"][keep]), width=size[0] if size else 0,
                            height=size[1] if size else 0, name=folder.name)
        parts.append((k, keep, names, f))
    names = np.array([n for _, _, ns, _ in parts for n in ns])
    if len(names) == 0:
        raise DatasetError(f"{path}: no valid frame (valid_frame is 0 everywhere)")
    cat = lambda fn, dtype: np.concatenate([fn(k, keep, f) for k, keep, _, f in parts]).astype(dtype)
    action, action_names = _activities(cat(lambda k, keep, f: f["activity"][keep], np.int64))
    seq = cat(lambda k, keep, f: np.full(len(keep), k), np.int32)
    columns = {
        "joints_3d": cat(lambda k, keep, f: f["annot3"][keep], np.float32),
        "joints_3d_univ": cat(lambda k, keep, f: f["univ_annot3"][keep], np.float32),
        "joints_2d": cat(lambda k, keep, f: f["annot2"][keep], np.float32),
        "visible": np.ones((len(names), 17), bool), "pose_id": np.arange(len(names), dtype=np.int64),
        "camera_id": seq, "subject": seq, "sequence": seq, "action": action,
        "frame": cat(lambda k, keep, f: keep, np.int64),
    }
    images = FileImages(root, names) if (root / names[0]).is_file() else NoImages(
        f"{root}: no {names[0]} (the images of the test set are in TS*/imageSequence/)", names=names.__getitem__)
    seq_names = [folder.name for folder in folders]
    return PoseDataset(path=path, format="mpi3dhp", skeleton=MPI3DHP17, size=len(names), columns=columns,
                       images=images, cameras=cameras,
                       names={"subject": seq_names, "sequence": seq_names, "action": action_names},
                       subject_split={"train": [], "val": seq_names, "test": seq_names},
                       extra={"joint_set": "mpi3dhp17", "invalid_frames": int(invalid)})
