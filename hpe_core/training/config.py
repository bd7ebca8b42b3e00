"""Typed training configurations: the schema, and the checks that need more than one key.

A config is a tree of frozen dataclasses: the common sections below, and one section per task
that owns one, assembled from :data:`~hpe_core.training.tasks.TASKS` (each task declares its
options dataclass, with its own ``validate``). Reading files, ``dotted=value`` overrides and
the typed coercion are in :mod:`hpe_core.training.config_data`.

    task: simclr                # a key of hpe_core.training.tasks.TASKS
    data: {path: demo, image_size: 96}
    model: {backbone: resnet18, width: 16}
    contrastive: {temperature: 0.5}   # the task's own section
    optim: {name: sgd, lr: 0.01, encoder_lr: 0.005}
    schedule: {name: cosine}
    train: {epochs: 2, batch_size: 32, output: runs/simclr}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from hpe_core.analysis.health_alarms import HealthOptions
from hpe_core.errors import InputError
from hpe_core.training.config_data import apply_overrides, build, read_mapping
from hpe_core.training.tasks import TASKS, task_sections


@dataclass(frozen=True)
class DataConfig:
    path: Optional[str] = None  # a dataset path, or "demo" / "demo-heldout": the demo set split by pose / subject
    skip_list: Optional[str] = None
    image_size: int = 128
    num_workers: int = 0
    augment: Optional[str] = None  # None: the task's default (simclr views / no augmentation)
    max_train_samples: Optional[int] = None  # a seeded subset, for quick runs
    max_eval_samples: Optional[int] = None
    validation: Literal["default", "S1"] = "default"  # S1: Human3.6M's S1 validates, S5-S8 train (seed 001)
    crop: Literal["auto", "gt", "none"] = "auto"  # person crops (hpe_core.datasets.boxes.CROPS); auto: the files' boxes


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "resnet18"
    width: int = 64
    init: Optional[str] = None  # a checkpoint to start from (same family), else from scratch
    options: dict = field(default_factory=dict)  # more keyword arguments of build_model


@dataclass(frozen=True)
class OptimConfig:
    name: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = 0.001  # for the heads (and the encoder unless encoder_lr is set)
    encoder_lr: Optional[float] = None
    lr_scaling: Literal["none", "linear"] = "none"  # linear: lr x batch/256 (SimCLR: 0.3 x batch/256)
    momentum: float = 0.9
    weight_decay: float = 0.0
    grad_clip: Optional[float] = None  # max global L2 norm of the gradients


@dataclass(frozen=True)
class ScheduleConfig:
    name: Literal["constant", "cosine", "step", "exponential"] = "constant"
    t_max: Optional[float] = None  # cosine period in epochs (None: the run's epochs)
    eta_min: float = 0.0  # as a fraction of the starting learning rate
    warmup_epochs: float = 0.0
    step_epoch: Optional[float] = None  # step: the rate is multiplied by gamma from this epoch on
    gamma: float = 0.1  # step: 1e-3 -> 1e-4
    decay_rate: float = 0.1  # exponential: the factor reached after decay_epochs (continuous decay)
    decay_epochs: Optional[float] = None  # exponential: None = the run's epochs


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1
    batch_size: int = 64  # global: split over the processes of a torchrun job
    seed: int = 0
    device: str = "auto"
    threads: Optional[int] = None  # torch CPU threads of the training process (None: torch's default)
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "fp32"  # auto: bf16/fp16 AMP on CUDA
    output: str = "runs/train"
    log_every: int = 10
    max_steps_per_epoch: Optional[int] = None
    monitor: Optional[str] = None  # metric deciding "best" (None: the task's)
    trackers: tuple[Literal["tensorboard", "mlflow"], ...] = ()  # also written to (hpe_core.training.runs.trackers)
    tracking_uri: Optional[str] = None  # mlflow's; None: a SQLite store beside the output folder


def _to_dict(self) -> dict:
    """Plain data, as a file or a checkpoint stores it (a tuple field as a list)."""
    return dataclasses.asdict(self, dict_factory=lambda items: {k: list(v) if isinstance(v, tuple) else v
                                                                for k, v in items})


def _replace(self, **sections: Any):
    return dataclasses.replace(self, **sections)


def _assemble_config() -> type:
    """``Config``: the task, data and model, each task section of :data:`TASKS` in table order, then
    optim, schedule and train (the order of a saved config's sections)."""
    def section(name: str, cls: type) -> tuple:
        return name, cls, field(default_factory=cls)

    fields = [("task", Literal[tuple(TASKS)]), section("data", DataConfig), section("model", ModelConfig),
              *(section(name, cls) for name, cls in task_sections().items()), section("health", HealthOptions),
              section("optim", OptimConfig), section("schedule", ScheduleConfig), section("train", TrainConfig)]
    return dataclasses.make_dataclass("Config", fields, frozen=True,
                                      namespace={"to_dict": _to_dict, "replace": _replace, "__module__": __name__,
                                                 "__doc__": "A training config (see the module)."})


Config = _assemble_config()


# ----------------------------------------------------------------------------- reading
def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file and apply ``key=value`` overrides."""
    raw = read_mapping(path)
    try:
        return config_from_dict(apply_overrides(raw, overrides))
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def config_from_dict(raw: dict) -> Config:
    """Build a :class:`Config` from plain data, checking every key and type."""
    if "task" not in raw:
        raise InputError(f"missing key 'task' (one of {', '.join(TASKS)})")
    return build(Config, raw, "")


# ----------------------------------------------------------------------------- checks
def validate(config: Config) -> Config:
    """Range checks of every numeric key, then the checks that need more than one key; returns ``config``."""
    check_ranges(config)
    TASKS[config.task].validate(config)
    config.health.validate()
    _check_schedule(config.schedule)
    if not config.data.path:
        raise InputError("data.path: no dataset given; set it in the config or with --set data.path=PATH "
                         "(or data.path=demo for the demo synthetic set)")
    return config


_AT_LEAST_1 = (lambda v: v >= 1, "at least 1")
_NOT_NEGATIVE = (lambda v: v >= 0, "0 or more")
_POSITIVE = (lambda v: v > 0, "positive")
_FRACTION = (lambda v: 0 <= v <= 1, "a fraction in [0, 1]")

#: the range of every numeric key of the common sections (None: the key is unset, allowed)
RANGES = {
    "data.image_size": _AT_LEAST_1, "data.num_workers": _NOT_NEGATIVE, "data.max_train_samples": _AT_LEAST_1,
    "data.max_eval_samples": _AT_LEAST_1, "model.width": _AT_LEAST_1,
    "optim.lr": _POSITIVE, "optim.encoder_lr": _NOT_NEGATIVE, "optim.momentum": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "optim.weight_decay": _NOT_NEGATIVE, "optim.grad_clip": _POSITIVE,
    "schedule.t_max": _POSITIVE, "schedule.eta_min": _FRACTION, "schedule.warmup_epochs": _NOT_NEGATIVE,
    "schedule.step_epoch": _NOT_NEGATIVE, "schedule.gamma": _POSITIVE, "schedule.decay_rate": _POSITIVE,
    "schedule.decay_epochs": _POSITIVE,
    "train.epochs": _AT_LEAST_1, "train.batch_size": _AT_LEAST_1, "train.seed": _NOT_NEGATIVE,
    "train.threads": _AT_LEAST_1, "train.log_every": _AT_LEAST_1, "train.max_steps_per_epoch": _AT_LEAST_1,
}


def check_ranges(config: Config) -> None:
    """InputError naming the first numeric key out of its range (:data:`RANGES`), or any number
    in any section (a task's too) that is not finite."""
    import math

    for key, value in flatten(config.to_dict()).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            raise InputError(f"{key}: must be a finite number, got {value}")
        ok, words = RANGES.get(key, (None, ""))
        if ok is not None and not ok(value):
            raise InputError(f"{key}: must be {words}, got {value}")


def _check_schedule(s: ScheduleConfig) -> None:
    if s.name == "step" and s.step_epoch is None:
        raise InputError("schedule.step_epoch: the step schedule needs the epoch at which the rate drops")


def check_paths(config: Config) -> Config:
    """Raise naming the key of the first file or folder the config names that does not exist."""
    from hpe_core.datasets.demo import demo_alias

    paths = {"data.path": config.data.path if demo_alias(config.data.path) is None else None,
             "data.skip_list": config.data.skip_list, "model.init": config.model.init,
             **TASKS[config.task].paths(config)}
    for key, value in paths.items():
        if value and not Path(value).expanduser().exists():
            what = "dataset" if key == "data.path" else "file"
            raise InputError(f"{key} {value}: no such {what}")
    return config


def effective_lrs(config: Config) -> tuple[float, float]:
    """``(head_lr, encoder_lr)`` after the linear scaling rule (lr x batch/256) if asked."""
    o = config.optim
    scale = config.train.batch_size / 256.0 if o.lr_scaling == "linear" else 1.0
    encoder = o.lr if o.encoder_lr is None else o.encoder_lr
    return o.lr * scale, encoder * scale


#: Keys a resumed run may change; everything else must equal the checkpoint's config.
RESUMABLE_CHANGES = ("train.epochs", "train.output", "train.log_every", "train.device", "train.threads",
                     "train.trackers", "train.tracking_uri", "data.num_workers", "data.path", "data.skip_list")


def check_resume_compatible(stored: Config, given: Config) -> None:
    """Raise naming the first key that differs and may not change on ``--resume``."""
    a, b = flatten(stored.to_dict()), flatten(given.to_dict())
    for key in sorted(set(a) | set(b)):
        if key in RESUMABLE_CHANGES or a.get(key) == b.get(key):
            continue
        raise InputError(f"--resume: the config differs from the checkpoint's at '{key}' "
                         f"({a.get(key)!r} there, {b.get(key)!r} here); only "
                         f"{', '.join(RESUMABLE_CHANGES)} may change")


def flatten(d: dict, prefix: str = "") -> dict:
    """A config as plain data, flat: ``{"optim.lr": 0.001, ...}`` (``model.options`` stays one value)."""
    out: dict = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "options":
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
