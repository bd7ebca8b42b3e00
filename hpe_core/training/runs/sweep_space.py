"""The search space of a sweep: ``--param KEY=SPEC`` parsed into :class:`Param`, asked of an
Optuna trial with its ``suggest_*`` methods.

    train.lr=log:1e-4..1e-1         a float, log-uniform          (suggest_float(log=True))
    optim.momentum=0.8..0.99        a float, uniform              (suggest_float)
    model.width=int:8..64           an integer                    (suggest_int)
    contrastive.temperature=0.05,0.1,0.2   listed values (YAML scalars)   (suggest_categorical)

A grid sweep needs listed values for every key (its grid is their product).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hpe_core.errors import InputError


@dataclass(frozen=True)
class Param:
    key: str  # a dotted config key, e.g. optim.lr
    kind: str  # "float" | "int" | "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, log=self.log)

    def to_dict(self) -> dict:
        return dict(asdict(self), choices=list(self.choices))

    @classmethod
    def from_dict(cls, raw: dict) -> "Param":
        return cls(**dict(raw, choices=tuple(raw.get("choices", ()))))

    def describe(self) -> str:
        if self.kind == "choice":
            return ",".join(map(str, self.choices))
        return f"{'log:' if self.log else ''}{'int:' if self.kind == 'int' else ''}{self.low:g}..{self.high:g}"


def parse_param(text: str) -> Param:
    """One ``--param KEY=SPEC`` (see the module); InputError naming it when it is not one."""
    from hpe_core.training.config_data import parse_scalar

    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    where = f"--param {text!r}"
    if not sep or not key or not spec:
        raise InputError(f"{where}: expected KEY=SPEC, e.g. optim.lr=log:1e-4..1e-1 or train.seed=0,1,2")
    if ".." not in spec:
        choices = tuple(parse_scalar(v.strip()) for v in spec.split(","))
        if len(set(map(repr, choices))) != len(choices):
            raise InputError(f"{where}: a value is listed twice")
        return Param(key, "choice", choices=choices)
    prefix, _, bounds = spec.rpartition(":")
    kinds = set(prefix.split(":")) - {""}
    if kinds - {"log", "int"}:
        raise InputError(f"{where}: unknown prefix {prefix!r}; use log:, int: or log:int:")
    low_text, _, high_text = bounds.partition("..")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise InputError(f"{where}: the range {bounds!r} is not LOW..HIGH numbers") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InputError(f"{where}: expected LOW < HIGH, got {low:g}..{high:g}")
    if "log" in kinds and low <= 0:
        raise InputError(f"{where}: a log range must be positive")
    if "int" in kinds and (low != int(low) or high != int(high)):
        raise InputError(f"{where}: an int range needs whole bounds")
    return Param(key, "int" if "int" in kinds else "float", low, high, log="log" in kinds)


def grid_space(params: list[Param]) -> dict[str, list]:
    """The grid of a grid sweep: each key's listed values; InputError for a range."""
    ranged = [p.key for p in params if p.kind != "choice"]
    if ranged:
        raise InputError(f"--sampler grid: {ranged[0]} is a range; a grid needs listed values (a,b,c)")
    return {p.key: list(p.choices) for p in params}


def grid_size(params: list[Param]) -> int:
    return math.prod(len(p.choices) for p in params)
