"""``Prediction``: what every model returns and every consumer reads, and its ``.npz`` file.

A :class:`Prediction` is a frozen dataclass of optional per-sample arrays, one row per sample::

    joints_3d   (N, J, 3) float32 mm, in the frame named by ``frame``
                ("camera" | "root_relative" | "canonical")
    joints_2d   (N, J, 2) float32 px of the input image
    heatmaps    (N, J, h, w) float32
    hypotheses  (N, K, J, 3) float32 mm (several 3D poses per sample)
    embeddings  {modality: (N, D) float32}  (modality: "image", "pose2d", "pose3d", ...)
    latent      (N, Z) float32
    scores      (N, J) float32 per-joint confidence
    index       (N,) int64: the sample (dataset row, video frame) each row belongs to

plus ``skeleton`` (name), ``checkpoint`` (sha256 of the file that made it) and ``meta`` (a
JSON-able dict: source, names, precision, ...). A field that a model does not output is None
(``embeddings`` empty). Missing joints are NaN.

On disk (:meth:`Prediction.save`, :func:`load_prediction`): one ``.npz`` holding the present
arrays under their field names (``embeddings.<modality>`` for embeddings) and a JSON string
``meta`` = ``{"format": "hpe-studio-prediction", "format_version": 1, "skeleton", "units",
"frame", "checkpoint", "extra"}``. Written atomically, read with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from hpe_core.errors import InputError

FORMAT = "hpe-studio-prediction"
FORMAT_VERSION = 1
FRAMES = ("camera", "root_relative", "canonical")
UNITS = {"joints_3d": "mm", "hypotheses": "mm", "joints_2d": "px"}
# field -> number of dimensions after N (J, 3) and the fixed trailing size (None: any)
_SHAPES: dict[str, tuple[int, int | None]] = {
    "joints_3d": (2, 3), "joints_2d": (2, 2), "heatmaps": (3, None), "hypotheses": (3, 3),
    "latent": (1, None), "scores": (1, None), "index": (0, None)}
ARRAY_FIELDS = tuple(_SHAPES)
_EMB = "embeddings."


@dataclass(frozen=True)
class Prediction:
    """Per-sample model outputs (see the module docstring for shapes and units)."""

    joints_3d: np.ndarray | None = None
    frame: str | None = None
    joints_2d: np.ndarray | None = None
    heatmaps: np.ndarray | None = None
    hypotheses: np.ndarray | None = None
    embeddings: Mapping[str, np.ndarray] = field(default_factory=dict)
    latent: np.ndarray | None = None
    scores: np.ndarray | None = None
    index: np.ndarray | None = None
    skeleton: str | None = None
    checkpoint: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ARRAY_FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _as_field(name, value))
        embeddings = {str(k): _as_2d(f"embeddings[{k!r}]", v) for k, v in dict(self.embeddings).items()}
        object.__setattr__(self, "embeddings", embeddings)
        object.__setattr__(self, "meta", dict(self.meta))
        if self.joints_3d is not None or self.hypotheses is not None:
            if self.frame not in FRAMES:
                raise InputError(f"Prediction: 3D joints need a frame, one of {', '.join(FRAMES)}; "
                                 f"got {self.frame!r}")
        elif self.frame is not None and self.frame not in FRAMES:
            raise InputError(f"Prediction: frame {self.frame!r} is not one of {', '.join(FRAMES)}")
        counts = {name: len(a) for name, a in self._arrays().items()}
        if len(set(counts.values())) > 1:
            raise InputError(f"Prediction: fields disagree on the number of samples: {counts}")
        joints = {name: a.shape[1] for name, a in self._arrays().items()
                  if name in ("joints_3d", "joints_2d", "heatmaps", "scores")}
        if self.hypotheses is not None:
            joints["hypotheses"] = self.hypotheses.shape[2]
        if len(set(joints.values())) > 1:
            raise InputError(f"Prediction: fields disagree on the number of joints: {joints}")

    # ------------------------------------------------------------------ what it holds
    def _arrays(self) -> dict[str, np.ndarray]:
        """Every present array by its file key (embeddings as ``embeddings.<modality>``)."""
        out = {name: getattr(self, name) for name in ARRAY_FIELDS if getattr(self, name) is not None}
        out.update({_EMB + k: v for k, v in self.embeddings.items()})
        return out

    def __len__(self) -> int:
        arrays = self._arrays()
        return len(next(iter(arrays.values()))) if arrays else 0

    @property
    def num_joints(self) -> int | None:
        for name in ("joints_3d", "joints_2d", "heatmaps", "scores"):
            value = getattr(self, name)
            if value is not None:
                return int(value.shape[1])
        return None if self.hypotheses is None else int(self.hypotheses.shape[2])

    @property
    def present(self) -> tuple[str, ...]:
        """Names of the fields that hold data, e.g. ``("joints_3d", "embeddings")``."""
        names = [n for n in ARRAY_FIELDS if getattr(self, n) is not None]
        return tuple(names + (["embeddings"] if self.embeddings else []))

    def replace(self, **changes: Any) -> "Prediction":
        return replace(self, **changes)

    def take(self, rows) -> "Prediction":
        """The rows ``rows`` (indices or a boolean mask) of every per-sample field."""
        rows = np.asarray(rows)
        picked = {n: getattr(self, n)[rows] for n in ARRAY_FIELDS if getattr(self, n) is not None}
        return replace(self, embeddings={k: v[rows] for k, v in self.embeddings.items()}, **picked)

    @classmethod
    def concat(cls, parts: Iterable["Prediction"]) -> "Prediction":
        """Rows of ``parts`` one after another; every part must hold the same fields."""
        parts = list(parts)
        if not parts:
            return cls()
        first = parts[0]
        for p in parts[1:]:
            if p.present != first.present or set(p.embeddings) != set(first.embeddings) or p.frame != first.frame:
                raise InputError(f"Prediction.concat: parts hold different fields ({first.present} "
                                 f"vs {p.present})")
        arrays = {n: np.concatenate([getattr(p, n) for p in parts]) for n in ARRAY_FIELDS
                  if getattr(first, n) is not None}
        embeddings = {k: np.concatenate([p.embeddings[k] for p in parts]) for k in first.embeddings}
        return replace(first, embeddings=embeddings, **arrays)

    # ------------------------------------------------------------------ file
    def meta_json(self) -> str:
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "skeleton": self.skeleton,
               "units": {k: v for k, v in UNITS.items() if getattr(self, k) is not None},
               "frame": self.frame, "checkpoint": self.checkpoint, "extra": self.meta}
        try:
            return json.dumps(doc, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"Prediction.meta: not JSON-able ({exc})") from None

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, meta=np.asarray(self.meta_json()), **self._arrays())
        return buf.getvalue()

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` file atomically; returns the path."""
        from hpe_core.atomic import atomic_write

        path = Path(path).expanduser()
        if path.suffix.lower() != ".npz":
            raise InputError(f"{path}: a Prediction is saved as .npz")
        if not path.parent.is_dir():
            raise InputError(f"{path}: folder {path.parent} does not exist")
        return atomic_write(path, self.to_bytes())


def _as_field(name: str, value) -> np.ndarray:
    if name == "index":
        arr = np.asarray(value)
        if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            raise InputError(f"Prediction.index: expected (N,) integers, got {arr.dtype} {arr.shape}")
        return arr.astype(np.int64)
    arr = np.asarray(value, dtype=np.float32)
    rank, last = _SHAPES[name]
    if arr.ndim != rank + 1 or (last is not None and arr.shape[-1] != last):
        want = {"joints_3d": "(N, J, 3)", "joints_2d": "(N, J, 2)", "heatmaps": "(N, J, h, w)",
                "hypotheses": "(N, K, J, 3)", "latent": "(N, Z)", "scores": "(N, J)"}[name]
        raise InputError(f"Prediction.{name}: expected {want}, got {arr.shape}")
    return arr


def _as_2d(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim != 2:
        raise InputError(f"Prediction.{name}: expected (N, D), got {arr.shape}")
    return arr


def is_prediction_file(path: str | Path) -> bool:
    """Whether ``path`` is an ``.npz`` holding a Prediction (it has our JSON ``meta``)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return isinstance(data, np.lib.npyio.NpzFile) and "meta" in data.files and \
                _meta(data, Path(path)).get("format") == FORMAT
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, InputError, AttributeError):
        return False


def _meta(data, path: Path) -> dict:
    try:
        doc = json.loads(str(data["meta"][()]))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{path}: its 'meta' entry is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: its 'meta' entry is not a JSON object")
    return doc


def load_arrays(path: Path, label: str, kinds: str):
    """``np.load`` of ``path`` without unpickling (an array or an ``NpzFile``); :class:`InputError`
    "<label>: not a readable <kinds> file" for anything numpy cannot read."""
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{label}: not a readable {kinds} file ({exc})") from None


def load_prediction(path: str | Path) -> Prediction:
    """Read a Prediction ``.npz``; :class:`InputError` naming the file for anything else."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = load_arrays(path, str(path), ".npz")
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise InputError(f"{path}: a single array, not a prediction file (.npz with 'meta')")
    with data:
        if "meta" not in data.files:
            raise InputError(f"{path}: no 'meta' entry, so not a prediction file of HPE Studio")
        meta = _meta(data, path)
        if meta.get("format") != FORMAT:
            raise InputError(f"{path}: meta format {meta.get('format')!r} is not {FORMAT!r}")
        version = meta.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise InputError(f"{path}: format_version {version!r} is not a valid prediction version")
        if version > FORMAT_VERSION:
            raise InputError(f"{path}: made by a newer version of HPE Studio (prediction format_version "
                             f"{version}; this version reads up to {FORMAT_VERSION})")
        unknown = [k for k in data.files if k != "meta" and k not in ARRAY_FIELDS and not k.startswith(_EMB)]
        if unknown:
            raise InputError(f"{path}: unknown entries {', '.join(unknown)}")
        try:
            arrays = {k: data[k] for k in data.files if k in ARRAY_FIELDS}
            embeddings = {k[len(_EMB):]: data[k] for k in data.files if k.startswith(_EMB)}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: unreadable array ({exc})") from None
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    try:
        return Prediction(frame=meta.get("frame"), embeddings=embeddings, skeleton=meta.get("skeleton"),
                          checkpoint=meta.get("checkpoint"), meta=extra, **arrays)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def field_names() -> tuple[str, ...]:
    """Every field of :class:`Prediction`, in declaration order."""
    return tuple(f.name for f in fields(Prediction))
