"""COCO keypoints annotations (2D, coco17): one sample per annotated person, with its ``bbox`` as the
row's person box (``boxes``; NaN where an annotation has none), so each person is cropped on its own.

Accepts the ``person_keypoints_*.json`` file or a folder holding ``annotations/`` with exactly
one such file. Images are looked for next to the JSON (``images/``, ``../<split>/``, ``./``).
Crowd annotations and people without any labelled keypoint are left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hpe_core.datasets.base import PoseDataset
from hpe_core.datasets.boxes import boxes_from_xywh
from hpe_core.datasets.fileio import read_json
from hpe_core.datasets.folder import FileImages
from hpe_core.errors import DatasetError
from hpe_core.skeleton import COCO17


def find_annotation_file(folder: Path) -> Path | None:
    found = sorted((folder / "annotations").glob("person_keypoints_*.json")) if (folder / "annotations").is_dir() else []
    return found[0] if found else None


def _resolve(path: Path) -> Path:
    if path.is_file():
        return path
    found = sorted((path / "annotations").glob("person_keypoints_*.json"))
    if len(found) > 1:
        raise DatasetError(f"{path}: several COCO keypoint files ({', '.join(f.name for f in found)}); open one of them")
    if not found:
        raise DatasetError(f"{path}: no annotations/person_keypoints_*.json")
    return found[0]


def _image_root(json_path: Path, first: str | None) -> Path:
    split = json_path.stem.replace("person_keypoints_", "")
    candidates = [json_path.parent / "images", json_path.parent.parent / split,
                  json_path.parent.parent / "images" / split, json_path.parent, json_path.parent.parent / "images"]
    for root in candidates:
        if first is not None and (root / first).is_file():
            return root
    return candidates[0]


def _check(path: Path, doc) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list) or not isinstance(doc.get("images"), list):
        raise DatasetError(f"{path}: not a COCO keypoints file (needs 'images' and 'annotations' lists)")


def _field(path: Path, where: str, message: str) -> DatasetError:
    return DatasetError(f"{path}: {where}: {message}")


def _images(path: Path, images: list) -> dict[int, str]:
    """``{image id: file name}``, each entry checked by its field."""
    files = {}
    for k, im in enumerate(images):
        if not isinstance(im, dict):
            raise _field(path, f"images[{k}]", f"expected an object, got {type(im).__name__}")
        if isinstance(im.get("id"), bool) or not isinstance(im.get("id"), int):
            raise _field(path, f"images[{k}].id", f"expected an integer, got {im.get('id')!r}")
        if not isinstance(im.get("file_name"), str) or not im["file_name"]:
            raise _field(path, f"images[{k}].file_name", f"expected a file name, got {im.get('file_name')!r}")
        files[im["id"]] = im["file_name"]
    return files


def _keypoints(path: Path, where: str, value) -> np.ndarray:
    """The (17, 3) keypoints of one annotation, checked: 51 numbers x, y, v."""
    want = 3 * COCO17.num_joints
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        bad = value if not isinstance(value, list) else next(v for v in value if not isinstance(v, (int, float))
                                                              or isinstance(v, bool))
        raise _field(path, where, f"expected {want} numbers (x, y, visibility per joint), found {bad!r}")
    if len(value) != want:
        raise _field(path, where, f"expected {want} numbers ({COCO17.num_joints} joints x (x, y, visibility)), "
                                  f"got {len(value)}")
    return np.asarray(value, np.float64).reshape(COCO17.num_joints, 3)


def _people(path: Path, annotations: list, files: dict[int, str]) -> list[tuple]:
    """``(annotation id, image id, keypoints, bbox, area)`` of every non-crowd person with a labelled keypoint
    (area NaN where the annotation has none)."""
    out = []
    for k, a in enumerate(annotations):
        if not isinstance(a, dict):
            raise _field(path, f"annotations[{k}]", f"expected an object, got {type(a).__name__}")
        if a.get("iscrowd", 0):
            continue
        kps = _keypoints(path, f"annotations[{k}].keypoints", a.get("keypoints", [0] * 3 * COCO17.num_joints))
        if not np.any(kps[:, 2] > 0):
            continue
        image = a.get("image_id")
        if isinstance(image, bool) or not isinstance(image, int) or image not in files:
            raise _field(path, f"annotations[{k}].image_id", f"{image!r} is not the id of an entry of 'images'")
        ann = a.get("id", k)
        if isinstance(ann, bool) or not isinstance(ann, int):
            raise _field(path, f"annotations[{k}].id", f"expected an integer, got {ann!r}")
        area = a.get("area")
        area = float(area) if isinstance(area, (int, float)) and not isinstance(area, bool) else float("nan")
        out.append((ann, image, kps, _bbox(path, f"annotations[{k}].bbox", a.get("bbox")), area))
    return out


def _bbox(path: Path, where: str, value) -> np.ndarray:
    """The person box [x, y, width, height] of one annotation (NaN when it has none)."""
    if not value:
        return np.full(4, np.nan)
    if not isinstance(value, list) or len(value) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise _field(path, where, f"expected [x, y, width, height], got {value!r}")
    return np.asarray(value, np.float64)


def read_coco(path: str | Path) -> PoseDataset:
    path = _resolve(Path(path))
    doc = read_json(path, "COCO annotation file")
    _check(path, doc)
    files = _images(path, doc["images"])
    people = _people(path, doc["annotations"], files)
    if not people:
        raise DatasetError(f"{path}: no person with labelled keypoints")
    kps = np.stack([p[2] for p in people])
    image_ids = np.array([p[1] for p in people], dtype=np.int64)
    ann_ids = np.array([p[0] for p in people], dtype=np.int64)
    names = np.array([files[i] for i in image_ids], dtype=object)
    visible = kps[..., 2] > 0
    joints_2d = np.where(visible[..., None], kps[..., :2], np.nan).astype(np.float32)
    root = _image_root(path, str(names[0]))
    columns = {"joints_2d": joints_2d, "visible": visible, "pose_id": ann_ids, "frame": image_ids,
               "boxes": boxes_from_xywh(np.stack([p[3] for p in people]))}
    area = np.array([p[4] for p in people])
    if np.isfinite(area).all():  # the segmentation's area: what COCO's OKS is scaled by
        columns["area"] = area
    return PoseDataset(path=path, format="coco", skeleton=COCO17, size=len(people), columns=columns,
                       images=FileImages(root, names), extra={"image_root": str(root), "boxes": "COCO bbox"})
