"""Person boxes and the crops made from them (top-down).

A dataset may carry a ``boxes`` column: (N, 4) float32 x0, y0, x1, y1 px of the stored image (pixel
centres at integers), NaN where a row has none. Where they come from, in this order:

- **the files**: COCO ``bbox`` (x, y, w, h) (:func:`boxes_from_xywh`), mmpose's ``center`` +- 100 x
  ``scale`` (:func:`boxes_from_center_scale`), 3DPW from its 2D poses; the reader sets the column;
- **the 2D joints**: the visible joints' tight box grown :data:`JOINTS_MARGIN` times about its centre
  (limbs, the head and the feet reach past the joints) -- :func:`boxes_from_joints`;
- **a detections file**: a COCO results JSON, ``[{"image_id", "bbox": [x, y, w, h], "score",
  "category_id"}, ...]`` -- :func:`read_detections`.

:func:`apply_boxes` picks them by a crop mode (:data:`CROPS`); training, inference and evaluation then
crop each row's box the same way (:func:`row_region`: the square :data:`~hpe_core.datasets.transforms.CROP_MARGIN`
times the box's longer side), and a dataset without boxes is seen whole. ``dataset.extra["boxes"]``
says where its boxes came from; :func:`crop_note` says it in words.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError

#: the tight box of the visible 2D joints is grown this many times about its centre
JOINTS_MARGIN = 1.2
#: crop modes: "auto" the files' boxes when the dataset has them, else the whole frame; "gt" the files'
#: boxes, else boxes from the 2D joints; "file" a detections file's; "none" the whole frame
CROPS = ("auto", "gt", "file", "none")
PIXEL_STD = 200.0  # mmpose: ``scale`` is the box size in units of 200 px


def boxes_from_xywh(xywh) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 of COCO ``bbox`` rows (N, 4) x, y, width, height."""
    b = np.asarray(xywh, np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1).astype(np.float32)


def boxes_from_center_scale(center, scale) -> np.ndarray:
    """(N, 4) from mmpose's ``center`` (N, 2) px and ``scale`` (N,) or (N, 2): centre +- 100 x scale."""
    c = np.asarray(center, np.float64).reshape(-1, 2)
    s = np.asarray(scale, np.float64)
    half = (s.reshape(-1, 1) if s.ndim == 1 else s.reshape(-1, 2)) * (PIXEL_STD / 2)
    return np.concatenate([c - half, c + half], axis=1).astype(np.float32)


def boxes_from_joints(joints_2d, visible=None, margin: float = JOINTS_MARGIN) -> np.ndarray:
    """(N, 4) boxes of the visible finite joints of ``joints_2d`` (N, J, 2), grown ``margin`` times
    about their centre; NaN for a row with fewer than two distinct visible joints."""
    j = np.asarray(joints_2d, np.float64)
    ok = np.isfinite(j).all(axis=-1)
    if visible is not None:
        ok &= np.asarray(visible, bool)
    pts = np.where(ok[..., None], j, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row without any joint: NaN
        lo, hi = np.nanmin(pts, axis=1), np.nanmax(pts, axis=1)
    centre, half = (lo + hi) / 2, (hi - lo) * (margin / 2)
    out = np.concatenate([centre - half, centre + half], axis=1)
    out[~((hi - lo) > 0).any(axis=1) | ~np.isfinite(out).all(axis=1)] = np.nan
    return out.astype(np.float32)


def apply_boxes(dataset, crop: str = "auto", detections: str | Path | None = None):
    """``dataset`` with the boxes that ``crop`` (:data:`CROPS`) asks for; ``detections`` (a COCO
    results JSON) implies ``"file"``. InputError naming the argument when they cannot be had."""
    if crop not in CROPS:
        raise InputError(f"--crop: expected one of {', '.join(CROPS)}, got {crop!r}")
    if detections is not None and crop not in ("auto", "file"):
        raise InputError(f"--boxes {detections}: a detections file is used with --crop file, not --crop {crop}")
    if crop == "file" and detections is None:
        raise InputError("--crop file: give the detections with --boxes FILE (a COCO results JSON)")
    if detections is not None:
        boxes, note = read_detections(detections, dataset)
        return dataset.with_column("boxes", boxes, {"boxes": note})
    if crop == "none":
        return dataset.with_column("boxes", None, {"boxes": "none (--crop none)"}) if dataset.has("boxes") else dataset
    if crop == "gt" and not dataset.has("boxes"):
        if not dataset.has("joints_2d"):
            raise InputError(f"--crop gt: {dataset.path} has neither person boxes nor 2D joints to make them from")
        boxes = boxes_from_joints(dataset.base_column("joints_2d"), dataset.base_column("visible"))
        return dataset.with_column("boxes", boxes, {"boxes": f"from the 2D joints, grown x{JOINTS_MARGIN:g}"})
    return dataset


WHOLE_FRAME = "whole frame (no person boxes)"  # crop_note of a dataset without person boxes


def crop_note(dataset) -> str:
    """What the model sees of each row, in words (for a prediction's meta and the CLI)."""
    from hpe_core.datasets.transforms import CROP_MARGIN

    if not dataset.has("boxes"):
        return WHOLE_FRAME
    return (f"person crops (boxes: {dataset.extra.get('boxes', 'the files')}), squares of {CROP_MARGIN:g} x the "
            "box's longer side")


def row_region(dataset, i: int, hw: tuple[int, int] | None = None):
    """The :class:`~hpe_core.datasets.transforms.Region` of sample ``i`` a model sees: its box's crop,
    the whole (h, w) image ``hw`` (read from the dataset when not given) without boxes, None when
    its box is missing. (The transforms load torch: imported here, not when a reader imports this.)"""
    from hpe_core.datasets.transforms import Region, crop_region

    if dataset.has("boxes"):
        box = dataset.boxes[i]
        return crop_region(box) if np.isfinite(box).all() and (box[2:] > box[:2]).all() else None
    h, w = hw if hw is not None else dataset.image_hw(int(i))
    return Region.whole(h, w)


def model_joints(dataset, rows, joints_2d, size: int, regions=None) -> np.ndarray:
    """(B, J, 2) float32: the rows' 2D joints (px of the stored image) in the model's ``size`` px
    input -- their crop (:func:`row_region`), or ``regions`` when known; NaN for a row without one."""
    from hpe_core.datasets.transforms import crop_joints

    regions = regions if regions is not None else [row_region(dataset, int(r)) for r in rows]
    j = np.asarray(joints_2d, np.float64)
    out = [np.full(jr.shape, np.nan) if reg is None else crop_joints(jr, reg, size) for jr, reg in zip(j, regions)]
    return np.stack(out).astype(np.float32) if out else j.astype(np.float32)



def image_boxes(dataset, i: int, limit: int = 64) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """What to draw over sample ``i``'s image: (its box (4,) or None, the (4,) x0, y0, x1, y1 of the
    crop a model sees or None, (K, 4) the boxes of up to ``limit`` other rows of the same image)."""
    none = np.zeros((0, 4), np.float32)
    if not dataset.has("boxes"):
        return None, None, none
    boxes = dataset.boxes
    own = np.asarray(boxes[i], np.float32)
    region = row_region(dataset, i)
    crop = None if region is None else np.array([region.x0, region.y0, region.x0 + region.width,
                                                 region.y0 + region.height], np.float32)
    frame = dataset.frame
    same = np.flatnonzero(frame == frame[i])
    name = dataset.sample_name(i)
    others = [boxes[r] for r in same[same != i][:limit]
              if np.isfinite(boxes[r]).all() and dataset.sample_name(int(r)) == name]
    return (own if np.isfinite(own).all() else None), crop, (np.asarray(others, np.float32) if others else none)


# ---------------------------------------------------------------------- detections files
def read_detections(path: str | Path, dataset) -> tuple[np.ndarray, str]:
    """((N, 4) boxes over ``dataset``'s source rows, a note) from a COCO results JSON.

    A detection's ``image_id`` names an image: an integer is the dataset's ``frame`` number (COCO:
    the image id; a folder: the image's position; a video: the frame), a string the sample's name.
    Only persons (``category_id`` 1, or none given) count. A row gets the detection of its image
    that overlaps its own box best (the files', else its 2D joints'), or the highest-scoring one
    when it has neither; a row whose image has none gets NaN (skipped when predicted, and said).
    """
    from hpe_core.datasets.fileio import read_json

    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"--boxes {path}: no such file")
    by_image = _detections_by_image(read_json(path, "detections file"), path)
    reference = _reference_boxes(dataset)
    frame = dataset.base_column("frame")
    n = len(frame)
    names = np.array([dataset.images.name(r) for r in range(n)], dtype=object) if any(
        isinstance(k, str) for k in by_image) else None
    out = np.full((n, 4), np.nan, np.float32)
    for r in range(n):
        found = by_image.get(int(frame[r]), []) + (by_image.get(names[r], []) if names is not None else [])
        if found:
            out[r] = _pick(found, None if reference is None else reference[r])
    matched = int(np.isfinite(out).all(axis=1).sum())
    if matched == 0:
        raise InputError(f"--boxes {path}: none of its {sum(map(len, by_image.values()))} person detections "
                         f"names an image of {dataset.path} (image_id: the frame number or the sample's name)")
    return out, f"from the detections in {path.name} ({matched} of {n} rows have one)"


def _detections_by_image(doc, path: Path) -> dict:
    if not isinstance(doc, list):
        raise InputError(f"--boxes {path}: not a COCO results file (expected a JSON list of detections)")
    out: dict = {}
    for k, det in enumerate(doc):
        try:
            bbox = np.asarray(det["bbox"], np.float64)
            image, score = det["image_id"], float(det.get("score", 1.0))
            person = int(det.get("category_id", 1)) == 1
        except (KeyError, TypeError, ValueError):
            raise InputError(f"--boxes {path}: detection {k} lacks image_id or a numeric bbox") from None
        if bbox.shape != (4,) or not np.isfinite(bbox).all() or (bbox[2:] <= 0).any():
            raise InputError(f"--boxes {path}: detection {k}: bbox must be [x, y, width, height] with positive size")
        if person:
            key = image if isinstance(image, str) else int(image)
            out.setdefault(key, []).append((score, boxes_from_xywh(bbox)[0]))
    return out


def _reference_boxes(dataset) -> np.ndarray | None:
    if dataset.has("boxes"):
        return np.asarray(dataset.base_column("boxes"), np.float64)
    if dataset.has("joints_2d"):
        return boxes_from_joints(dataset.base_column("joints_2d"), dataset.base_column("visible"))
    return None


def _pick(found: list, reference) -> np.ndarray:
    """The detection of ``found`` ((score, box), ...) that overlaps ``reference`` best, else the best scored."""
    if reference is not None and np.isfinite(reference).all():
        overlaps = [box_iou(box, reference) for _, box in found]
        best = int(np.argmax(overlaps))
        return found[best][1] if overlaps[best] > 0 else np.full(4, np.nan, np.float32)
    return max(found, key=lambda sb: sb[0])[1]


def box_iou(a, b) -> float:
    """Intersection over union of two x0, y0, x1, y1 boxes."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
