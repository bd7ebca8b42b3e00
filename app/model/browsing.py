"""Which dataset rows the browser lists: filters (action, subject, camera, split) and sorting."""

from __future__ import annotations

import numpy as np

FILTERS = ("action", "subject", "camera", "split")
SORTS = {"index": "Index", "error_desc": "Error ↓ (worst first)", "error_asc": "Error ↑ (best first)"}
SPLITS = ("train", "val", "test")


def _label_array(dataset, name: str) -> tuple[np.ndarray | None, list[str]]:
    attr = {"action": "action", "subject": "subject", "camera": "camera_id"}[name]
    has = getattr(dataset, "has", None)
    if has is not None and not has(attr):  # a default column (all zeros) is no label to filter on
        return None, []
    values = getattr(dataset, attr, None)
    if values is None:
        return None, []
    names = list(getattr(dataset, f"{name}_names", None) or [])
    return np.asarray(values), names


def filter_choices(dataset) -> dict[str, list[tuple[object, str]]]:
    """For each filter, the ``(value, label)`` pairs present in ``dataset``."""
    choices: dict[str, list[tuple[object, str]]] = {}
    for name in ("action", "subject", "camera"):
        values, names = _label_array(dataset, name)
        if values is None:
            choices[name] = []
            continue
        uniq = np.unique(values)
        if name == "camera":
            label = {int(v): f"cam {int(v)}" for v in uniq}
            for cid, cam in (getattr(dataset, "cameras", None) or {}).items():
                if cid in label and getattr(cam, "name", ""):
                    label[cid] = f"cam {cid} ({cam.name})"
        else:
            label = {int(v): names[int(v)] if 0 <= int(v) < len(names) else str(int(v)) for v in uniq}
        choices[name] = [(int(v), label[int(v)]) for v in uniq]
    choices["split"] = [(s, s) for s in SPLITS]
    return choices


def filter_rows(dataset, filters: dict) -> np.ndarray:
    """Dataset indices passing every filter whose value is not None."""
    keep = np.ones(len(dataset), dtype=bool)
    for name in ("action", "subject", "camera"):
        value = filters.get(name)
        if value is None:
            continue
        values, _ = _label_array(dataset, name)
        if values is not None:
            keep &= values == int(value)
    split = filters.get("split")
    if split is not None:
        mask = np.zeros(len(dataset), dtype=bool)
        mask[np.asarray(dataset.split_indices(split), dtype=np.int64)] = True
        keep &= mask
    return np.flatnonzero(keep)


def sort_rows(rows: np.ndarray, error: np.ndarray | None, mode: str) -> np.ndarray:
    """Order ``rows`` by ``mode``; rows with unknown error (NaN) always come last."""
    if mode == "index" or error is None:
        return rows
    e = error[rows]
    key = np.where(np.isnan(e), np.inf, -e if mode == "error_desc" else e)
    return rows[np.argsort(key, kind="stable")]


def sequence_rows(dataset, index: int) -> np.ndarray:
    """Rows of the same sequence seen by the same camera as ``index``, ordered by frame."""
    n = len(dataset)
    mask = np.ones(n, dtype=bool)
    has = getattr(dataset, "has", lambda name: getattr(dataset, name, None) is not None)
    keys = ("sequence", "camera_id") if has("sequence") else ("subject", "action", "camera_id")
    for key in keys:
        values = getattr(dataset, key, None)
        if values is not None:
            mask &= np.asarray(values) == np.asarray(values)[index]
    rows = np.flatnonzero(mask)
    frames = getattr(dataset, "frame", None)
    if frames is not None:
        rows = rows[np.argsort(np.asarray(frames)[rows], kind="stable")]
    return rows
