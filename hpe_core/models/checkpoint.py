"""Checkpoint files: the native format (version 1), foreign layouts, and what a file holds.

Native file (DESIGN.md): ``torch.save`` of plain containers and tensors, loadable with
``torch.load(weights_only=True)``::

    {"format": "hpe-studio-checkpoint", "format_version": 1,
     "model": {"family", "backbone", "config"}, "state_dict", "skeleton", "training", "created"}

A ``.safetensors`` path stores the same, the non-tensor parts as JSON strings in its metadata.
Foreign files go through :mod:`hpe_core.models.layouts`. Writes are atomic (temporary file in the
same folder, then ``os.replace``); reads never run code from the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import torch

from hpe_core import __version__
from hpe_core.atomic import atomic_open
from hpe_core.errors import CheckpointError, InputError
from hpe_core.models import heads
from hpe_core.models.families import (FAMILIES, HPEModel, build_model, canonical_family, family_of,
                                      predicts_pose)
from hpe_core.models.layouts import Recognised
from hpe_core.models.native import (FORMAT, FORMAT_VERSION, content_hash, native_payload, parse_native,
                                   stored_content_hash, unwrap_foreign)
from hpe_core.models.resnet import ARCHS
from hpe_core.models.safe_load import read_checkpoint_file

__all__ = ["CheckpointInfo", "FORMAT", "FORMAT_VERSION", "file_hash", "inspect_checkpoint",
           "load_checkpoint", "save_checkpoint"]


@dataclass
class CheckpointInfo:
    """What a checkpoint file holds. ``to_dict()`` is what ``hpe inspect --json`` prints."""

    family: str
    backbone: str
    layout: str
    heads: dict[str, dict[str, Any]]
    feature_dims: dict[str, int]
    conv1_shape: list[int]
    parameters: int
    joints: int | None
    skeleton: str | None
    missing_keys: list[str]
    unexpected_keys: list[str]
    training: dict[str, Any]
    path: str
    sha256: str
    ignored_keys: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    format_version: int | None = None
    dtype: str = "float32"
    notes: list[str] = field(default_factory=list)
    content_check: str = ""  # hpe inspect: the stored content hash checked against the weights

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_hash(path: str | Path) -> str:
    """sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- reading ----------------------------------------------------------------------------------
def _recognise(path: Path, stored: list | None = None) -> tuple[Recognised, dict[str, Any], int | None]:
    """(recognised layout, training dict, native format_version or None); ``stored`` gets the
    content hash the file stores, if any."""
    obj, kind = read_checkpoint_file(path)
    native = parse_native(obj, kind, path)
    if stored is not None:
        stored.append(stored_content_hash(obj, kind))
    if native is not None:
        return native
    state, hints, training, notes = unwrap_foreign(obj, kind, path)
    hints["path"] = str(path)  # layouts of several files (HPE3D's one file per part) find their siblings
    try:
        rec = recognise_foreign(state, hints)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    rec.notes[:0] = notes
    return rec, training, None


def recognise_foreign(state: Mapping[str, torch.Tensor], hints: dict[str, Any]) -> Recognised:
    """Ask each distinct recogniser of :data:`FAMILIES` (in table order) about a foreign state dict;
    the first that recognises it wins. When none does, the first refusal is raised."""
    errors: list[CheckpointError] = []
    for recognise in dict.fromkeys(family.recognise for family in FAMILIES.values()):
        try:
            rec = recognise(state, hints)
        except CheckpointError as exc:
            if getattr(exc, "layout_known", False):  # its layout, but unusable: that is the answer
                raise
            errors.append(exc)
            continue
        if rec is not None:
            return rec
    raise errors[0] if errors else CheckpointError("not a checkpoint layout of any model family")


def _build(rec: Recognised, path: Path, meta: bool = False) -> HPEModel:
    try:
        if meta:
            with torch.device("meta"):
                return build_model(rec.family, rec.backbone, **rec.config)
        return build_model(rec.family, rec.backbone, **rec.config)
    except InputError as exc:
        raise CheckpointError(f"{path}: cannot rebuild its {rec.family} {rec.backbone} model: {exc}") from None


def _compare(rec: Recognised, model: HPEModel, path: Path) -> tuple[list[str], list[str]]:
    """(missing, unexpected) keys; CheckpointError on a shape that does not fit."""
    expected = model.state_dict()
    for key, value in rec.state_dict.items():
        if key in expected and tuple(value.shape) != tuple(expected[key].shape):
            raise CheckpointError(f"{path}: tensor '{key}' has shape {tuple(value.shape)}, but a "
                                  f"{rec.backbone} {rec.family} model needs {tuple(expected[key].shape)}")
    missing = [k for k in expected if k not in rec.state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in rec.state_dict if k not in expected] + rec.unexpected
    return missing, unexpected


def _resnet(model):
    """The model's ResNet encoder, or None (a lifter's ``encoder`` is an MLP)."""
    from hpe_core.models.resnet import ResNet

    encoder = getattr(model, "encoder", None)
    return encoder if isinstance(encoder, ResNet) else None


def _heads_info(model) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    encoder = _resnet(model)
    if encoder is not None and encoder.num_classes:
        d, c = encoder.num_features, encoder.num_classes
        out["logits"] = {"dims": [d, c], "layers": f"linear {d}->{c}"}
    for name, key in (("projection", "projector"), ("prediction", "predictor"), ("pose", "head")):
        spec = model.config.get(key)
        if spec:
            out[name] = {"dims": heads.spec_dims(spec), "layers": heads.describe_spec(spec)}
    if getattr(model, "head", None) is not None and "pose" in out:
        out["pose"]["layernorm"] = bool(model.config.get("layernorm", False))
    return out


def _dtype(state: Mapping[str, torch.Tensor]) -> str:
    kinds = [str(v.dtype).replace("torch.", "") for v in state.values() if v.is_floating_point()]
    return max(set(kinds), key=kinds.count) if kinds else "float32"


def _info(path: Path, rec: Recognised, model, training: dict, version: int | None,
          missing: list[str], unexpected: list[str]) -> CheckpointInfo:
    encoder = _resnet(model)
    pose = predicts_pose(model)
    return CheckpointInfo(
        family=rec.family, backbone=rec.backbone, layout=rec.layout, heads=_heads_info(model),
        feature_dims=model.feature_dims() if hasattr(model, "feature_dims") else {},
        conv1_shape=list(encoder.conv1.weight.shape) if encoder is not None else [],
        parameters=sum(p.numel() for p in model.parameters()),
        joints=getattr(model, "num_joints", None) if pose else None,
        skeleton=getattr(model, "skeleton", None) if pose else None,
        missing_keys=missing, unexpected_keys=unexpected, training=training, path=str(path),
        sha256=file_hash(path), ignored_keys=rec.ignored, config=dict(model.config),
        format_version=version, dtype=_dtype(rec.state_dict), notes=rec.notes)


def inspect_checkpoint(path: str | Path) -> CheckpointInfo:
    """Describe a checkpoint without building its weights (the model is built on 'meta'); the
    content hash a native file stores is checked against its weights (CheckpointError if they
    differ) and the result recorded in ``content_check``."""
    path = Path(path)
    stored: list = []
    rec, training, version = _recognise(path, stored)
    model = _build(rec, path, meta=True)
    missing, unexpected = _compare(rec, model, path)
    info = _info(path, rec, model, training, version, missing, unexpected)
    info.content_check = _check_content(path, rec, stored[0], verify=True)
    return info


NO_CONTENT_HASH = "no content hash stored (an older or a foreign file)"


def _check_content(path: Path, rec: Recognised, stored: str | None, verify: bool) -> str:
    """What ``content_check`` says; with ``verify`` the weights are hashed and compared
    (CheckpointError when they differ), else (loading: the zip CRCs guard it) not."""
    if stored is None:
        return NO_CONTENT_HASH
    if not verify:
        return "content hash stored (hpe inspect checks it)"
    if content_hash(rec.state_dict) != stored:
        raise CheckpointError(f"{path}: its weights do not match the content hash stored when it was saved "
                              "(the file was changed or damaged)")
    return "weights match the stored content hash"


def _check_expectations(path: Path, rec: Recognised, model: HPEModel, expect_family, expect_backbone,
                        expect_joints) -> None:
    if expect_family is not None and canonical_family(expect_family) != rec.family:
        raise CheckpointError(f"{path}: a {rec.family} checkpoint, but a {canonical_family(expect_family)} "
                              "model was asked for")
    if expect_backbone is not None and expect_backbone != rec.backbone:
        if expect_backbone not in ARCHS:
            raise InputError(f"backbone {expect_backbone!r}: valid backbones are {', '.join(ARCHS)}")
        raise CheckpointError(f"{path}: holds a {rec.backbone} backbone, but a {expect_backbone} was asked for")
    if expect_joints is not None:
        want = int(getattr(expect_joints, "num_joints", expect_joints))
        if not predicts_pose(model):
            raise CheckpointError(f"{path}: a {rec.family} checkpoint has no pose head, so it cannot "
                                  f"predict the {want} joints of the dataset")
        if model.num_joints != want:
            raise CheckpointError(f"{path}: its pose head predicts {model.num_joints} joints "
                                  f"({model.skeleton or 'no skeleton'}), but the dataset has {want}")


def load_checkpoint(path: str | Path, device: Any = "cpu", expect_family: str | None = None,
                    expect_backbone: str | None = None, expect_joints: Any = None,
                    ) -> tuple[HPEModel, CheckpointInfo]:
    """Load any supported checkpoint -> (model in eval mode on ``device``, info).

    Raises :class:`CheckpointError` naming the file for anything that does not fit: unreadable,
    unsafe, an unknown layout, missing weights, or a family / backbone / joint count other than
    the one expected.
    """
    from hpe_core.devices import resolve_device

    path = Path(path)
    target = resolve_device(device)
    stored: list = []
    rec, training, version = _recognise(path, stored)
    model = _build(rec, path, meta=True)  # no random initialisation: every tensor comes from the file
    _check_expectations(path, rec, model, expect_family, expect_backbone, expect_joints)
    missing, unexpected = _compare(rec, model, path)
    if missing:
        raise CheckpointError(f"{path}: {len(missing)} tensor(s) its {rec.backbone} {rec.family} model "
                              f"needs are missing (first: {missing[0]}); the file is incomplete")
    model.load_state_dict(_fitted_state(rec.state_dict, model.state_dict()), strict=True, assign=True)
    info = _info(path, rec, model, training, version, missing, unexpected)
    info.content_check = _check_content(path, rec, stored[0], verify=False)
    return model.to(target).eval(), info


def _fitted_state(state: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]) -> dict:
    """The tensors of ``expected``'s keys from ``state``, in its dtypes (fp16 files load as fp32);
    BatchNorm counters absent from old files start at 0."""
    out = {}
    for key, want in expected.items():
        have = state.get(key)
        out[key] = torch.zeros((), dtype=want.dtype) if have is None else have.to(want.dtype)
    return out


# --- writing ----------------------------------------------------------------------------------
def save_checkpoint(path: str | Path, model: HPEModel, training: dict | None = None,
                    extra: dict | None = None) -> Path:
    """Write ``model`` in the native format (``.safetensors`` by suffix) atomically; return the path."""
    if not isinstance(getattr(model, "config", None), dict):
        raise InputError(f"save_checkpoint: expected a model of one of the families, got {type(model).__name__}")
    family_of(model)
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    data = native_payload(model, training or {}, extra, created, __version__, path.suffix == ".safetensors")
    with atomic_open(path, "wb") as fh:
        if isinstance(data, bytes):
            fh.write(data)
        else:
            torch.save(data, fh)
    return path
