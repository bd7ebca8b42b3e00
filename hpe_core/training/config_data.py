"""Plain config data: reading a YAML/JSON file, ``key=value`` overrides, and typed coercion.

:func:`build` turns nested plain data into a tree of frozen dataclasses: every key must be a
field (an unknown key is an :class:`InputError` naming it and the valid ones) and every value
must have the field's type (a wrong type names the dotted key, what was expected and what was
found). :mod:`hpe_core.training.config` holds the schema these functions are applied to.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from hpe_core.errors import InputError


def read_mapping(path: str | Path) -> dict:
    """The mapping a YAML (``.yaml``/``.yml``) or JSON file holds; InputError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such config file")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except (ValueError, Exception) as exc:  # yaml.YAMLError, json.JSONDecodeError
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {first}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping of config sections, got {type(raw).__name__}")
    return raw


def apply_overrides(raw: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """``["train.epochs=3", "data.path=/x"]`` onto a copy of ``raw``; values are YAML scalars."""
    out = json.loads(json.dumps(raw))
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item!r}: expected KEY=VALUE, e.g. train.epochs=3")
        parts = key.strip().split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(f"--set {item!r}: {part} is not a section")
        node[parts[-1]] = parse_scalar(value)
    return out


def parse_scalar(text: str) -> Any:
    """The value of the text of an override: a YAML scalar (``3``, ``0.5``, ``true``, ``{a: 1}``), the
    text itself if it is not valid YAML, None if blank."""
    import yaml

    try:
        parsed = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        parsed = text
    return _number(parsed)


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e39`` as a string; take it as the number it is."""
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def build(cls, raw: Any, prefix: str = ""):
    """An instance of the dataclass ``cls`` from the mapping ``raw``, every key and type checked."""
    where = prefix.rstrip(".") or "config"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping, got {describe(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in raw if k not in fields]
    if unknown:
        raise InputError(f"unknown key '{prefix}{unknown[0]}'; valid keys of {where}: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {name: coerce(value, hints[name], f"{prefix}{name}") for name, value in raw.items()}
    return cls(**values)


def coerce(value: Any, hint: Any, key: str) -> Any:
    """``value`` as the type ``hint`` of the field ``key``; InputError saying what was expected."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return build(hint, value if value is not None else {}, key + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(value, inner[0], key)
    if origin is Literal:
        if value not in args:
            raise InputError(f"{key}: expected one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if hint in _SCALARS:
        return _scalar(value, hint, key)
    if origin is tuple:  # tuple[X, ...]: a list of X (one X alone is a list of one)
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise InputError(f"{key}: expected a list, got {describe(value)}")
        return tuple(coerce(v, args[0], key) for v in items)
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{key}: expected a mapping, got {describe(value)}")
        return dict(value)
    raise TypeError(f"config field {key} has an unsupported type {hint!r}")  # a bug


# what a scalar field accepts, and how its message names it
_SCALARS = {bool: ((bool,), "true or false"), int: ((int,), "an integer"),
            float: ((int, float), "a number"), str: ((str,), "a string")}


def _scalar(value: Any, hint: type, key: str) -> Any:
    accepted, wanted = _SCALARS[hint]
    if (isinstance(value, bool) and hint is not bool) or not isinstance(value, accepted):
        raise InputError(f"{key}: expected {wanted}, got {describe(value)}")
    return float(value) if hint is float else value


def describe(value: Any) -> str:
    """A value as a message shows it: its type and the start of its repr."""
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}"
