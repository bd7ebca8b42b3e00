"""The native checkpoint payload (format version 1) and the unwrapping of foreign containers.

Everything written is a plain container (dict, list, str, int, float, bool, None) or a tensor, so
``torch.load(weights_only=True)`` reads it back; anything else is refused when saving rather than
producing a file that cannot be opened safely.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import torch

from hpe_core.errors import CheckpointError, InputError
from hpe_core.models.families import canonical_family
from hpe_core.models.layouts import Recognised
from hpe_core.models.safe_load import decode_metadata

FORMAT = "hpe-studio-checkpoint"
FORMAT_VERSION = 1
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "network", "weights")
_RECORDED = ("epoch", "global_step", "step", "arch", "best_acc1", "pytorch-lightning_version")


def plain(value: Any, where: str) -> Any:
    """``value`` as containers weights-only loading accepts (numpy -> python/tensors, Path -> str)."""
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if type(value).__module__ == "numpy":
        return torch.from_numpy(value.copy()) if getattr(value, "ndim", 0) else value.item()
    raise InputError(f"{where}: a {type(value).__name__} cannot be stored in a checkpoint "
                     "(use numbers, strings, lists, dicts or tensors)")


def _json(value: Any, where: str) -> str:
    try:
        return json.dumps(value)
    except TypeError:
        raise InputError(f"{where}: holds tensors or objects; save to a .pt file instead of .safetensors") from None


def content_hash(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 of a state dict's content: every tensor's name, dtype, shape and bytes, in key order.
    Stored in our checkpoints (``content_sha256``) and checked by ``hpe inspect``."""
    import hashlib

    digest = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().to("cpu").contiguous()
        digest.update(f"{key}|{str(t.dtype).replace('torch.', '')}|{tuple(t.shape)}|".encode())
        if t.numel():
            digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def stored_content_hash(obj: Any, kind: str) -> str | None:
    """The ``content_sha256`` a native file stores (None: an older or a foreign file)."""
    holder = obj.get("metadata") if kind == "safetensors" and isinstance(obj, Mapping) else obj
    value = holder.get("content_sha256") if isinstance(holder, Mapping) else None
    return value if isinstance(value, str) else None


def native_payload(model, training: dict, extra: dict | None, created: str, version: str,
                   as_safetensors: bool) -> dict | bytes:
    """The dict to ``torch.save``, or the bytes of a .safetensors file."""
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "content_sha256": content_hash(state),
              "model": {"family": model.family, "backbone": getattr(model, "backbone_name", None),
                        "config": plain(model.config, "config")},
              "skeleton": getattr(model, "skeleton", None), "training": plain(training, "training"),
              "created": created, "hpe_studio_version": version}
    if extra:
        header["extra"] = plain(extra, "extra")
    if not as_safetensors:
        return {**header, "state_dict": state}
    from safetensors.torch import save

    metadata = {k: v if isinstance(v, str) else _json(v, k) for k, v in header.items()}
    return save(state, metadata=metadata)


def _version(value: Any, path: Path) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise CheckpointError(f"{path}: format_version {value!r} is not a valid checkpoint version")
    if value > FORMAT_VERSION:
        raise CheckpointError(f"{path}: made by a newer version of HPE Studio (checkpoint format_version "
                              f"{value}; this version reads up to {FORMAT_VERSION}); update HPE Studio to open it")
    return value


def parse_native(obj: Any, kind: str, path: Path) -> tuple[Recognised, dict, int] | None:
    """(recognised, training, version) for a native file; None when ``obj`` is not native."""
    if kind == "safetensors":
        meta = obj["metadata"]
        if meta.get("format") != FORMAT:
            return None
        header = {key: decode_metadata(meta, key, path) for key in ("model", "training", "extra")}
        header["format_version"] = meta.get("format_version")
        state = obj["state_dict"]
    else:
        if not (isinstance(obj, Mapping) and obj.get("format") == FORMAT):
            return None
        header, state = obj, obj.get("state_dict")
    version = _version(header.get("format_version"), path)
    model = header.get("model")
    if not (isinstance(model, Mapping) and isinstance(model.get("config"), Mapping)
            and isinstance(state, Mapping) and all(isinstance(v, torch.Tensor) for v in state.values())):
        raise CheckpointError(f"{path}: a native checkpoint without a valid 'model' entry or state dict")
    try:
        family = canonical_family(model.get("family"))
    except InputError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    config = {k: v for k, v in model["config"].items() if k not in ("family", "backbone")}
    backbone = model.get("backbone")
    rec = Recognised("hpe-studio", family, None if backbone is None else str(backbone), config, dict(state))
    training = header.get("training") or {}
    return rec, dict(training) if isinstance(training, Mapping) else {}, version


def _record(obj: Mapping, hints: dict, training: dict) -> None:
    for key in _RECORDED:
        if isinstance(obj.get(key), (int, float, str)):
            training[key] = obj[key]
    if isinstance(obj.get("arch"), str):
        hints["arch"] = obj["arch"]
    hp = obj.get("hyper_parameters")
    if isinstance(hp, Mapping):
        cfg = hp.get("cfg") if isinstance(hp.get("cfg"), Mapping) else hp
        if isinstance(cfg.get("method"), str):
            hints["method"] = training["method"] = cfg["method"]


def unwrap_foreign(obj: Any, kind: str, path: Path) -> tuple[dict, dict, dict, list[str]]:
    """(state dict of tensors, hints, training info, notes) from a foreign container."""
    hints: dict[str, Any] = {}
    training: dict[str, Any] = {}
    notes: list[str] = []
    if kind == "safetensors":
        return dict(obj["state_dict"]), hints, training, notes
    for _ in range(4):
        if not isinstance(obj, Mapping):
            raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a dict of weights")
        _record(obj, hints, training)
        inner = next((k for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
        if inner is not None:
            notes.append(f"weights taken from its '{inner}' entry")
            obj = obj[inner]
            continue
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
        if not tensors:
            keys = ", ".join(str(k) for k in list(obj)[:6])
            raise CheckpointError(f"{path}: holds no tensors (its keys: {keys or 'none'})")
        return tensors, hints, training, notes
    raise CheckpointError(f"{path}: weights nested too deeply to be a known layout")
