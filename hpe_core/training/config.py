"""Typed training configurations, read from YAML or JSON.

A config is a tree of frozen dataclasses. Every key of the file must be a field (an unknown
key is an :class:`InputError` naming it and the valid ones) and every value must have the
field's type (a wrong type names the dotted key, what was expected and what was found).

    task: simclr                # simclr | simsiam | regress3d | vae_lift
    data: {path: demo, image_size: 96}
    model: {backbone: resnet18, width: 16}
    optim: {name: sgd, lr: 0.01, encoder_lr: 0.005}
    schedule: {name: cosine}
    train: {epochs: 2, batch_size: 32, output: runs/simclr}

``dotted=value`` overrides (``train.epochs=3``) are applied with :func:`apply_overrides`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from hpe_core.errors import InputError

TASKS = ("simclr", "simsiam", "regress3d", "vae_lift", "heatmap2d", "lift", "multitask", "unihpe")


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


@dataclass(frozen=True)
class ModelConfig:
    backbone: str = "resnet18"
    width: int = 64
    init: Optional[str] = None  # a checkpoint to start from (same family), else from scratch
    options: dict = field(default_factory=dict)  # more keyword arguments of build_model


@dataclass(frozen=True)
class ContrastiveConfig:
    temperature: float = 0.5  # NT-Xent (SimCLR)


@dataclass(frozen=True)
class RegressionConfig:
    encoder: Optional[str] = None  # a SimCLR/SimSiam checkpoint, or "random" (an untrained encoder)
    encoder_family: Optional[str] = None  # require this family of the encoder checkpoint
    head_layers: int = 2
    fine_tune: bool = False  # train the encoder too, at optim.encoder_lr
    loss: Literal["rotation_mse", "mse"] = "rotation_mse"
    loss_unit_mm: float = 100.0  # the MSE is taken in this unit (100: decimetres)
    pose_scale: float = 100.0  # mm per unit of the head's output
    cache_features: bool = True  # frozen encoder, no augmentation: encode every image once
    pose_head: Literal["free", "fk"] = "free"  # fk: seed 004's forward-kinematics head (exact bone lengths)
    bone_lengths: Optional[str] = None  # fk: None = training-set mean, "prior" = built-in, or a JSON file
    fk_hips: Literal["frame", "line"] = "frame"  # fk: hips as limb joints (frame) or on the hip line (seed)
    fk_frames: Literal["face", "transport"] = "face"  # fk: b = the face vector (seed) or carried along the limb


@dataclass(frozen=True)
class VAEConfig:
    """Seed 003's VAE lifter (task ``vae_lift``); the defaults are the thesis' values."""

    supervised: bool = False  # true: a 3D loss on the labels (the thesis' first check)
    neurons: int = 1024
    latent_dim: int = 51
    lambda_recon: float = 1.0
    lambda_kld: float = 0.001  # beta cycles from 0 to this
    lambda_disc: float = 0.001
    beta_cycle: int = 40  # epochs per beta cycle ...
    beta_warmup: int = 10  # ... after this many epochs at beta 0 ...
    beta_hold: int = 10  # ... each ending with this many at lambda_kld
    disc_grad_clip: float = 1.0  # gradient-norm clipping of the discriminator step
    gen_grad_clip: float = 2.0  # ... and of the generator step
    grad_value_clip: float = 1000.0  # gradient-value clipping of the generator step
    flip_prob: float = 0.5  # horizontal flip with left/right swap
    hypotheses: int = 10  # K latent samples evaluated for the best hypothesis
    depth: float = 10.0  # the root's depth in the re-projection, in pose units
    tanh_scale: float = 3.0  # decoder output range, in pose units
    unit_mm: float = 640.0  # mm per pose unit: a body-size prior (the RMS joint distance from the root)
    pose_head: Literal["free", "fk"] = "free"  # fk: seed 004's forward kinematics, prior bone lengths


@dataclass(frozen=True)
class PipelineConfig:
    """Seed 001's tasks: ``heatmap2d``, ``lift`` and ``multitask`` (defaults: the report's values)."""

    encoder: Optional[str] = None  # heatmap2d/multitask: a SimCLR/SimSiam checkpoint for block A
    heatmap: Optional[str] = None  # lift: 2D from this heatmap2d checkpoint instead of the ground truth;
    #                                multitask: start the heatmap net from it
    lifter: Optional[str] = None  # multitask: start the lifter from this lifter checkpoint
    noise_std: float = 0.0  # lift: Gaussian noise (px) added to the training 2D
    loss_3d: Literal["l2", "l1"] = "l2"  # on the normalised 3D
    lambda_2d: float = 0.01  # multitask: L = L3d + lambda_2d * L2d (the heatmap L2)
    pck_fraction: float = 0.05  # PCK threshold, a fraction of the ground-truth box size


@dataclass(frozen=True)
class UniHPEConfig:
    """Seed 002's UniHPE training (task ``unihpe``), one stage of Fig. 2 per run; a stage starts
    from the previous stage's checkpoint (``model.init``). The temperature defaults are the
    paper's per stage: 1: tau0 1/14 in [1/100, 1e4]; 2: 1/5 in [1/10, 1e4]; 3: 1/5 in [1/5, 1e4]."""

    stage: int = 1  # 1, 2 or 3; 1: 2D-3D alignment; 2: image to the frozen pose encoders; 3: all + decoders
    triplet: bool = True  # add alpha x the singular-value triplet InfoNCE (stages 2 and 3)
    alpha: float = 1.0
    tau0: Optional[float] = None  # None: the stage's paper value
    tau_min: Optional[float] = None
    tau_max: Optional[float] = None
    symmetric: bool = True  # each pairwise InfoNCE in both directions (as CLIP)
    lambda_2d: float = 1.0  # stage 3: weight of the 2D decoder loss
    lambda_3d: float = 1.0  # stage 3: weight of the 3D decoder losses (from 2D and from the image)


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


@dataclass(frozen=True)
class Config:
    task: Literal["simclr", "simsiam", "regress3d", "vae_lift", "heatmap2d", "lift", "multitask", "unihpe"]
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    contrastive: ContrastiveConfig = field(default_factory=ContrastiveConfig)
    regression: RegressionConfig = field(default_factory=RegressionConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    unihpe: UniHPEConfig = field(default_factory=UniHPEConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **sections: Any) -> "Config":
        return dataclasses.replace(self, **sections)


# ----------------------------------------------------------------------------- reading
def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file and apply ``key=value`` overrides."""
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
    try:
        return config_from_dict(apply_overrides(raw, overrides))
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def config_from_dict(raw: dict) -> Config:
    """Build a :class:`Config` from plain data, checking every key and type."""
    if "task" not in raw:
        raise InputError(f"missing key 'task' (one of {', '.join(TASKS)})")
    return _build(Config, raw, "")


def apply_overrides(raw: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """``["train.epochs=3", "data.path=/x"]`` onto a copy of ``raw``; values are YAML scalars."""
    import yaml

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
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            parsed = value
        node[parts[-1]] = _number(parsed)
    return out


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e39`` as a string; take it as the number it is."""
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def _build(cls, raw: Any, prefix: str):
    where = prefix.rstrip(".") or "config"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a mapping, got {_describe(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in raw if k not in fields]
    if unknown:
        raise InputError(f"unknown key '{prefix}{unknown[0]}'; valid keys of {where}: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(value, hints[name], f"{prefix}{name}") for name, value in raw.items()}
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value if value is not None else {}, key + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is Literal:
        if value not in args:
            raise InputError(f"{key}: expected one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{key}: expected true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{key}: expected an integer, got {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{key}: expected a number, got {_describe(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"{key}: expected a string, got {_describe(value)}")
        return value
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{key}: expected a mapping, got {_describe(value)}")
        return dict(value)
    raise TypeError(f"config field {key} has an unsupported type {hint!r}")  # a bug


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}"


# ----------------------------------------------------------------------------- checks
def validate(config: Config) -> Config:
    """Cross-field checks that need more than one key; returns ``config``."""
    t, d, o = config.train, config.data, config.optim
    positive = {"train.epochs": t.epochs, "train.batch_size": t.batch_size,
                "data.image_size": d.image_size, "train.log_every": t.log_every,
                "model.width": config.model.width}
    for key, value in positive.items():
        if value < 1:
            raise InputError(f"{key}: must be at least 1, got {value}")
    if t.threads is not None and t.threads < 1:
        raise InputError(f"train.threads: must be at least 1, got {t.threads}")
    if d.num_workers < 0:
        raise InputError(f"data.num_workers: must be 0 or more, got {d.num_workers}")
    if o.lr <= 0 or (o.encoder_lr is not None and o.encoder_lr < 0):
        raise InputError(f"optim.lr: must be positive, got {o.lr}")
    if o.grad_clip is not None and o.grad_clip <= 0:
        raise InputError(f"optim.grad_clip: must be positive, got {o.grad_clip}")
    if config.task in ("simclr", "simsiam") and t.batch_size < 2:
        raise InputError(f"train.batch_size: contrastive training needs at least 2, got {t.batch_size}")
    if config.task == "regress3d" and config.regression.head_layers not in (1, 2, 3):
        raise InputError(f"regression.head_layers: expected 1, 2 or 3, got {config.regression.head_layers}")
    if config.task == "regress3d" and not config.regression.encoder:
        raise InputError("regression.encoder: no encoder given; set a SimCLR/SimSiam checkpoint "
                         "(--set regression.encoder=runs/simclr/best.pt) or 'random' for an untrained one")
    if config.task == "vae_lift":
        _check_vae(config.vae)
    p = config.pipeline
    if p.noise_std < 0 or p.lambda_2d < 0 or not 0 < p.pck_fraction <= 1:
        raise InputError("pipeline: noise_std and lambda_2d must be 0 or more, pck_fraction in (0, 1]")
    s = config.schedule
    if s.name == "step" and s.step_epoch is None:
        raise InputError("schedule.step_epoch: the step schedule needs the epoch at which the rate drops")
    if s.gamma <= 0 or s.decay_rate <= 0 or (s.decay_epochs is not None and s.decay_epochs <= 0):
        raise InputError("schedule: gamma, decay_rate and decay_epochs must be positive")
    if config.task == "unihpe":
        _validate_unihpe(config)
    if config.contrastive.temperature <= 0:
        raise InputError(f"contrastive.temperature: must be positive, got {config.contrastive.temperature}")
    if not d.path:
        raise InputError("data.path: no dataset given; set it in the config or with --set data.path=PATH "
                         "(or data.path=demo for the demo synthetic set)")
    return config


def _check_vae(v: VAEConfig) -> None:
    checks = [(v.neurons >= 1, "vae.neurons", "at least 1", v.neurons),
              (v.latent_dim >= 1, "vae.latent_dim", "at least 1", v.latent_dim),
              (v.beta_cycle >= 1, "vae.beta_cycle", "at least 1", v.beta_cycle),
              (v.beta_warmup >= 0, "vae.beta_warmup", "0 or more", v.beta_warmup),
              (0 <= v.beta_hold < v.beta_cycle, "vae.beta_hold", "0 or more and less than vae.beta_cycle", v.beta_hold),
              (v.hypotheses >= 0, "vae.hypotheses", "0 or more", v.hypotheses),
              (0.0 <= v.flip_prob <= 1.0, "vae.flip_prob", "a probability in [0, 1]", v.flip_prob),
              (min(v.lambda_recon, v.lambda_kld, v.lambda_disc) >= 0, "vae.lambda_*", "0 or more",
               (v.lambda_recon, v.lambda_kld, v.lambda_disc)),
              (min(v.depth, v.tanh_scale, v.unit_mm) > 0, "vae.depth / tanh_scale / unit_mm", "positive",
               (v.depth, v.tanh_scale, v.unit_mm)),
              (min(v.disc_grad_clip, v.gen_grad_clip, v.grad_value_clip) > 0, "vae.*_clip", "positive",
               (v.disc_grad_clip, v.gen_grad_clip, v.grad_value_clip))]
    for ok, key, want, got in checks:
        if not ok:
            raise InputError(f"{key}: must be {want}, got {got}")


def _validate_unihpe(config: Config) -> None:
    u = config.unihpe
    if u.stage not in (1, 2, 3):
        raise InputError(f"unihpe.stage: expected 1, 2 or 3, got {u.stage}")
    if config.train.batch_size < 2:
        raise InputError(f"train.batch_size: contrastive training needs at least 2, got {config.train.batch_size}")
    if u.alpha < 0 or u.lambda_2d < 0 or u.lambda_3d < 0:
        raise InputError("unihpe.alpha, unihpe.lambda_2d, unihpe.lambda_3d: must be 0 or more")
    if u.stage == 2 and not config.model.init:
        raise InputError("model.init: stage 2 aligns the image encoder to the stage-1 pose encoders; "
                         "set model.init to the stage-1 checkpoint (e.g. runs/unihpe_stage1/best.pt)")


def check_paths(config: Config) -> Config:
    """Raise naming the key of the first file or folder the config names that does not exist."""
    from hpe_core.datasets.demo import demo_alias

    paths = {"data.path": config.data.path if demo_alias(config.data.path) is None else None,
             "data.skip_list": config.data.skip_list, "model.init": config.model.init,
             "regression.encoder": config.regression.encoder if config.task == "regress3d"
             and config.regression.encoder != "random" else None,
             "regression.bone_lengths": config.regression.bone_lengths if config.task == "regress3d"
             and config.regression.pose_head == "fk" and config.regression.bone_lengths != "prior" else None,
             "pipeline.encoder": config.pipeline.encoder, "pipeline.heatmap": config.pipeline.heatmap,
             "pipeline.lifter": config.pipeline.lifter}
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
                     "data.num_workers", "data.path", "data.skip_list")


def check_resume_compatible(stored: Config, given: Config) -> None:
    """Raise naming the first key that differs and may not change on ``--resume``."""
    a, b = _flatten(stored.to_dict()), _flatten(given.to_dict())
    for key in sorted(set(a) | set(b)):
        if key in RESUMABLE_CHANGES or a.get(key) == b.get(key):
            continue
        raise InputError(f"--resume: the config differs from the checkpoint's at '{key}' "
                         f"({a.get(key)!r} there, {b.get(key)!r} here); only "
                         f"{', '.join(RESUMABLE_CHANGES)} may change")


def _flatten(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "options":
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
