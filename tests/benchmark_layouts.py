"""Tiny fixtures in the official schemas of the benchmark datasets, written as their own tools write them.

- mmpose body3d: as ``tools/dataset_converters/preprocess_h36m.py`` and ``preprocess_mpi_inf_3dhp.py``
  (open-mmlab/mmpose) write them: ``np.savez`` of imgname / center / scale / part / S (S in metres,
  camera frame), ``pickle.dump`` of the camera dicts (R, T camera-to-world as mmpose's
  ``SimpleCamera`` reads them; f, c, k, p, w, h), images under ``images/``.
- MPI-INF-3DHP test set: ``TS*/annot_data.mat`` as its readme describes (annot2 2x17x1xN,
  annot3 / univ_annot3 3x17x1xN mm, valid_frame, activity_annotation), in MATLAB v5 (scipy's
  savemat) or v7.3 (HDF5 with MATLAB's 512-byte header, as mmpose reads it with h5py), and
  ``TS*/imageSequence/img_%06d.jpg``.
- 3DPW: ``sequenceFiles/<split>/<seq>.pkl`` as its readme lists the fields, pickled the way
  Python 2 writes it (protocol 2, byte strings as BINSTRING, NumPy under ``numpy.core``), and
  ``imageFiles/<seq>/image_%05d.jpg``.
Every image is a flat grey whose level encodes its row, so a test can tell which file was read.
"""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import cv2
import numpy as np

W, H = 64, 48


def grey(path: Path, level: int, size=(W, H)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((size[1], size[0], 3), level, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 100])


def look_at(angle: float, distance: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(R camera-to-world (3, 3), centre (3,)) of a camera on a circle looking at the origin (y down)."""
    centre = distance * np.array([np.sin(angle), 0.0, -np.cos(angle)])
    z = -centre / distance
    y = np.array([0.0, 1.0, 0.0])
    return np.stack([np.cross(y, z), y, z], axis=1), centre


def mmpose_pixels(cam_points: np.ndarray, param: dict) -> np.ndarray:
    """mmpose's ``SimpleCamera.camera_to_pixel`` (Human3.6M's distortion model), written out."""
    x = cam_points[..., :2] / cam_points[..., 2:]
    k, p = np.ravel(param.get("k", np.zeros(3))), np.ravel(param.get("p", np.zeros(2)))
    r2 = (x ** 2).sum(-1)
    radial = 1 + k[0] * r2 + k[1] * r2 ** 2 + k[2] * r2 ** 3
    tangential = 2 * (p[1] * x[..., 0] + p[0] * x[..., 1])
    x = x * (radial + tangential)[..., None] + r2[..., None] * p[::-1]
    return x * np.ravel(param["f"]) + np.ravel(param["c"])


def _boxes(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """center and scale as mmpose's converters compute them (scale factor 1.2, over 200 px)."""
    lo, hi = part[..., :2].min(1), part[..., :2].max(1)
    return (lo + hi) / 2, 1.2 * (hi - lo).max(1) / 200


def write_mmpose_h36m(root: Path, seed: int = 0, zoom: int = 1) -> dict:
    """``root/processed/annotation_body3d/{cameras.pkl, fps10/h36m_test.npz}`` + ``root/processed/images/``
    (``zoom``: images ``zoom`` times 64 x 48, the intrinsics with them)."""
    rng = np.random.default_rng(seed)
    ids = ("54138969", "55011271")
    cameras, rows = {}, []
    for subject in ("S9", "S11"):
        for c, cid in enumerate(ids):
            R, centre = look_at(0.6 * c + 0.1 * int(subject[1:]))
            cameras[(subject, cid)] = {"R": R, "T": centre.reshape(3, 1), "c": np.array([[32.0], [24.0]]) * zoom,
                                       "f": np.array([[60.0], [61.0]]) * zoom,
                                       "k": np.array([[0.02], [-0.01], [0.003]]),
                                       "p": np.array([[0.001], [-0.002]]), "w": W * zoom, "h": H * zoom,
                                       "name": f"camera{c + 1}", "id": cid}
    for subject, action in (("S9", "Walking_1"), ("S11", "Directions")):
        world = rng.normal(0, 0.25, (3, 17, 3))  # metres
        for cid in ids:
            param = cameras[(subject, cid)]
            cam = (world - param["T"].T) @ param["R"]  # SimpleCamera.world_to_camera
            base = f"{subject}_{action}.{cid}"
            for t, frame in enumerate((1, 6, 11)):
                rows.append((f"{subject}/{base}/{base}_{frame:06d}.jpg", cam[t], mmpose_pixels(cam[t], param), world[t]))
    names = np.array([r[0] for r in rows])
    S = np.concatenate([np.stack([r[1] for r in rows]), np.ones((len(rows), 17, 1))], -1)
    part = np.concatenate([np.stack([r[2] for r in rows]), np.ones((len(rows), 17, 1))], -1)
    center, scale = _boxes(part)
    folder = root / "processed" / "annotation_body3d"
    (folder / "fps10").mkdir(parents=True)
    np.savez(folder / "fps10" / "h36m_test.npz", imgname=names, center=center, scale=scale, part=part, S=S)
    with open(folder / "cameras.pkl", "wb") as fh:
        pickle.dump(cameras, fh)
    for k, name in enumerate(names):
        grey(root / "processed" / "images" / name, 10 + 5 * k, (W * zoom, H * zoom))
    return {"npz": folder / "fps10" / "h36m_test.npz", "names": names, "S": S, "part": part, "center": center,
            "scale": scale, "cameras": cameras, "world": np.stack([r[3] for r in rows])}


def write_mmpose_3dhp(out: Path, seed: int = 1) -> dict:
    """``out/annotations/{mpi_inf_3dhp_test_valid.npz, cameras_test.pkl, cameras_train.pkl}`` + ``out/images/``."""
    rng = np.random.default_rng(seed)
    cams = {f"TS{k}": {"c": np.array([[30.0 + k], [25.0]]), "f": np.array([[55.0], [56.0]]), "w": W, "h": H,
                       "name": f"test_cam_{k}"} for k in (1, 2)}
    names, S, part = [], [], []
    for ts, frames in (("TS1", (1, 2, 4)), ("TS2", (3, 5))):
        cam = rng.normal(0, 0.25, (len(frames), 17, 3)) + [0, 0, 4.0]
        px = cam[..., :2] / cam[..., 2:] * np.ravel(cams[ts]["f"]) + np.ravel(cams[ts]["c"])
        inside = ((px >= 0) & (px < [W, H])).all(-1, keepdims=True).astype(float)  # mmpose's visibility
        names += [f"{ts}_{f:06d}.jpg" for f in frames]
        S.append(np.concatenate([cam, inside], -1))
        part.append(np.concatenate([px, inside], -1))
    S, part = np.concatenate(S), np.concatenate(part)
    center, scale = _boxes(part)
    folder = out / "annotations"
    folder.mkdir(parents=True)
    np.savez(folder / "mpi_inf_3dhp_test_valid.npz", imgname=np.array(names), center=center, scale=scale,
             part=part, S=S)
    for split, table in (("test", cams), ("train", {"S1_Seq1_Cam0": dict(cams["TS1"], name="train_cam_0")})):
        with open(folder / f"cameras_{split}.pkl", "wb") as fh:
            pickle.dump(table, fh)
    for k, name in enumerate(names):
        grey(out / "images" / name, 40 + 20 * k)
    return {"npz": folder / "mpi_inf_3dhp_test_valid.npz", "names": names, "S": S, "part": part, "cameras": cams}


# ---------------------------------------------------------------------------- MPI-INF-3DHP test set
def _matlab_v73(path: Path, fields: dict) -> None:
    """An HDF5 file with MATLAB's 512-byte header and dimensions reversed, as MATLAB -v7.3 saves."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        for key, value in fields.items():
            f.create_dataset(key, data=np.asarray(value, np.float64).T)  # MATLAB writes column-major
            f[key].attrs["MATLAB_class"] = np.bytes_("double")
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2018 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(text.ljust(116) + b"\0" * 8 + b"\x00\x02" + b"IM")


def write_3dhp_test(root: Path, version: str, seed: int = 2, zoom: int = 1) -> dict:
    """``root/TS1`` (2048-wide in the real set) and ``root/TS5``: annot_data.mat of ``version`` ("v5" or
    "v7.3") + the valid frames' images (``zoom`` times 64 x 48). Returns the MATLAB-shaped arrays per sequence."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    out = {}
    for ts, n, size in (("TS1", 5, (W * zoom, H * zoom)), ("TS5", 3, (H * zoom, W * zoom))):
        K = np.array([[50.0 * zoom, 0, size[0] / 2], [0, 51.0 * zoom, size[1] / 2], [0, 0, 1]])
        annot3 = rng.normal(0, 250, (n, 17, 3)) + [0, 0, 4000.0]  # mm, camera frame
        annot2 = annot3[..., :2] / annot3[..., 2:] * K[[0, 1], [0, 1]] + K[:2, 2]
        fields = {"annot2": annot2.T[:, :, None, :], "annot3": annot3.T[:, :, None, :],  # 2x17x1xN, 3x17x1xN
                  "univ_annot3": (0.9 * annot3).T[:, :, None, :],
                  "valid_frame": np.array([[1, 1, 0, 1, 1][:n]], float),
                  "activity_annotation": np.array([[1, 2, 2, 7, 0][:n]], float)}
        folder = root / ts
        folder.mkdir(parents=True)
        if version == "v7.3":
            _matlab_v73(folder / "annot_data.mat", fields)
        else:
            savemat(folder / "annot_data.mat", fields, format="5")
        for i in np.flatnonzero(fields["valid_frame"][0]):
            grey(folder / "imageSequence" / f"img_{i + 1:06d}.jpg", 30 + 10 * int(i), size)
        out[ts] = dict(fields, K=K, size=size)
    return out


# ---------------------------------------------------------------------------- 3DPW
class Py2Pickler(pickle._Pickler):
    """Writes what Python 2's pickle writes at protocol 2: byte strings (a Python 2 ``str``) as
    (SHORT_)BINSTRING, the module ``__builtin__``, NumPy's array rebuilder under ``numpy.core``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file):
        super().__init__(file, protocol=2)

    def save_py2_str(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None):
        name = name or obj.__qualname__
        module = pickle.whichmodule(obj, name).replace("numpy._core", "numpy.core").replace("builtins", "__builtin__")
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)


def py2_pickle(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        Py2Pickler(fh).dump(obj)


def write_pw3d(root: Path, seed: int = 3, zoom: int = 1) -> dict:
    """``root/sequenceFiles/{test,validation}/*.pkl`` + ``root/imageFiles/<seq>/image_%05d.jpg`` (portrait,
    ``zoom`` times 48 x 64)."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, seq, actors, t in (("test", "downtown_walking_00", 2, 4), ("validation", "courtyard_hug_01", 1, 3)):
        cam_poses = np.tile(np.eye(4), (t, 1, 1))
        for f in range(t):  # a phone that turns and moves: world -> camera per frame
            R, centre = look_at(0.05 * f)
            cam_poses[f, :3, :3], cam_poses[f, :3, 3] = R.T, -R.T @ centre
        doc = {"sequence": seq, "genders": ["m", "f"][:actors], "cam_intrinsics": np.array(
                   [[50.0 * zoom, 0, H * zoom / 2], [0, 50.0 * zoom, W * zoom / 2], [0, 0, 1]]),
               "cam_poses": cam_poses,
               "img_frame_ids": np.arange(t) * 2, "betas": [rng.normal(size=10) for _ in range(actors)],
               "poses": [rng.normal(size=(t, 72)) for _ in range(actors)],
               "trans": [rng.normal(size=(t, 3)) for _ in range(actors)],
               "jointPositions": [rng.normal(0, 0.3, (t, 72)) + np.tile([0.5 * a, 0, 0], 24) for a in range(actors)],
               "poses2d": [rng.uniform(0, 48, (t, 3, 18)) * [[zoom], [zoom], [1]] for _ in range(actors)],
               "campose_valid": [np.array([1, 1, 0, 1][:t]) if a == 1 else np.ones(t) for a in range(actors)]}
        py2_pickle(doc, root / "sequenceFiles" / split / f"{seq}.pkl")
        for f in range(t):
            grey(root / "imageFiles" / seq / f"image_{f:05d}.jpg", 50 + 30 * f, (H * zoom, W * zoom))
        out[seq] = doc
    return out


def write_detections(dataset, path: Path) -> Path:
    """A person detector's COCO results JSON for ``dataset`` (MPI-INF-3DHP's test set has no boxes of
    its own): one detection per row, its 2D joints' box grown as ``--crop gt`` grows it, named by the
    row's image."""
    from hpe_core.datasets.boxes import boxes_from_joints

    boxes = boxes_from_joints(dataset.joints_2d, dataset.visible)
    doc = [{"image_id": dataset.images.name(dataset.row(i)), "category_id": 1, "score": 0.9,
            "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]} for i, b in enumerate(boxes)]
    path.write_text(json.dumps(doc))
    return path
