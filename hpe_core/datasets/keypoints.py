"""2D keypoint files as datasets: a COCO keypoints JSON (a dataset's ``annotations`` or a results
list, each with ``keypoints`` = J x (x, y, v); v = 0 marks a missing joint), an ``.npy``/``.npz``
array (N, J, 2) px, or our own predictions ``.npz`` (its ``joints_2d``).

    dataset = read_keypoints_file("person_keypoints.json")     # a PoseDataset: joints_2d, no images

The dataset keeps the file's joint set (``extra["joint_set"]``: coco17 for COCO, the set a
predictions file names, else None: a bare array is matched to the model by its joint count);
a model lifting it maps it onto its own (:func:`hpe_core.skeleton.map_joints`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError

KEYPOINT_SUFFIXES = (".json", ".npy", ".npz")


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


def read_keypoints_file(path: str | Path, joints: str | None = None, target: str | None = None):
    """The keypoints file ``path`` as a :class:`PoseDataset` of 2D joints (NaN: missing; ``visible``
    where finite), no images; ``joints`` names the file's joint set (see the module docstring),
    ``target`` the joint set of the model that will read it (named when the file fits no set)."""
    from hpe_core.datasets.base import NoImages, PoseDataset
    from hpe_core.skeleton import COCO17, SKELETONS, get_skeleton, map_joints

    arr, names, joint_set, notes = read_keypoints(path, joints)
    by_count = {sk.num_joints: sk for sk in SKELETONS.values()}
    skeleton = get_skeleton(joint_set) if joint_set else COCO17 if arr.shape[1] == 17 else by_count.get(arr.shape[1])
    if skeleton is None and target:
        map_joints(arr, None, target, str(path))  # says what the model takes
    if skeleton is None:
        raise InputError(f"{path}: {arr.shape[1]} joints per pose match no known joint set; give --joints")
    visible = np.isfinite(arr).all(-1)
    return PoseDataset(path=Path(path), format="keypoints", skeleton=skeleton, size=len(arr),
                       columns={"joints_2d": arr.astype(np.float32), "visible": visible},
                       images=NoImages(f"{path}: a keypoints file has no images", names.__getitem__),
                       extra={"joint_set": joint_set, "notes": notes})
