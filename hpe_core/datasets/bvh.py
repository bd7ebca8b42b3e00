"""A small reader of BVH motion capture (Biovision hierarchy): the joint tree with offsets and
channels, the motion frames, and the global joint positions they give.

``read_bvh(path) -> Motion``; ``motion.positions()`` -> ``(T, B, 3)`` in the file's units and
frame (usually centimetres, y up); ``motion_to_skeleton(motion, mapping, skeleton, scale)`` puts
named BVH joints onto a joint set (e.g. h36m17) in mm. Rotation channels compose in the order
they are listed (``Zrotation Xrotation Yrotation``: ``R = Rz @ Rx @ Ry``); an ``End Site`` is a
joint named ``<parent>_end`` with no channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpe_core.errors import InputError
from hpe_core.skeleton import Skeleton, get_skeleton

_CHANNELS = {"Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation"}


@dataclass(frozen=True)
class Motion:
    """``names`` (B,), ``parents`` (B,) (-1 for the root), ``offsets`` (B, 3), ``channels`` per joint,
    ``frames`` (T, C) with the channels of all joints in file order, ``frame_time`` seconds."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    frames: np.ndarray
    frame_time: float

    def positions(self) -> np.ndarray:
        """Global joint positions ``(T, B, 3)``."""
        t = len(self.frames)
        rot = np.zeros((t, len(self.names), 3, 3))
        pos = np.zeros((t, len(self.names), 3))
        col = 0
        for b, (parent, chans) in enumerate(zip(self.parents, self.channels)):
            local_r = np.broadcast_to(np.eye(3), (t, 3, 3)).copy()
            local_t = np.broadcast_to(self.offsets[b], (t, 3)).copy()
            for name in chans:
                value = self.frames[:, col]
                col += 1
                axis = "XYZ".index(name[0])
                if name.endswith("position"):
                    local_t[:, axis] += value
                else:
                    local_r = local_r @ _axis_rotation(axis, np.radians(value))
            if parent < 0:
                rot[:, b], pos[:, b] = local_r, local_t
            else:
                pos[:, b] = pos[:, parent] + np.einsum("tij,tj->ti", rot[:, parent], local_t)
                rot[:, b] = rot[:, parent] @ local_r
        return pos


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1.0
    out[..., i, i] = c
    out[..., j, j] = c
    out[..., i, j] = -s
    out[..., j, i] = s
    return out


def read_bvh(path: str | Path) -> Motion:
    """Parse a BVH file; an :class:`InputError` names the file and the line that is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    tokens = [(n + 1, tok) for n, line in enumerate(text.splitlines()) for tok in line.split()]
    reader = _Tokens(tokens, path)
    reader.expect("HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    kind = reader.next()
    if kind != "ROOT":
        reader.fail(f"expected ROOT, found {kind!r}")
    _joint(reader, -1, names, parents, offsets, channels)
    reader.expect("MOTION")
    reader.expect("Frames:")
    count = reader.integer()
    reader.expect("Frame")
    reader.expect("Time:")
    frame_time = reader.number()
    width = sum(len(c) for c in channels)
    values = [reader.number() for _ in range(count * width)]
    if not reader.done():
        reader.fail(f"more values than {count} frames of {width} channels")
    return Motion(tuple(names), tuple(parents), np.array(offsets, dtype=np.float64), tuple(channels),
                  np.array(values, dtype=np.float64).reshape(count, width), frame_time)


def _joint(reader, parent: int, names, parents, offsets, channels) -> None:
    index = len(names)
    names.append(reader.next())
    parents.append(parent)
    reader.expect("{")
    reader.expect("OFFSET")
    offsets.append([reader.number() for _ in range(3)])
    reader.expect("CHANNELS")
    count = reader.integer()
    chans = tuple(reader.next() for _ in range(count))
    bad = [c for c in chans if c not in _CHANNELS]
    if bad:
        reader.fail(f"unknown channel {bad[0]!r}")
    channels.append(chans)
    while True:
        kind = reader.next()
        if kind == "}":
            return
        if kind == "JOINT":
            _joint(reader, index, names, parents, offsets, channels)
        elif kind == "End":
            reader.expect("Site")
            reader.expect("{")
            reader.expect("OFFSET")
            names.append(f"{names[index]}_end")
            parents.append(index)
            offsets.append([reader.number() for _ in range(3)])
            channels.append(())
            reader.expect("}")
        else:
            reader.fail(f"expected JOINT, End Site or }}, found {kind!r}")


class _Tokens:
    def __init__(self, tokens, path: Path) -> None:
        self.tokens, self.path, self.i = tokens, path, 0

    def fail(self, message: str):
        line = self.tokens[min(self.i, len(self.tokens)) - 1][0] if self.tokens else 0
        raise InputError(f"{self.path}: line {line}: not a BVH file: {message}")

    def next(self) -> str:
        if self.i >= len(self.tokens):
            self.i = len(self.tokens)
            self.fail("unexpected end of file")
        self.i += 1
        return self.tokens[self.i - 1][1]

    def expect(self, word: str) -> None:
        tok = self.next()
        if tok != word:
            self.fail(f"expected {word!r}, found {tok!r}")

    def number(self) -> float:
        tok = self.next()
        try:
            value = float(tok)
        except ValueError:
            self.fail(f"expected a number, found {tok!r}")
        if not np.isfinite(value):
            self.fail(f"expected a finite number, found {tok!r}")
        return value

    def integer(self) -> int:
        tok = self.next()
        if not tok.isdigit():
            self.fail(f"expected a count, found {tok!r}")
        return int(tok)

    def done(self) -> bool:
        return self.i >= len(self.tokens)


def motion_to_skeleton(motion: Motion, mapping: dict[str, str], skeleton: str | Skeleton,
                       scale: float = 10.0) -> np.ndarray:
    """``(T, J, 3)`` joints of ``skeleton`` (mm, times ``scale`` per file unit: 10 for cm) from
    ``mapping`` {skeleton joint: BVH joint name}; every joint of the skeleton must be mapped."""
    sk = get_skeleton(skeleton)
    missing = [n for n in sk.joint_names if n not in mapping]
    if missing:
        raise InputError(f"BVH mapping: no BVH joint for {', '.join(missing)} of {sk.name}")
    unknown = [b for b in mapping.values() if b not in motion.names]
    if unknown:
        raise InputError(f"BVH mapping: the file has no joint {unknown[0]!r}")
    positions = motion.positions() * scale
    return positions[:, [motion.names.index(mapping[n]) for n in sk.joint_names]]
