"""3DPW: ``sequenceFiles/{train,validation,test}/<sequence>.pkl`` with ``imageFiles/<sequence>/image_00000.jpg``.

Each sequence file is a Python-2 pickle of a dict (the dataset's readme and ``demo.py``): per
actor ``jointPositions`` (T, 72: the 24 SMPL joints, metres, world), ``poses2d`` (T, 3, 18: the
OpenPose COCO-18 detections, x, y, confidence) and ``campose_valid`` (T,); per frame ``cam_poses``
(T, 4, 4 world -> camera) and ``img_frame_ids`` (T, the 60 Hz frame of each image); one
``cam_intrinsics`` (3, 3). It is read by the allow-list unpickler
(:func:`hpe_core.datasets.safe_pickle.load_pickle_file`), never by ``pickle.load``: a file that
names anything but NumPy's array rebuilders and plain containers is refused and runs nothing.

A row per (frame, actor) whose camera pose is valid, the actors of a frame side by side: joints
in ``smpl24`` order, turned into that frame's camera frame, in mm; ``joints_2d`` their projection
through the intrinsics; the file's own 2D detections as the ``poses2d`` column (N, 18, 3).
Image ``k`` of a sequence is ``image_{k:05d}.jpg``. Subjects are the actors
(``<sequence>/actor<a>``), split as the folders split them; the action is the sequence's name
without its number. The camera moves, so each sequence has one camera of its intrinsics with
R = I, t = 0: the joints are already in its frame at every row.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hpe_core.datasets.base import NoImages, PoseDataset
from hpe_core.datasets.boxes import boxes_from_joints
from hpe_core.datasets.fileio import image_size
from hpe_core.datasets.folder import FileImages
from hpe_core.errors import DatasetError
from hpe_core.geometry import Camera, project
from hpe_core.skeleton import SMPL24

SPLITS = {"train": "train", "validation": "val", "test": "test"}


def find_sequence_files(path: Path) -> list[tuple[str, Path]]:
    """``(split folder, file)`` of the sequence files at ``path``: one ``.pkl``, a split folder,
    ``sequenceFiles/`` or the folder holding it."""
    if path.is_file():
        return [(path.parent.name, path)] if path.suffix.lower() == ".pkl" else []
    if path.parent.name == "sequenceFiles":
        return [(path.name, f) for f in sorted(path.glob("*.pkl"))]
    base = path if path.name == "sequenceFiles" else path / "sequenceFiles"
    return [(split, f) for split in SPLITS for f in sorted((base / split).glob("*.pkl"))]


def _dataset_root(file: Path) -> Path:
    """The folder holding ``sequenceFiles/`` (and ``imageFiles/``) of a sequence file."""
    return file.parent.parent.parent if file.parent.parent.name == "sequenceFiles" else file.parent


def _array(value, what: str, file: Path, shape: tuple) -> np.ndarray:
    """``value`` as a float64 array of ``shape`` (-1 allowed), or DatasetError naming the file and ``what``."""
    try:
        return np.asarray(value, np.float64).reshape(shape)
    except (ValueError, TypeError) as exc:
        raise DatasetError(f"{file}: {what} cannot be read as shape {shape} ({exc})") from None


def _field(doc: dict, key: str, file: Path, actor: int | None = None):
    """``doc[key]`` (``doc[key][actor]`` for a per-actor list), or DatasetError naming what is missing."""
    if key not in doc:
        raise DatasetError(f"{file}: no {key!r} (a 3DPW sequence file has jointPositions, poses2d, "
                           "campose_valid, cam_poses, cam_intrinsics, img_frame_ids)")
    if actor is None:
        return doc[key]
    if not isinstance(doc[key], (list, tuple)) or actor >= len(doc[key]):
        raise DatasetError(f"{file}: {key} is not a list with an entry for actor {actor}")
    return doc[key][actor]


def _actor_rows(doc: dict, a: int, cam_poses: np.ndarray, file: Path) -> tuple:
    """``(frames, actor, joints (mm, camera frame), poses2d)`` of actor ``a``'s frames with a valid camera pose."""
    t = len(cam_poses)
    world = _array(_field(doc, "jointPositions", file, a), f"jointPositions[{a}]", file, (t, 24, 3))
    detected = _array(_field(doc, "poses2d", file, a), f"poses2d[{a}]", file, (t, 3, 18)).transpose(0, 2, 1)
    valid = np.flatnonzero(_array(_field(doc, "campose_valid", file, a), f"campose_valid[{a}]", file, (t,)) > 0)
    R, tr = cam_poses[valid, :3, :3], cam_poses[valid, :3, 3]
    cam = np.einsum("fij,fkj->fki", R, world[valid]) + tr[:, None, :]
    return valid, np.full(len(valid), a), cam * 1000.0, detected[valid]


def read_sequence(file: Path) -> dict:
    """One sequence file's rows: ``{"name", "K", "frame", "actor", "joints_3d" (mm, camera frame),
    "poses2d", "actors"}``, ordered by frame, then actor."""
    from hpe_core.datasets.safe_pickle import load_pickle_file

    doc = load_pickle_file(file, "3DPW sequence file")
    if not isinstance(doc, dict):
        raise DatasetError(f"{file}: not a 3DPW sequence file (a dict)")
    cam_poses = _array(_field(doc, "cam_poses", file), "cam_poses", file, (-1, 4, 4))
    K = _array(_field(doc, "cam_intrinsics", file), "cam_intrinsics", file, (3, 3))
    if len(np.asarray(_field(doc, "img_frame_ids", file)).reshape(-1)) != len(cam_poses):
        raise DatasetError(f"{file}: img_frame_ids and cam_poses have different frame counts")
    actors = _field(doc, "jointPositions", file)
    if not isinstance(actors, (list, tuple)) or not actors:
        raise DatasetError(f"{file}: jointPositions is not a list of actors")
    rows = [_actor_rows(doc, a, cam_poses, file) for a in range(len(actors))]
    frame, actor, joints, poses2d = (np.concatenate([r[k] for r in rows]) for k in range(4))
    order = np.lexsort((actor, frame))
    return {"name": str(doc.get("sequence", file.stem)), "K": K, "frame": frame[order], "actor": actor[order],
            "joints_3d": joints[order], "poses2d": poses2d[order], "actors": len(actors)}


def _cameras_and_names(seqs: list, root: Path) -> tuple[dict[int, Camera], np.ndarray]:
    cameras, names = {}, []
    for k, (_, s) in enumerate(seqs):
        names += [f"{s['name']}/image_{f:05d}.jpg" for f in s["frame"].tolist()]
        size = image_size(root / "imageFiles" / names[-1]) if len(s["frame"]) else None
        cameras[k] = Camera(K=s["K"], width=size[0] if size else 0, height=size[1] if size else 0, name=s["name"])
    return cameras, np.array(names)


def _subjects(seqs: list) -> tuple[list[str], dict[str, list[str]], list[int]]:
    """Actor names, the split of each (its folder's; a file outside a split folder is a test file)
    and the first actor of each sequence."""
    names, split, first = [], {"train": [], "val": [], "test": []}, []
    for folder, s in seqs:
        first.append(len(names))
        actors = [f"{s['name']}/actor{a}" for a in range(s["actors"])]
        names += actors
        split[SPLITS.get(folder, "test")] += actors
    split["val"] = split["val"] or list(split["test"])
    return names, split, first


def read_pw3d(path: str | Path) -> PoseDataset:
    path = Path(path)
    files = find_sequence_files(path)
    if not files:
        raise DatasetError(f"{path}: no 3DPW sequence files (sequenceFiles/{{train,validation,test}}/*.pkl)")
    root = _dataset_root(files[0][1])
    seqs = [(folder, read_sequence(f)) for folder, f in files]
    cameras, names = _cameras_and_names(seqs, root)
    if len(names) == 0:
        raise DatasetError(f"{path}: no frame with a valid camera pose (campose_valid)")
    subjects, split, first = _subjects(seqs)
    activity = [re.sub(r"_\d+$", "", s["name"]) for _, s in seqs]
    actions = sorted(set(activity))
    cat = lambda fn: np.concatenate([fn(k, s) for k, (_, s) in enumerate(seqs)])
    joints_3d = cat(lambda k, s: s["joints_3d"]).astype(np.float32)
    camera_id = cat(lambda k, s: np.full(len(s["frame"]), k)).astype(np.int32)
    columns = {
        "joints_3d": joints_3d,
        "joints_2d": np.concatenate([project(joints_3d[camera_id == k], cameras[k].K, cameras[k].dist)
                                     for k in range(len(seqs))]).astype(np.float32),
        "visible": np.ones(joints_3d.shape[:2], bool), "poses2d": cat(lambda k, s: s["poses2d"]).astype(np.float32),
        "pose_id": np.arange(len(names), dtype=np.int64), "camera_id": camera_id, "sequence": camera_id,
        "subject": cat(lambda k, s: first[k] + s["actor"]).astype(np.int32),
        "action": cat(lambda k, s: np.full(len(s["frame"]), actions.index(activity[k]))).astype(np.int32),
        "frame": cat(lambda k, s: s["frame"]).astype(np.int64),
    }
    columns["boxes"] = _boxes(columns["poses2d"], columns["joints_2d"])
    image_root = root / "imageFiles"
    images = FileImages(image_root, names) if image_root.is_dir() else NoImages(
        f"{root}: no imageFiles/ folder beside sequenceFiles/", names=names.__getitem__)
    return PoseDataset(path=path, format="pw3d", skeleton=SMPL24, size=len(names), columns=columns, images=images,
                       cameras=cameras, names={"subject": subjects, "action": actions,
                                               "sequence": [s["name"] for _, s in seqs]},
                       subject_split=split, extra={"joint_set": "smpl24", "boxes": "3DPW poses2d, grown x1.2"})


def _boxes(poses2d: np.ndarray, joints_2d: np.ndarray) -> np.ndarray:
    """(N, 4) person boxes from the file's 2D poses (the detected joints with a confidence, grown
    1.2 times as SPIN crops 3DPW), else from the projected joints where a row has no detection."""
    detected = boxes_from_joints(poses2d[..., :2], poses2d[..., 2] > 0, margin=1.2)
    return np.where(np.isfinite(detected), detected, boxes_from_joints(joints_2d, margin=1.2)).astype(np.float32)
