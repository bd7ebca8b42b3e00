"""Which dataset rows the browser lists: filters (action, subject, camera, split), sorting and
a pick of samples, as a frozen :class:`BrowseState` changed by replacement, and the
:class:`Browse` part that holds it with the rows it gives."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from psygnal import Signal

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


def play_rows(dataset, index: int, listed: np.ndarray) -> np.ndarray:
    """What Play steps through from ``index``: its sequence (:func:`sequence_rows`) restricted to
    the rows the browser lists (``listed``: filters and pick), in frame order; when that leaves
    fewer than two rows (no sequences, or the list is another sequence), the listed rows in the
    browser's order."""
    listed = np.asarray(listed, dtype=np.int64)
    seq = sequence_rows(dataset, index)
    if len(listed) != len(dataset):
        seq = seq[np.isin(seq, listed)]
    return seq if len(seq) >= 2 or len(listed) < 2 else listed


@dataclass(frozen=True)
class BrowseState:
    """Filters, sort and pick; never changed in place: the ``with_*`` methods return a new one,
    so "what changed" is one comparison."""

    filters: dict = field(default_factory=dict)  # name in FILTERS -> value; never mutated
    sort: str = "index"  # a key of SORTS
    picked: tuple[int, ...] | None = None  # dataset indices picked in an analysis view

    def with_filter(self, name: str, value) -> "BrowseState":
        if name not in FILTERS:
            raise ValueError(f"unknown filter {name!r}")
        return replace(self, filters={**self.filters, name: value})

    def with_sort(self, mode: str) -> "BrowseState":
        return replace(self, sort=mode if mode in SORTS else "index")

    def with_picked(self, indices) -> "BrowseState":
        """Only ``indices`` are listed (sorted, unique); an empty pick lists everything again."""
        chosen = np.sort(np.asarray(indices, dtype=np.int64).reshape(-1))  # np.unique hashes: slow at 1 M
        chosen = chosen[np.concatenate([[True], chosen[1:] != chosen[:-1]])] if len(chosen) else chosen
        return replace(self, picked=tuple(chosen.tolist()) if len(chosen) else None)

    def rows(self, dataset, ranking: np.ndarray | None) -> np.ndarray:
        """The dataset indices listed, in order (``ranking``: the per-sample error to sort by)."""
        if dataset is None:
            return np.zeros(0, dtype=np.int64)
        rows = filter_rows(dataset, self.filters)
        if self.picked is not None:
            rows = rows[np.isin(rows, np.asarray(self.picked, dtype=np.int64))]
        return sort_rows(rows, ranking, self.sort)


class Browse:
    """The browse state of the current dataset and the rows it lists; ``rows_changed`` when
    either changes (filters, sort, pick, or a new ranking as predictions arrive)."""

    rows_changed = Signal()
    picked_changed = Signal(object)  # (M,) int64 picked indices; empty when cleared

    def __init__(self) -> None:
        self.state = BrowseState()
        self.rows = np.zeros(0, dtype=np.int64)

    def set_state(self, state: BrowseState, dataset, ranking: np.ndarray | None) -> None:
        picked_changed = state.picked != self.state.picked
        self.state = state
        self.refresh(dataset, ranking)
        if picked_changed:
            self.picked_changed.emit(np.asarray(state.picked or (), dtype=np.int64))

    def reset(self, dataset, ranking: np.ndarray | None) -> None:
        """Another dataset: the default state and its rows, not announced yet (the caller emits
        ``rows_changed`` once the new dataset itself was announced)."""
        self.state = BrowseState()
        self.refresh(dataset, ranking, emit=False)

    def refresh(self, dataset, ranking: np.ndarray | None, emit: bool = True) -> None:
        self.rows = self.state.rows(dataset, ranking)
        if emit:
            self.rows_changed.emit()

    def step(self, current: int, delta: int) -> int | None:
        """The row ``delta`` places from ``current`` in the list (clamped); None if none listed."""
        if len(self.rows) == 0:
            return None
        pos = np.flatnonzero(self.rows == current)
        return int(self.rows[0 if len(pos) == 0 else int(np.clip(pos[0] + delta, 0, len(self.rows) - 1))])
