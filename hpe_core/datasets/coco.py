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


def read_coco(path: str | Path) -> PoseDataset:
    path = _resolve(Path(path))
    doc = read_json(path, "COCO annotation file")
    _check(path, doc)
    try:
        files = {int(im["id"]): (str(im["file_name"]), int(im.get("width", 0)), int(im.get("height", 0)))
                 for im in doc["images"]}
        rows = [a for a in doc["annotations"] if not a.get("iscrowd", 0) and any(np.asarray(a.get("keypoints", [0, 0, 0]))[2::3] > 0)]
        if not rows:
            raise DatasetError(f"{path}: no person with labelled keypoints")
        kps = np.array([a["keypoints"] for a in rows], dtype=np.float64).reshape(len(rows), -1)
        image_ids = np.array([int(a["image_id"]) for a in rows], dtype=np.int64)
        ann_ids = np.array([int(a.get("id", k)) for k, a in enumerate(rows)], dtype=np.int64)
        names = np.array([files[i][0] for i in image_ids], dtype=object)
        bbox = np.array([a.get("bbox") or [np.nan] * 4 for a in rows], dtype=np.float64)
    except DatasetError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: malformed COCO annotation ({type(exc).__name__}: {exc})") from None
    if kps.shape[1] != 3 * COCO17.num_joints:
        raise DatasetError(f"{path}: keypoints have {kps.shape[1] // 3} joints, COCO has {COCO17.num_joints}")
    kps = kps.reshape(len(rows), COCO17.num_joints, 3)
    visible = kps[..., 2] > 0
    joints_2d = np.where(visible[..., None], kps[..., :2], np.nan).astype(np.float32)
    if bbox.shape != (len(rows), 4):
        raise DatasetError(f"{path}: malformed COCO annotation (a bbox is not [x, y, width, height])")
    root = _image_root(path, str(names[0]))
    columns = {"joints_2d": joints_2d, "visible": visible, "pose_id": ann_ids, "frame": image_ids,
               "boxes": boxes_from_xywh(bbox)}
    return PoseDataset(path=path, format="coco", skeleton=COCO17, size=len(rows), columns=columns,
                       images=FileImages(root, names), extra={"image_root": str(root), "boxes": "COCO bbox"})
