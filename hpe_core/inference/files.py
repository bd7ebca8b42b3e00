"""Reading predictions made elsewhere into a :class:`~hpe_core.predictions.Prediction`.

``read_prediction_file(path, units)`` reads, by content:

- our own ``.npz`` (arrays + JSON ``meta``, :func:`hpe_core.predictions.load_prediction`);
  it states its units (mm), so ``units`` must be None;
- a VideoPose3D-style array file: ``.npy`` holding ``(N, J, 3)``, or ``.npz`` holding one such
  array (or several, one of them named ``joints_3d`` / ``positions_3d`` / ``predictions``),
  in metres or millimetres as ``units`` says ("m" | "mm");
- an MMPose 3D result JSON (``{"meta_info": ..., "instance_info": [{"frame_id": k, "instances":
  [{"keypoints": [[x, y, z], ...], "keypoint_scores": [...]}, ...]}, ...]}``, as its demos'
  ``--save-predictions`` write it; ``instances_3d`` is accepted for ``instances``): one row per
  frame in ``frame_id`` order, the first instance of each frame, NaN where a frame has none;
  ``units`` as for arrays (MMPose's lifters output metres).

Row ``i`` of a foreign file is sample ``i`` of the dataset it is scored against. Nothing is
unpickled (``allow_pickle=False``); a file that fits none of these is refused naming it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError
from hpe_core.predictions import Prediction, is_prediction_file, load_prediction

UNITS = {"m": 1000.0, "mm": 1.0}
_ARRAY_KEYS = ("joints_3d", "positions_3d", "predictions")


def read_prediction_file(path: str | Path, units: str | None = None) -> Prediction:
    """Any supported prediction file -> Prediction (mm); see the module docstring."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{path}: no such prediction file")
    if units is not None and units not in UNITS:
        raise InputError(f"--units {units}: expected m or mm")
    suffix = path.suffix.lower()
    if suffix == ".npz" and is_prediction_file(path):
        if units is not None:
            raise InputError(f"{path}: an HPE Studio prediction file states its units (mm); drop --units")
        return load_prediction(path)
    if suffix in (".npy", ".npz"):
        joints = _array(path)
        kind = "array"
    elif suffix == ".json":
        joints, scores, notes = _mmpose(path)
        kind = "mmpose"
    else:
        raise InputError(f"{path}: unknown prediction file type {suffix or '(none)'}; expected our .npz, "
                         "a (N, J, 3) .npy/.npz array, or an MMPose result .json")
    if units is None:
        raise InputError(f"{path}: the file does not say its units; pass --units m or --units mm")
    mm = _to_mm(joints, UNITS[units])
    meta = {"source": str(path), "format": kind, "units_read": units}
    if kind == "mmpose":
        meta["notes"] = notes
        return Prediction(joints_3d=mm, frame="camera", scores=scores, meta=meta)
    return Prediction(joints_3d=mm, frame="camera", meta=meta)


def _to_mm(joints: np.ndarray, scale: float) -> np.ndarray:
    """``joints`` x ``scale`` as float32, through float64 one chunk at a time; a float32 file in mm is
    used as it is (a memory-mapped ``.npy`` stays mapped)."""
    from hpe_core.alignment import chunks

    if scale == 1.0 and joints.dtype == np.float32:
        return joints
    out = np.empty(joints.shape, np.float32)
    for sl in chunks(len(joints)):
        out[sl] = np.asarray(joints[sl], np.float64) * scale
    return out


def _array(path: Path) -> np.ndarray:
    try:
        data = np.load(path, mmap_mode="r" if path.suffix.lower() == ".npy" else None, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a readable .npy/.npz array file ({exc})") from None
    if not isinstance(data, np.ndarray):
        with data:
            keys = list(data.files)
            key = keys[0] if len(keys) == 1 else next((k for k in _ARRAY_KEYS if k in keys), None)
            if key is None:
                raise InputError(f"{path}: holds {len(keys)} arrays ({', '.join(keys) or 'none'}); expected one, "
                                 f"or one named {' / '.join(_ARRAY_KEYS)}")
            try:
                data = data[key]
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise InputError(f"{path}: unreadable array {key!r} ({exc})") from None
    if data.ndim != 3 or data.shape[-1] != 3 or data.dtype.kind not in "biuf":
        raise InputError(f"{path}: expected a numeric (N, J, 3) array of 3D joints, got {data.dtype} {data.shape}")
    return data


def _mmpose(path: Path) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON file ({exc})") from None
    frames = doc.get("instance_info") if isinstance(doc, dict) else doc
    if not isinstance(frames, list) or not all(isinstance(f, dict) for f in frames):
        raise InputError(f"{path}: not an MMPose result file (expected 'instance_info', a list of frames)")
    if not frames:
        raise InputError(f"{path}: an MMPose result file with no frames")
    order = sorted(range(len(frames)), key=lambda k: _frame_id(frames[k], k, path))
    joints, scores, notes, several = [], [], [], 0
    for k in order:
        instances = frames[k].get("instances", frames[k].get("instances_3d"))
        if not isinstance(instances, list):
            raise InputError(f"{path}: frame {k} has no 'instances' list")
        several += len(instances) > 1
        joints.append(_keypoints(instances[0], path, k) if instances else None)
        scores.append(instances[0].get("keypoint_scores") if instances else None)
    sizes = {j.shape[0] for j in joints if j is not None}
    if not sizes:
        raise InputError(f"{path}: no frame holds a person")
    if len(sizes) > 1:
        raise InputError(f"{path}: frames disagree on the number of keypoints ({sorted(sizes)})")
    n_joints = sizes.pop()
    out = np.stack([np.full((n_joints, 3), np.nan) if j is None else j for j in joints])
    if several:
        notes.append(f"{several} frame(s) hold several people; the first instance of each was taken")
    return out, _scores(scores, n_joints), notes


def _frame_id(frame: dict, k: int, path: Path) -> int:
    value = frame.get("frame_id", k)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path}: frame {k} has a frame_id {value!r} that is not a number")
    return int(value)


def _keypoints(instance, path: Path, k: int) -> np.ndarray:
    try:
        kp = np.asarray(instance["keypoints"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{path}: frame {k}: an instance without numeric 'keypoints'") from None
    if kp.ndim == 3 and kp.shape[0] == 1:
        kp = kp[0]
    if kp.ndim != 2 or kp.shape[1] != 3:
        raise InputError(f"{path}: frame {k}: keypoints of shape {kp.shape}, expected (J, 3) 3D keypoints")
    return kp


def _scores(scores: list, n_joints: int) -> np.ndarray | None:
    rows = []
    for s in scores:
        try:
            arr = np.full(n_joints, np.nan) if s is None else np.asarray(s, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            return None
        if arr.shape != (n_joints,):
            return None  # scores of another shape are not per-joint confidences; leave them out
        rows.append(arr)
    return np.stack(rows)


#: the median bone of an adult (mm), for skeletons without a built-in bone-length prior: the
#: median of the panoptic19 and h36m17 priors (hpe_core.models.fk_head.PRIORS) is 220-250 mm
TYPICAL_BONE_MM = 235.0
#: how far (as a factor) the median bone may be from the prior before the units are doubted:
#: sqrt(1000), halfway (in log scale) between millimetres and metres, so m-vs-mm is always decided
SCALE_TOLERANCE = 1000.0 ** 0.5
_LOOKS_LIKE = ((1e-3, "metres", "m"), (1e-1, "centimetres", None),
               (1e3, "micrometres (or millimetres multiplied by 1000: declared --units m)", "mm"))


def check_scale(prediction: Prediction, skeleton, source: str) -> None:
    """For a file read with declared units (``--units``): InputError when the poses' bone lengths
    (median over every bone of every pose) are more than :data:`SCALE_TOLERANCE` times off the
    skeleton's prior in millimetres; the message says which units they look like. A model's own
    output (millimetres by construction, tiny when untrained) is not checked."""
    from hpe_core.kinematics import bone_lengths

    declared = (prediction.meta or {}).get("units_read")
    if not declared or prediction.joints_3d is None or not any(p >= 0 for p in skeleton.parents):
        return
    if _median_inside(prediction.joints_3d, skeleton, _prior_bone(skeleton.name)):
        return  # the usual case, decided a chunk at a time; else every length is taken, for the message
    lengths = bone_lengths(prediction.joints_3d, skeleton)[:, [c for c, p in enumerate(skeleton.parents) if p >= 0]]
    lengths = lengths[np.isfinite(lengths) & (lengths > 0)]
    if not len(lengths):
        return
    median, prior = float(np.median(lengths)), _prior_bone(skeleton.name)
    ratio = median / prior
    if 1 / SCALE_TOLERANCE <= ratio <= SCALE_TOLERANCE:
        return
    factor, words, flag = min(_LOOKS_LIKE, key=lambda item: abs(np.log10(ratio / item[0])))
    hint = f"; pass --units {flag}" if flag and flag != declared else ""
    raise InputError(f"{source}: its bones are {median:.3g} mm long (median), a {skeleton.name} skeleton's "
                     f"about {prior:.0f} mm: about {ratio:.3g}x off, so these poses look like {words}, not "
                     f"millimetres{hint}")


def _median_inside(joints: np.ndarray, skeleton, prior: float) -> bool:
    """Whether the median bone length of ``joints`` (N, J, 3) surely lies within :data:`SCALE_TOLERANCE`
    of ``prior``, counted a chunk of poses at a time (no (N, J) lengths held): it does when fewer
    than half of the lengths lie below ``prior / SCALE_TOLERANCE`` and fewer than half above
    ``prior * SCALE_TOLERANCE``. False: outside, or too near a bound to tell without the median."""
    from hpe_core.alignment import chunks
    from hpe_core.kinematics import bone_lengths

    bones = [c for c, p in enumerate(skeleton.parents) if p >= 0]
    count = below = above = 0
    for sl in chunks(len(joints)):
        lengths = bone_lengths(joints[sl], skeleton)[:, bones]
        lengths = lengths[np.isfinite(lengths) & (lengths > 0)]
        count += lengths.size
        below += int(np.count_nonzero(lengths < prior / SCALE_TOLERANCE))
        above += int(np.count_nonzero(lengths > prior * SCALE_TOLERANCE))
    return 2 * below < count and 2 * above < count


def _prior_bone(skeleton: str) -> float:
    """The median bone (mm) of ``skeleton``'s built-in prior, else :data:`TYPICAL_BONE_MM`."""
    from hpe_core.models.fk_head import PRIORS

    return float(np.median(list(PRIORS[skeleton].values()))) if skeleton in PRIORS else TYPICAL_BONE_MM
