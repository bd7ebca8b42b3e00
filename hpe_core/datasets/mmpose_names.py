"""The per-row labels of an mmpose body3d file, parsed from its N image names at once.

A name is ``<prefix>_<frame>.<ext>`` (``S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg``,
``S1_Seq1_Cam0_000001.jpg``, ``TS1_000001.jpg``; mmpose's converters write them so). The names are
read as a matrix of character codes, a chunk of rows at a time: the last ``_`` and ``.`` of each
row, the frame number between them, and where the prefix changes from the row before. Only the
distinct prefixes (a few hundred: one per sequence and camera) are parsed as strings, so the
1.5 M names of Human3.6M's train set cost a few vector passes, not 1.5 M Python calls.
"""

from __future__ import annotations

import re

import numpy as np

from hpe_core.errors import DatasetError

CHUNK = 1 << 17
_H36M = re.compile(r"^(S\d+)_(.+)\.(\w+)$")  # S1_Directions_1.54138969 (subject, action + subaction, camera)


def _codes(names: np.ndarray) -> np.ndarray:
    """(n, L) character codes of an (n,) str or bytes array (0 past a name's end); ASCII names as bytes."""
    if names.dtype.kind == "U":
        try:
            names = names.astype(f"S{names.dtype.itemsize // 4}")
        except UnicodeEncodeError:  # not ASCII: the 4-byte code points themselves
            return np.ascontiguousarray(names).view(np.uint32).reshape(len(names), -1)
    return np.ascontiguousarray(names).view(np.uint8).reshape(len(names), -1)


def _last(codes: np.ndarray, char: str) -> np.ndarray:
    hit = codes[:, ::-1] == ord(char)
    return np.where(hit.any(axis=1), codes.shape[1] - 1 - hit.argmax(axis=1), -1)


def _frames(codes: np.ndarray, cut: np.ndarray, dot: np.ndarray) -> np.ndarray | None:
    """The number between ``cut`` and ``dot`` of each row, read right to left; None where a row has none."""
    if (cut < 0).any() or (dot <= cut + 1).any() or (dot - cut - 1).max() > 18:
        return None
    places = np.arange(int((dot - cut - 1).max()))
    at = dot[:, None] - 1 - places
    inside = at > cut[:, None]
    digits = np.take_along_axis(codes, np.maximum(at, 0), axis=1).astype(np.int64) - ord("0")
    if (inside & ((digits < 0) | (digits > 9))).any():
        return None
    return (np.where(inside, digits, 0) * 10 ** places).sum(axis=1)


def _chunk(names: np.ndarray, previous: np.ndarray | None, offset: int):
    """``(prefix end, frame, starts a new prefix)`` of each row of one chunk; ``previous`` holds the
    row before the chunk (None for the first)."""
    codes = _codes(names if previous is None else np.concatenate([previous, names]))
    cut, dot = _last(codes, "_"), _last(codes, ".")
    frame = _frames(codes, cut, dot)
    if frame is None:
        for k in range(len(names)):  # name the first bad row
            row = k + (previous is not None)
            if _frames(codes[row:row + 1], cut[row:row + 1], dot[row:row + 1]) is None:
                raise DatasetError(f"imgname {_text(names[k])!r} (row {offset + k}): expected "
                                   "<sequence>_<frame>.<ext> as mmpose's converters write it")
    neq = codes[1:] != codes[:-1]
    differs = (neq.any(axis=1) & (neq.argmax(axis=1) < cut[1:])) | (cut[1:] != cut[:-1])
    if previous is None:
        return cut, frame, np.concatenate([[True], differs])
    return cut[1:], frame[1:], differs


def _text(value) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _parse_prefix(prefix: str, joint_set: str) -> tuple[str, str, str, str]:
    """``(subject, sequence, action, camera key)`` of a name prefix."""
    base = prefix.rsplit("/", 1)[-1]
    if joint_set == "h36m17":
        m = _H36M.match(base)
        if not m:
            raise DatasetError(f"imgname prefix {prefix!r}: expected S<n>_<action>.<camera> as mmpose's "
                               "Human3.6M converter writes it")
        subject, action, camera = m.groups()
        return subject, f"{subject}/{action}", re.sub(r"[\s_]*\d+$", "", action), f"{subject}/{camera}"
    parts = base.split("_")
    if len(parts) == 3:  # S1_Seq1_Cam0
        return parts[0], f"{parts[0]}_{parts[1]}", "", base
    return parts[0], base, "", base  # TS1


def _ranks(values: list[str], key=None) -> tuple[list[str], dict[str, int]]:
    order = sorted(set(values), key=key)
    return order, {v: k for k, v in enumerate(order)}


def parse_names(names: np.ndarray, joint_set: str) -> tuple[dict[str, np.ndarray], dict]:
    """``(arrays, meta)``: per row ``sequence``, ``frame`` (as the name numbers it), ``camera_id``,
    ``subject``, ``action``, ``pose_id`` (the same (sequence, frame) across cameras); ``meta`` the
    names of subjects, actions, sequences and the camera keys."""
    n = len(names)
    cuts, frames, starts = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, bool)
    for a in range(0, n, CHUNK):
        cut, frame, differs = _chunk(names[a:a + CHUNK], names[a - 1:a] if a else None, a)
        cuts[a:a + CHUNK], frames[a:a + CHUNK], starts[a:a + CHUNK] = cut, frame, differs
    first = np.flatnonzero(starts)
    lengths = np.diff(np.append(first, n))
    prefixes = [_text(names[i])[:cuts[i]] for i in first.tolist()]
    parsed = {p: _parse_prefix(p, joint_set) for p in set(prefixes)}
    by_number = lambda s: (len(s), s)  # S1, S5, S9, S11
    subjects, subject_of = _ranks([v[0] for v in parsed.values()], by_number)
    sequences, sequence_of = _ranks([v[1] for v in parsed.values()])
    actions, action_of = _ranks([v[2] for v in parsed.values() if v[2]])
    cameras, camera_of = _ranks([v[3] for v in parsed.values()])
    per_run = np.array([(subject_of[parsed[p][0]], sequence_of[parsed[p][1]], action_of.get(parsed[p][2], 0),
                         camera_of[parsed[p][3]]) for p in prefixes], np.int64).reshape(-1, 4)
    subject, sequence, action, camera = (np.repeat(per_run[:, k], lengths) for k in range(4))
    arrays = {"sequence": sequence.astype(np.int32), "frame": frames, "camera_id": camera.astype(np.int32),
              "subject": subject.astype(np.int32), "action": action.astype(np.int32),
              "pose_id": sequence * (int(frames.max()) + 1) + frames}
    return arrays, {"subjects": subjects, "actions": actions, "sequences": sequences, "cameras": cameras}
