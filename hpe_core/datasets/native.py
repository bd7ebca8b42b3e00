"""The native dataset format (what ``hpe data synth`` writes), version 1.

::

    DIR/dataset.json     {"format": "hpe-studio-dataset", "format_version": 1, "skeleton": "panoptic19",
                          "units": "mm", "frame": "camera", "image_size": [W, H],
                          "images": "images/{camera_id:02d}/{pose_id:06d}.jpg",
                          "cameras": {"0": {K, R, t, dist, width, height, name}, ...},
                          "action_names": [...], "subject_names": [...], "sequence_names": [...],
                          "subject_split": {"train": [...], ...} (optional)}
    DIR/annotations.npz  uncompressed arrays of N rows: joints_3d (N,J,3) float32 mm camera frame,
                          joints_2d (N,J,2) float32 px, visible (N,J) bool, pose_id int64,
                          camera_id int32, action int32, subject int32, sequence int32, frame int64;
                          optional "image" (N,) str of paths relative to DIR (instead of the pattern)
    DIR/images/...

Only ``camera_id`` and one of ``joints_3d`` / ``joints_2d`` are required; a missing ``joints_2d``
is projected from ``joints_3d`` with the sample's camera. Arrays are memory-mapped, so opening a
dataset of a million samples reads no image and keeps memory to the pages actually used.
"""

from __future__ import annotations

import functools
import json
import string
from pathlib import Path

import numpy as np

from hpe_core.datasets.base import COLUMNS, LazyArray, PoseDataset
from hpe_core.datasets.fileio import load_npz_member, npz_members, read_image, read_json, save_npz_stored, write_atomic
from hpe_core.errors import DatasetError, InputError
from hpe_core.geometry import Camera, project
from hpe_core.skeleton import get_skeleton

FORMAT_NAME = "hpe-studio-dataset"
FORMAT_VERSION = 1
MANIFEST = "dataset.json"
ANNOTATIONS = "annotations.npz"
DEFAULT_PATTERN = "images/{camera_id:02d}/{pose_id:06d}.jpg"
_PATTERN_FIELDS = {"index", "pose_id", "camera_id", "frame", "sequence", "subject", "action"}


def is_native(path: Path) -> bool:
    return (path / MANIFEST).is_file()


class PatternImages:
    """Image files named by a format pattern over the sample's columns, or by a list of names."""

    def __init__(self, root: Path, pattern: str | None, columns: dict, names=None) -> None:
        self.root, self.pattern, self.columns, self.names = root, pattern, columns, names
        self.fields = [f for _, f, _, _ in string.Formatter().parse(pattern or "") if f]

    def name(self, row: int) -> str:
        if self.names is not None:
            return str(self.names[row])
        values = {f: row if f == "index" else int(self.columns[f]()[row]) for f in self.fields}
        return self.pattern.format(**values)

    def path(self, row: int) -> Path:
        return self.root / self.name(row)

    def load(self, row: int) -> np.ndarray:
        return read_image(self.path(row))


def _check_manifest(path: Path, doc) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise DatasetError(f"{path}: not an HPE Studio dataset manifest (format {found!r}, expected {FORMAT_NAME!r})")
    version = doc.get("format_version")
    if not isinstance(version, int):
        raise DatasetError(f"{path}: format_version is missing or not an integer")
    if version > FORMAT_VERSION:
        raise DatasetError(f"{path}: made by a newer HPE Studio (dataset format {version}; "
                           f"this version reads up to {FORMAT_VERSION}); please upgrade")
    if doc.get("units", "mm") != "mm" or doc.get("frame", "camera") != "camera":
        raise DatasetError(f"{path}: joints must be in mm in the camera frame "
                           f"(found units={doc.get('units')!r}, frame={doc.get('frame')!r})")


def _cameras(path: Path, doc: dict) -> dict[int, Camera]:
    raw = doc.get("cameras", {})
    if not isinstance(raw, dict):
        raise DatasetError(f"{path}: 'cameras' must be an object of camera id -> camera")
    try:
        return {int(k): Camera.from_dict({"name": str(k), **v}) for k, v in raw.items()}
    except (InputError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: bad camera entry ({exc})") from None


def _project_all(cameras: dict[int, Camera], joints_3d, camera_id) -> np.ndarray:
    """(N, J, 2) pixels of ``joints_3d()`` (N, J, 3) through each sample's camera."""
    joints_3d, camera_id = np.asarray(joints_3d()), np.asarray(camera_id())
    out = np.full(joints_3d.shape[:2] + (2,), np.nan, np.float32)
    for cid, cam in cameras.items():
        rows = np.flatnonzero(camera_id == cid)
        out[rows] = project(joints_3d[rows], cam.K, cam.dist)
    return out


def _project_row(cameras: dict[int, Camera], joints_3d, camera_id, row: int) -> np.ndarray:
    cam = cameras.get(int(camera_id()[row]))
    if cam is None:
        return np.full((joints_3d().shape[1], 2), np.nan, np.float32)
    return project(np.asarray(joints_3d()[row]), cam.K, cam.dist).astype(np.float32)


def read_native(root: str | Path) -> PoseDataset:
    root = Path(root)
    if root.name == MANIFEST or root.name == ANNOTATIONS:
        root = root.parent
    manifest = root / MANIFEST
    doc = read_json(manifest, "dataset manifest")
    _check_manifest(manifest, doc)
    skeleton = get_skeleton(doc.get("skeleton", "panoptic19"))
    cameras = _cameras(manifest, doc)
    ann = root / ANNOTATIONS
    members = set(npz_members(ann))
    if "camera_id" not in members or not members & {"joints_3d", "joints_2d"}:
        raise DatasetError(f"{ann}: needs the arrays camera_id and joints_3d or joints_2d; found {sorted(members)}")
    load = {name: LazyArray(functools.partial(load_npz_member, ann, name)) for name in COLUMNS if name in members}
    size = len(load["camera_id"]())
    _check_shapes(ann, load, size, skeleton.num_joints)
    unknown = sorted(set(np.unique(load["camera_id"]()).tolist()) - set(cameras))
    if unknown and (cameras or "joints_2d" not in load):
        raise DatasetError(f"{ann}: camera ids {unknown[:5]} have no camera in {MANIFEST}")
    if "joints_2d" not in load:
        load["joints_2d"] = LazyArray(functools.partial(_project_all, cameras, load["joints_3d"], load["camera_id"]),
                                      functools.partial(_project_row, cameras, load["joints_3d"], load["camera_id"]))
    names = load_npz_member(ann, "image", mmap=False) if "image" in members else None
    pattern = doc.get("images", DEFAULT_PATTERN)
    if names is None and not _valid_pattern(pattern):
        raise DatasetError(f"{manifest}: 'images' pattern {pattern!r} may only use the fields {sorted(_PATTERN_FIELDS)}")
    images = PatternImages(root, pattern, load, names)
    generator = doc.get("generator")
    if isinstance(generator, dict) and generator.get("render_on_demand") and names is None:
        from hpe_core.datasets.synthetic.lazy import RenderedOnDemand

        images = RenderedOnDemand(images, generator)  # a synthetic set whose images render when read
    return PoseDataset(
        path=root, format="native", skeleton=skeleton, size=size, columns=load, images=images,
        cameras=cameras, subject_split=doc.get("subject_split"),
        names={k: list(doc.get(f"{k}_names", [])) for k in ("action", "subject", "sequence")},
        extra={"image_size": doc.get("image_size")} if doc.get("image_size") else None,
    )


def _valid_pattern(pattern) -> bool:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    except (ValueError, TypeError):
        return False
    return isinstance(pattern, str) and fields <= _PATTERN_FIELDS


def _check_shapes(ann: Path, load: dict, size: int, joints: int) -> None:
    expect = {"joints_3d": (size, joints, 3), "joints_2d": (size, joints, 2), "visible": (size, joints)}
    for name, fn in load.items():
        arr = fn()
        shape = expect.get(name, (size,))
        if tuple(arr.shape) != shape:
            raise DatasetError(f"{ann}: array {name} has shape {tuple(arr.shape)}, expected {shape}")


def write_native(root: str | Path, *, arrays: dict[str, np.ndarray], cameras: dict[int, Camera],
                 skeleton: str = "panoptic19", image_size: tuple[int, int] | None = None,
                 pattern: str = DEFAULT_PATTERN, names: dict[str, list[str]] | None = None,
                 extra: dict | None = None) -> Path:
    """Write ``dataset.json`` and ``annotations.npz`` into ``root`` (images are the caller's)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "skeleton": skeleton,
           "units": "mm", "frame": "camera", "images": pattern,
           "cameras": {str(k): cam.to_dict() for k, cam in sorted(cameras.items())}}
    if image_size:
        doc["image_size"] = list(image_size)
    for key, value in (names or {}).items():
        doc[f"{key}_names"] = list(value)
    doc.update(extra or {})
    typed = {k: np.asarray(v, dtype=COLUMNS[k]) if k in COLUMNS else np.asarray(v) for k, v in arrays.items()}
    save_npz_stored(root / ANNOTATIONS, typed)
    write_atomic(root / MANIFEST, json.dumps(doc, indent=1))
    return root
