"""Lifting 2D keypoints to 3D with a ``lifter`` checkpoint, and the heatmap -> lifter chain.

    joints, notes = read_keypoints("person_keypoints.json", lifter.skeleton)   # COCO, .npy/.npz, ours
    run = lift_keypoints(lifter, joints, names)                               # a PredictionRun
    run = chain_images(heatmap, lifter, "frames/")                           # images -> 2D -> 3D

Keypoint files: a COCO keypoints JSON (a dataset's ``annotations`` or a results list, each with
``keypoints`` = 17 x (x, y, v); v = 0 marks a missing joint), an ``.npy``/``.npz`` array (N, J, 2)
px, or our own predictions ``.npz`` (its ``joints_2d``). Joint sets are mapped where they
correspond: coco17 -> h36m17 as usual (Pelvis = mid-hip, Thorax = mid-shoulder, Spine = midway
between them, Head = the nose moved away from the thorax by a quarter of the thorax-nose
distance; derived joints are listed in the notes) and coco17 -> panoptic19 (BodyCenter =
mid-hip, Neck = mid-shoulder). A joint the lifter needs that is missing is an error naming the
sample: the lifter needs every joint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterable

import numpy as np

from hpe_core.errors import InputError
from hpe_core.skeleton import get_skeleton

KEYPOINT_SUFFIXES = (".json", ".npy", ".npz")
# coco17 indices
_NOSE, _LEYE, _REYE, _LEAR, _REAR, _LSH, _RSH, _LEL, _REL, _LWR, _RWR, _LHIP, _RHIP, _LKN, _RKN, _LAN, _RAN = range(17)


def is_keypoints_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in KEYPOINT_SUFFIXES


def read_keypoints(path: str | Path, joints: str | None = None) -> tuple[np.ndarray, list[str], str, list[str]]:
    """(N, J, 2) float px (NaN: missing), sample names, the joint set, notes.

    ``joints`` names the file's joint set (coco17 / h36m17 / panoptic19); by default a COCO JSON is
    coco17, our predictions file says its own, and a bare array is left for the caller to match.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{path}: no such keypoints file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        arr, names = _coco_json(path)
        return arr, names, joints or "coco17", []
    if suffix not in (".npy", ".npz"):
        raise InputError(f"{path}: not a keypoints file (expected {', '.join(KEYPOINT_SUFFIXES)})")
    set_name = joints
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as z:
                if "meta" in z.files and "joints_2d" in z.files:  # our predictions file
                    from hpe_core.predictions import load_prediction

                    pred = load_prediction(path)
                    arr, set_name = pred.joints_2d, joints or pred.skeleton
                else:
                    key = next((k for k in ("joints_2d", "keypoints", "positions_2d") if k in z.files),
                               z.files[0] if len(z.files) == 1 else None)
                    if key is None:
                        raise InputError(f"{path}: no 'joints_2d' or 'keypoints' array (its arrays: {', '.join(z.files)})")
                    arr = z[key]
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable {suffix} file ({exc})") from None
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[-1] == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[-1] not in (2, 3):
        raise InputError(f"{path}: expected keypoints of shape (N, J, 2), got {arr.shape}")
    return arr[..., :2], [f"{k}" for k in range(len(arr))], set_name, []


def _coco_json(path: Path) -> tuple[np.ndarray, list[str]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    items = raw.get("annotations") if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}: expected COCO keypoints (an 'annotations' list or a results list)")
    rows, names = [], []
    for k, item in enumerate(items):
        kp = item.get("keypoints") if isinstance(item, dict) else None
        if not isinstance(kp, list) or len(kp) % 3:
            raise InputError(f"{path}: entry {k} has no 'keypoints' list of (x, y, v) triples")
        a = np.asarray(kp, dtype=np.float64).reshape(-1, 3)
        xy = a[:, :2].copy()
        xy[a[:, 2] <= 0] = np.nan  # v = 0: not labelled / not detected
        rows.append(xy)
        names.append(f"{item.get('image_id', k)}/{item.get('id', k)}")
    counts = {len(r) for r in rows}
    if len(counts) != 1:
        raise InputError(f"{path}: entries have different joint counts {sorted(counts)}")
    return np.stack(rows), names


def map_joints(joints: np.ndarray, source: str | None, target: str, path: str = "keypoints") -> tuple[np.ndarray, list[str]]:
    """(N, J_src, 2) in ``source``'s joint set -> (N, J_target, 2), with the notes of what was derived."""
    sk = get_skeleton(target)
    j = joints.shape[1]
    if source is None:
        if j == sk.num_joints:
            return joints, []
        if j == 17:
            source = "coco17"
        else:
            raise InputError(f"{path}: {j} joints per pose, but the lifter takes {sk.num_joints} ({sk.name}) "
                             "or 17 COCO keypoints")
    src = get_skeleton(source)
    if j != src.num_joints:
        raise InputError(f"{path}: {j} joints per pose, but {src.name} has {src.num_joints}")
    if src.name == sk.name:
        return joints, []
    if src.name == "coco17" and sk.name in ("h36m17", "panoptic19"):
        return _from_coco(joints, sk.name)
    from hpe_core.skeleton import convert_joints

    out = convert_joints(joints, src, sk)
    missing = [sk.joint_names[k] for k in range(sk.num_joints) if np.isnan(out[:, k]).all()]
    return out, [f"{src.name} -> {sk.name}: no counterpart for {', '.join(missing)}"] if missing else []


def _mid(a, b):
    return (a + b) / 2.0


def _from_coco(c: np.ndarray, target: str) -> tuple[np.ndarray, list[str]]:
    pelvis, thorax = _mid(c[:, _LHIP], c[:, _RHIP]), _mid(c[:, _LSH], c[:, _RSH])
    if target == "panoptic19":
        order = [thorax, c[:, _NOSE], pelvis, c[:, _LSH], c[:, _LEL], c[:, _LWR], c[:, _LHIP], c[:, _LKN], c[:, _LAN],
                 c[:, _RSH], c[:, _REL], c[:, _RWR], c[:, _RHIP], c[:, _RKN], c[:, _RAN],
                 c[:, _LEYE], c[:, _LEAR], c[:, _REYE], c[:, _REAR]]
        return np.stack(order, 1), ["coco17 -> panoptic19: Neck derived as the mid-shoulder point, "
                                    "BodyCenter as the mid-hip point"]
    nose = c[:, _NOSE]
    spine = _mid(pelvis, thorax)
    head = nose + 0.25 * (nose - thorax)
    order = [pelvis, c[:, _RHIP], c[:, _RKN], c[:, _RAN], c[:, _LHIP], c[:, _LKN], c[:, _LAN], spine, thorax, nose,
             head, c[:, _LSH], c[:, _LEL], c[:, _LWR], c[:, _RSH], c[:, _REL], c[:, _RWR]]
    return np.stack(order, 1), ["coco17 -> h36m17: Pelvis derived as the mid-hip point, Thorax as the "
                                "mid-shoulder point, Spine midway between them, Head from the nose and thorax"]


def check_complete(joints: np.ndarray, needed: Iterable[int], path: str, names: list[str]) -> None:
    """InputError naming the first sample with a missing (NaN) joint among ``needed``."""
    needed = list(needed)
    bad = ~np.isfinite(joints[:, needed]).all(axis=(1, 2))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        name = names[k] if k < len(names) else str(k)
        raise InputError(f"{path}: sample {name} has a NaN (missing) joint; the lifter needs every joint "
                         f"({int(bad.sum())} of {len(joints)} samples are incomplete)")


def lift_keypoints(model, joints: np.ndarray, names: list[str], source: str = "", batch_size: int = 4096,
                   checkpoint: str | None = None, notes: list[str] | None = None):
    """(N, J, 2) px -> a :class:`~hpe_core.inference_io.PredictionRun` of the lifter's 3D."""
    import torch

    from hpe_core.inference_io import PredictionRun
    from hpe_core.models.families import FAMILIES

    run = PredictionRun(skeleton=model.skeleton, num_joints=model.num_joints, source=source,
                        checkpoint=checkpoint, notes=list(notes or []))
    if model.normalised_output:
        run.notes.append("the lifter has no normalisation statistics: 3D is in normalised units, not mm")
    model = model.eval()
    start = time.perf_counter()
    with torch.inference_mode():
        for a in range(0, len(joints), batch_size):
            t0 = time.perf_counter()
            rows = FAMILIES["lifter"].predict(model, {"joints_2d": joints[a:a + batch_size]})
            n = len(rows)
            run.add_prediction(range(a, a + n), names[a:a + n], rows, (time.perf_counter() - t0) * 1000 / max(n, 1))
    run.wall_s = time.perf_counter() - start
    return run


def chain_images(heatmap, lifter, source: str | Path, image_size: int, batch_size: int = 32, progress=None,
                 checkpoint: str | None = None):
    """Images (a file, a folder, or a dataset) -> heatmap 2D in each image's px -> lifter 3D."""
    from hpe_core.training.tasks.pipeline import predicted_2d

    if heatmap.num_joints != lifter.num_joints:
        raise InputError(f"the heatmap checkpoint predicts {heatmap.num_joints} joints, the lifter takes "
                         f"{lifter.num_joints}")
    reader = _ImageReader(source)
    joints = predicted_2d(heatmap, reader, np.arange(len(reader)), image_size, "cpu", batch_size)
    ok = np.isfinite(joints).all(axis=(1, 2))
    run = lift_keypoints(lifter, joints[ok], [reader.names[k] for k in np.flatnonzero(ok)], str(source),
                         checkpoint=checkpoint, notes=["2D from the heatmap checkpoint (argmax), lifted to 3D"])
    run.frames[:] = [int(k) for k in np.flatnonzero(ok)]
    for k in np.flatnonzero(~ok):
        run.add_skipped(reader.names[k], "not a readable image")
    return run


class _ImageReader:
    """``load_image(i)`` over an image file, a folder of images or a dataset."""

    def __init__(self, source) -> None:
        from hpe_core.inference import _is_dataset
        from hpe_core.inference_io import iter_image_files

        path = Path(source).expanduser()
        if path.is_dir() and _is_dataset(path):
            from hpe_core.datasets import open_dataset

            self.dataset = open_dataset(path)
            self.names = [self.dataset.sample_name(i) for i in range(len(self.dataset))]
            self.files = None
        else:
            self.dataset, self.files = None, list(iter_image_files(path))
            self.names = [p.name for p in self.files]

    def __len__(self) -> int:
        return len(self.names)

    def load_image(self, i: int) -> np.ndarray:
        if self.dataset is not None:
            return self.dataset.load_image(i)
        import cv2

        from hpe_core.errors import DatasetError

        image = cv2.imread(str(self.files[i]), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetError(f"{self.files[i]}: not a readable image")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
