"""What the GUI draws of sweeps and compared runs, computed here: a sweep's parallel coordinates
(each parameter and the metric on a [0, 1] axis) and the differing keys of several runs' configs."""

from __future__ import annotations

import math


def _axis(values: list, param: dict | None) -> tuple[list[float], list[str]]:
    """Positions in [0, 1] and the axis' two end labels: listed values by their order in the list,
    log ranges on a log scale, others linearly between the lowest and highest seen."""
    if param is not None and param["kind"] == "choice":
        choices = param["choices"]
        n = max(len(choices) - 1, 1)
        return [choices.index(v) / n if v in choices else math.nan for v in values], [str(choices[0]), str(choices[-1])]
    log = bool(param and param["log"])
    numbers = [math.log10(v) if log and v is not None and v > 0 else (v if v is not None else math.nan)
               for v in values]
    finite = [v for v in numbers if math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = (hi - lo) or 1.0
    labels = [f"{10 ** lo:.3g}", f"{10 ** hi:.3g}"] if log else [f"{lo:.4g}", f"{hi:.4g}"]
    return [(v - lo) / span if math.isfinite(v) else math.nan for v in numbers], labels


def parallel_coordinates(status: dict) -> dict:
    """``{"axes": [name...], "ends": [(low label, high label)...], "rows": [[position per axis]...],
    "values": [metric...], "numbers": [trial number...]}`` of the sweep's complete trials; the metric
    is the last axis."""
    trials = [t for t in status["trials"] if t["state"] == "complete" and t["value"] is not None]
    params = status["params"]
    columns, ends = [], []
    for p in params:
        positions, labels = _axis([t["params"].get(p["key"]) for t in trials], p)
        columns.append(positions)
        ends.append(labels)
    positions, labels = _axis([t["value"] for t in trials], None)
    columns.append(positions)
    ends.append(labels)
    return {"axes": [p["key"] for p in params] + [status["metric"]], "ends": ends,
            "rows": [list(row) for row in zip(*columns)] if trials else [],
            "values": [t["value"] for t in trials], "numbers": [t["number"] for t in trials]}


def config_table(configs: list[dict]) -> tuple[list[str], list[list], set[str]]:
    """``(keys, values per key per run, differing keys)`` of several runs' configs (flat, dotted keys;
    a key one run lacks is None there). ``train.output`` differs by construction and is left out."""
    from hpe_core.training.config import flatten

    flat = [flatten(c) for c in configs]
    keys = sorted({k for f in flat for k in f} - {"train.output"})
    values = [[f.get(k) for f in flat] for k in keys]
    differing = {k for k, row in zip(keys, values) if any(v != row[0] for v in row)}
    return keys, values, differing
