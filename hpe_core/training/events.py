"""JSON-lines events of a training job (DESIGN.md, "Training jobs").

One JSON object per line, flushed at once so a reader (the GUI's ``QProcess``, ``tail -f``)
sees it. Every event has ``type`` and ``time`` (seconds since the epoch, float); the other
keys by type are in :data:`SCHEMA`:

- ``start``: ``config`` (dict), ``total_steps``, ``steps_per_epoch``, ``epochs``, ``world_size``,
  ``resumed_from`` (path or null), ``epoch``, ``step``
- ``progress``: ``epoch``, ``step``, ``total_steps``, ``loss``, ``lr``, ``samples_per_s``
- ``metric``: ``epoch``, ``step``, ``split``, ``metrics`` (dict of name to number or null)
- ``checkpoint``: ``epoch``, ``step``, ``path``, ``kind`` ("last" | "best")
- ``log``: ``level`` ("info" | "warning"), ``message``; a health alarm adds ``alarm``
  (:class:`hpe_core.analysis.health_alarms.Alarm` as a dict: rule, layer, epoch, value, threshold, message)
- ``done``: ``epoch``, ``step``, ``total_steps``, ``reason`` ("finished" | "interrupted"), ``summary``
- ``error``: ``message``, ``exit_status`` (2 bad input, 1 a bug); ``epoch``/``step`` when known

``epoch`` counts finished epochs (0-based index of the running one), ``step`` counts optimizer
steps since the start of the run (resumes included). NaN and infinity are written as ``null``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterator

from hpe_core.errors import InputError

_NUM = (int, float)
_OPT_NUM = (int, float, type(None))

#: Required keys and their types, by event type.
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "start": {"config": (dict,), "total_steps": (int,), "steps_per_epoch": (int,), "epochs": (int,),
              "world_size": (int,), "resumed_from": (str, type(None)), "epoch": (int,), "step": (int,)},
    "progress": {"epoch": (int,), "step": (int,), "total_steps": (int,), "loss": _OPT_NUM,
                 "lr": _NUM, "samples_per_s": _NUM},
    "metric": {"epoch": (int,), "step": (int,), "split": (str,), "metrics": (dict,)},
    "checkpoint": {"epoch": (int,), "step": (int,), "path": (str,), "kind": (str,)},
    "log": {"level": (str,), "message": (str,)},
    "done": {"epoch": (int,), "step": (int,), "total_steps": (int,), "reason": (str,), "summary": (dict,)},
    "error": {"message": (str,), "exit_status": (int,)},
}
EVENT_TYPES = tuple(SCHEMA)


def validate_event(event: Any) -> dict:
    """Raise :class:`InputError` unless ``event`` follows :data:`SCHEMA`; return it."""
    if not isinstance(event, dict):
        raise InputError(f"event: expected a JSON object, got {type(event).__name__}")
    kind = event.get("type")
    if kind not in SCHEMA:
        raise InputError(f"event: unknown type {kind!r}; expected one of {', '.join(EVENT_TYPES)}")
    if not isinstance(event.get("time"), _NUM) or isinstance(event.get("time"), bool):
        raise InputError(f"{kind} event: 'time' must be a number")
    for key, types in SCHEMA[kind].items():
        if key not in event:
            raise InputError(f"{kind} event: missing key {key!r}")
        value = event[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise InputError(f"{kind} event: {key!r} has type {type(value).__name__}")
    if kind == "metric":
        for name, value in event["metrics"].items():
            if isinstance(value, bool) or not isinstance(value, _OPT_NUM):
                raise InputError(f"metric event: metric {name!r} is not a number")
    return event


def parse_events(lines: Iterator[str] | list[str]) -> list[dict]:
    """Parse and validate JSON lines (blank lines are skipped)."""
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            events.append(validate_event(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"events line {number}: not JSON ({exc.msg})") from None
    return events


def read_events(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return parse_events(fh)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy / torch scalars and arrays
        return _clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class EventWriter:
    """Writes events to a file, to stdout (``"-"``), or nowhere (``None`` or ``enabled=False``).

    Also keeps every event it was given in :attr:`events` (for callers and tests), and calls
    ``on_event(event)`` with each one (``hpe train`` prints the health alarms).
    """

    def __init__(self, target: str | Path | IO[str] | None = None, enabled: bool = True,
                 on_event: Callable[[dict], None] | None = None) -> None:
        self.events: list[dict] = []
        self.on_event = on_event
        self._own = False
        self._stream: IO[str] | None = None
        if not enabled or target is None:
            return
        if target == "-":
            self._stream = sys.stdout
        elif isinstance(target, (str, Path)):
            path = Path(target)
            if path.parent and not path.parent.exists():
                raise InputError(f"--events {target}: folder {path.parent} does not exist")
            self._stream = open(path, "a", encoding="utf-8", buffering=1)
            self._own = True
        else:
            self._stream = target

    def emit(self, event_type: str, /, **fields: Any) -> dict:
        event = _clean({"type": event_type, "time": time.time(), **fields})
        validate_event(event)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        if self._stream is not None:
            self._stream.write(json.dumps(event, allow_nan=False) + "\n")
            self._stream.flush()
        return event

    def close(self) -> None:
        if self._own and self._stream is not None:
            self._stream.close()
        self._stream = None

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
