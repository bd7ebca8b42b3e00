"""Scoring a :class:`~hpe_core.predictions.Prediction` on a dataset by a named protocol
(:mod:`hpe_core.protocols`): the dataset's columns the protocol reads (its ground truth, group
labels, an actor's frames, a person's area and image), the rows matched as
:func:`~hpe_core.inference.evaluate.score_prediction` matches them, and the manifest.

    result = score_protocol(prediction, dataset, rows, "3dhp", joints=14, source="pred.npz")
    result["metrics"], result["groups"]["sequence"], result["manifest"]
"""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.predictions import Prediction

PW3D_FPS = 30.0  # 3DPW's images (its 60 Hz poses are sampled at img_frame_ids)


def check_protocol(name: str, joints: int | None = None, skeleton: str | None = None):
    """``(protocol, variant)`` of ``name`` / ``joints`` on a dataset of ``skeleton`` (None: checks the
    name and the joint count only); InputError naming ``--protocol`` or ``--joints`` when they do not fit."""
    from hpe_core.protocols import get_protocol

    protocol = get_protocol(name)
    if skeleton is None:
        protocol.variant(joints, protocol.skeletons[0] if protocol.skeletons else "")
        return protocol, None
    return protocol, protocol.variant(joints, skeleton)


def protocol_manifest(protocol, variant, dataset, extra: dict | None = None, fingerprint: str | None = None) -> dict:
    """:func:`hpe_core.protocols.manifest` with this code's version and ``dataset``'s fingerprint
    (:func:`~hpe_core.datasets.fingerprint.annotations_fingerprint`, unless given)."""
    from hpe_core import __version__
    from hpe_core.datasets.fingerprint import annotations_fingerprint
    from hpe_core.protocols import manifest

    return manifest(protocol, variant, fingerprint or annotations_fingerprint(dataset), f"hpe-studio {__version__}",
                    extra)


def check_sigmas(sigmas, name: str, num_joints: int) -> np.ndarray | None:
    """``--sigmas`` as ``(J,)`` floats: InputError unless the protocol takes them (coco) and they are
    one positive number a keypoint."""
    if sigmas is None:
        return None
    if name != "coco":
        raise InputError(f"--sigmas applies to the coco protocol, not {name}")
    values = np.asarray(sigmas, np.float64).reshape(-1)
    if len(values) != num_joints or not (np.isfinite(values) & (values > 0)).all():
        raise InputError(f"--sigmas: expected {num_joints} positive numbers (one a keypoint), got {len(values)}: "
                         f"{', '.join(f'{v:g}' for v in values[:5])}{', ...' if len(values) > 5 else ''}")
    return values


def score_protocol(prediction: Prediction, dataset, rows=None, name: str = "standard", joints: int | None = None,
                   source: str = "prediction", per_sample: bool = False, fingerprint: str | None = None,
                   sigmas=None) -> dict:
    """The numbers of protocol ``name`` (joint variant ``joints``) of ``prediction`` on ``rows`` of
    ``dataset``, with ``"manifest"`` (``fingerprint``: the dataset's, when known; ``sigmas``: COCO's
    per-keypoint OKS sigmas instead of the standard ones). ``standard`` is :func:`score_prediction`
    as it is."""
    from hpe_core.inference.evaluate import check_joint_count, score_prediction

    protocol, variant = check_protocol(name, joints, dataset.skeleton.name)
    sigmas = check_sigmas(sigmas, protocol.name, dataset.skeleton.num_joints)
    if protocol.name == "standard":
        out = score_prediction(prediction, dataset, rows, source, per_sample=per_sample)
        return {**out, "manifest": protocol_manifest(protocol, None, dataset, None, fingerprint)}
    check_joint_count(prediction, dataset, source)
    joints_pred, index, unpredicted, picked = _scored(prediction, dataset, rows, source, protocol.dims)
    groups = {label: _codes(dataset, label, index) for label in protocol.groups if label in dataset.available_labels()}
    if protocol.dims == 2:
        scores = None if prediction.scores is None else prediction.scores if picked is None else \
            prediction.scores[picked]
        return _coco(protocol, scores, dataset, joints_pred, index, unpredicted, fingerprint, sigmas)
    column = protocol.gt_column if dataset.has(protocol.gt_column) else "joints_3d"
    if dataset.column(column) is None:
        raise InputError(f"{dataset.path}: has no 3D joints to evaluate against")
    gt, valid = _rows_of(dataset.column(column), index), _rows_of(dataset.visible, index)
    tracks, fps, extra = None, None, {"ground_truth": column}
    if "accel" in protocol.measures:
        fps = float(dataset.extra.get("fps") or PW3D_FPS)
        tracks = (_codes(dataset, "subject", index)[0], np.asarray(dataset.frame)[index])
        extra["fps"] = fps
    from hpe_core.protocols.pose3d import score_pose3d

    result = score_pose3d(protocol, variant, joints_pred, gt, valid, groups, tracks, fps)
    return {"dims": 3, "units": "mm", **result, "unpredicted": unpredicted,
            "manifest": protocol_manifest(protocol, variant, dataset, extra, fingerprint)}


def _scored(prediction: Prediction, dataset, rows, source: str, dims: int):
    """``(joints (n, J, D), dataset rows (n,), unpredicted, the prediction's rows kept or None for all)``:
    the predicted rows among ``rows``."""
    from hpe_core.inference.evaluate import _has_joint, _selected, match_rows

    joints = prediction.joints_3d if dims == 3 else prediction.joints_2d
    if joints is None:
        raise InputError(f"{source}: has no {dims}D joints, which the protocol scores")
    index = match_rows(prediction, dataset, source)
    keep = None if rows is None else _selected(index, rows, len(dataset))
    predicted = _has_joint(joints)
    unpredicted = int((~predicted if keep is None else keep & ~predicted).sum())
    keep = predicted if keep is None else keep & predicted
    if not keep.any():
        raise InputError(f"{source}: none of the selected samples has a predicted joint")
    picked = None
    if not keep.all():
        picked = np.flatnonzero(keep)
        joints, index = joints[picked], index[picked]
    return joints, index, unpredicted, picked


def _rows_of(column, index):
    from hpe_core.inference.evaluate import _rows_of as rows_of

    return rows_of(column, index)


def _codes(dataset, label: str, index: np.ndarray) -> tuple[np.ndarray, list[str]]:
    values, names = dataset.labels(label)
    codes = np.asarray(values)[index]
    if len(codes) and codes.max() >= len(names):
        names = names + [str(v) for v in range(len(names), int(codes.max()) + 1)]
    return codes, names


def _coco(protocol, scores, dataset, det, index, unpredicted, fingerprint, sigmas) -> dict:
    from hpe_core.protocols.coco_oks import COCO_SIGMAS, score_coco

    gt = np.asarray(dataset.joints_2d, np.float64)[index]
    labelled = np.asarray(dataset.visible, bool)[index]
    area, area_from = _areas(dataset, index, gt, labelled)
    image = np.asarray(dataset.frame)[index]
    given = scores is not None
    scores = np.nanmean(np.asarray(scores, np.float64), axis=1) if given else np.ones(len(index))
    result = score_coco(np.asarray(det, np.float64), scores, image, np.nan_to_num(gt), labelled, area, image,
                        COCO_SIGMAS if sigmas is None else sigmas, dataset.skeleton.joint_names)
    extra = {"joints": "the 17 COCO keypoints", "area": area_from,
             "sigmas": "COCO's 17 standard sigmas" if sigmas is None else
             "given: " + ", ".join(f"{v:g}" for v in sigmas),
             "score": "mean keypoint score" if given else "1 per person (no scores)"}
    return {"dims": 2, "units": "AP", **result, "groups": {}, "unpredicted": unpredicted,
            "manifest": protocol_manifest(protocol, None, dataset, extra, fingerprint)}


def _areas(dataset, index, gt, labelled) -> tuple[np.ndarray, str]:
    if dataset.has("area"):
        return np.asarray(dataset.column("area"), np.float64)[index], "the annotations' area"
    if dataset.has("boxes"):
        b = np.asarray(dataset.boxes, np.float64)[index]
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        if np.isfinite(area).all():
            return area, "the person boxes' width x height (the file gives no area)"
    lo = np.where(labelled[..., None], gt, np.inf).min(axis=1)
    hi = np.where(labelled[..., None], gt, -np.inf).max(axis=1)
    return (hi - lo).prod(axis=1), "the labelled keypoints' box (the file gives no area or box)"
