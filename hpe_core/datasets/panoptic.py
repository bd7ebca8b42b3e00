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
import re
from pathlib import Path

import numpy as np

from hpe_core.datasets.base import PoseDataset
from hpe_core.datasets.fileio import read_json
from hpe_core.datasets.folder import FileImages
from hpe_core.datasets.skiplist import apply_skip_list, read_skip_list
from hpe_core.errors import DatasetError
from hpe_core.geometry import Camera, project
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


def read_panoptic(path: str | Path) -> PoseDataset:
    path = Path(path)
    base, seqs = _sequences(path)
    if not seqs:
        raise DatasetError(f"{path}: no Panoptic sequences (folders with hdJoints/ and hdImages/)")
    rows = []
    for s, seq in enumerate(seqs):
        joints_dir = seq / "hdJoints"
        if not joints_dir.is_dir():
            raise DatasetError(f"{joints_dir}: missing (every Panoptic sequence needs hdJoints/ next to hdImages/)")
        for file in sorted(joints_dir.glob("*.json")):
            match = _NAME.match(file.stem)
            if match:
                rows.append((s, file, match))
    if not rows:
        raise DatasetError(f"{path}: no annotation files named '<seq>;hd_PP_CC;person_P;FFFFFFFF.json' in hdJoints/")
    return _build(path, base, seqs, rows)


def _build(path: Path, base: Path, seqs: list[Path], rows: list) -> PoseDataset:
    n = len(rows)
    joints = np.full((n, 19, 3), np.nan, np.float32)
    visible = np.zeros((n, 19), bool)
    camera_id = np.zeros(n, np.int32)
    keys = np.zeros((n, 3), np.int64)  # sequence, person, frame -> pose id
    names, cameras, calib, parsed = [], {}, {}, {}
    for i, (s, file, match) in enumerate(rows):
        doc = read_json(file, "Panoptic joints file")
        pose = _pose(doc, str(file))
        text = str(doc["cam"])
        if text not in parsed:  # every file of one camera repeats its calibration
            parsed[text] = camera_from_cam(parse_cam(text, str(file)), str(file))
        cam = parsed[text]
        key = (s, match["panel"], match["cam"], cam.K.tobytes(), cam.R.tobytes(), cam.t.tobytes(), cam.dist.tobytes())
        if key not in calib:
            calib[key] = len(calib)
            label = f"{seqs[s].name}/hd_{match['panel']}_{match['cam']}"
            cameras[calib[key]] = Camera(K=cam.K, R=cam.R, t=cam.t, dist=cam.dist, name=label)
        camera_id[i] = calib[key]
        present = np.isfinite(pose[:, :3]).all(1) & (pose[:, 3] >= 0)
        joints[i] = np.where(present[:, None], 10.0 * (pose[:, :3] @ cam.R.T) + cam.t, np.nan)
        visible[i] = present & (pose[:, 3] > 0.1)
        keys[i] = (s, int(match["person"]), int(match["frame"]))
        names.append(f"{seqs[s].name}/hdImages/{file.stem}.jpg")
    joints_2d = np.full((n, 19, 2), np.nan, np.float32)
    for cid, cam in cameras.items():
        sel = camera_id == cid
        joints_2d[sel] = project(joints[sel], cam.K, cam.dist)
    _, pose_id = np.unique(keys, axis=0, return_inverse=True)
    dataset = PoseDataset(
        path=path, format="panoptic", skeleton=PANOPTIC19, size=n, cameras=cameras,
        columns={"joints_3d": joints, "joints_2d": joints_2d, "visible": visible,
                 "pose_id": pose_id.reshape(-1).astype(np.int64), "camera_id": camera_id,
                 "sequence": keys[:, 0].astype(np.int32), "frame": keys[:, 2]},
        images=FileImages(base, np.array(names, dtype=object)),
        names={"sequence": [s.name for s in seqs]})
    for green in _green_lists(path, base, seqs):
        dataset = apply_skip_list(dataset, read_skip_list(green))
    return dataset


def _green_lists(path: Path, base: Path, seqs: list[Path]) -> list[Path]:
    places = [path, base, base.parent, *seqs]
    seen, out = set(), []
    for folder in places:
        f = (folder / GREEN_LIST).resolve()
        if f.is_file() and f not in seen:
            seen.add(f)
            out.append(f)
    return out
