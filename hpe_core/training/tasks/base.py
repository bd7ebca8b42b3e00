"""What every task gives the loop.

A task's declaration (``info``, its entry of :data:`~hpe_core.training.tasks.TASKS`) names the dataset
columns it needs; its class builds the model, the module the loop runs (and DDP wraps), the datasets of
the training and validation splits, the loss of a batch and the evaluation metrics. The loop owns
everything else: optimizer, schedule, precision, checkpoints, events, resume and ranks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from hpe_core.errors import CheckpointError, InputError
from hpe_core.training.config import Config
from hpe_core.training.data import subset
from hpe_core.training.tasks.info import TaskInfo


class Task:
    """Base class; subclasses set :attr:`info` (their declaration) and fill in the hooks."""

    info: TaskInfo  # name, family, dataset columns, options, smallest batch
    monitor = "loss"  # the validation metric deciding the best checkpoint
    mode = "min"  # "min" or "max"

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def family(self) -> str:
        return self.info.family

    @property
    def min_batch(self) -> int:
        """Fewer samples than this (after dropping unreadable ones): the step is skipped."""
        return self.info.min_batch

    def __init__(self, config: Config, dataset, device: torch.device) -> None:
        self.config, self.dataset, self.device = config, dataset, device
        seed, data = config.train.seed, config.data
        pose = np.asarray(dataset.pose_id)

        def pick(split: str, limit: int | None) -> np.ndarray:
            indices = split_indices(dataset, split, data.validation)
            return subset(indices, limit, seed, groups=pose[indices])  # whole poses, all their views

        self.train_indices = pick("train", data.max_train_samples)
        self.val_indices = pick("val", data.max_eval_samples)
        self.test_indices = pick("test", data.max_eval_samples)

    # -- model ------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def net(self, model: nn.Module) -> nn.Module:
        """The module whose ``forward(batch)`` the loop calls (and DDP wraps)."""
        raise NotImplementedError

    def param_groups(self, model: nn.Module, head_lr: float, encoder_lr: float) -> list[dict]:
        """Encoder parameters at ``encoder_lr``, the rest (the heads) at ``head_lr``."""
        enc = {id(p) for p in model.encoder.parameters()}
        encoder = [p for p in model.parameters() if id(p) in enc and p.requires_grad]
        heads = [p for p in model.parameters() if id(p) not in enc and p.requires_grad]
        groups = [{"params": heads, "lr": head_lr, "name": "heads"}]
        if encoder:
            groups.append({"params": encoder, "lr": encoder_lr, "name": "encoder"})
        return [g for g in groups if g["params"]]

    def set_train_mode(self, net: nn.Module) -> None:
        net.train()

    # -- data -------------------------------------------------------------------------
    def train_items(self):
        raise NotImplementedError

    def eval_items(self, split: str = "val"):
        raise NotImplementedError

    def image_items(self, split: str):
        """The rows of ``split`` ("train", "val", "test") as images with their joints, augmented for
        training (:class:`~hpe_core.datasets.torch_data.PoseImageDataset`): what a task that learns
        from the images returns as its train and eval items."""
        from hpe_core.datasets.torch_data import PoseImageDataset

        d = self.config.data
        indices = {"train": self.train_indices, "val": self.val_indices, "test": self.test_indices}[split]
        return PoseImageDataset(self.dataset, indices, image_size=d.image_size,
                                augment=d.augment if split == "train" else None)

    def collate(self):
        """Drops unreadable samples, listing them under ``"skipped"``."""
        from hpe_core.datasets.torch_data import collate

        return collate

    @staticmethod
    def batch_size(batch: dict) -> int:
        return int(batch["index"].shape[0]) if "index" in batch else 0

    # -- numbers ----------------------------------------------------------------------
    def loss(self, net: nn.Module, batch: dict) -> torch.Tensor:
        raise NotImplementedError

    def evaluate(self, net: nn.Module, loader, reduce) -> dict[str, float]:
        """Metrics over ``loader``; ``reduce(dict) -> dict`` sums over ranks."""
        raise NotImplementedError

    def final_metrics(self, net: nn.Module, loader_for, reduce) -> dict[str, Any]:
        """Extra figures at the end of a finished run (e.g. the test split); {} by default."""
        return {}


def split_indices(dataset, split: str, validation: str = "default") -> np.ndarray:
    """The dataset's ``split``; with ``validation="S1"`` (seed 001's protocol) subject S1 is the
    validation split and leaves the training split (S5, S6, S7, S8 train; S9, S11 test)."""
    if validation != "S1":
        return dataset.split_indices(split)
    names = list(getattr(dataset, "subject_names", []) or [])
    if "S1" not in names:
        raise InputError(f"data.validation S1: the dataset {getattr(dataset, 'path', '')} has no subject S1 "
                         f"(its subjects: {', '.join(names) or 'none'}); use data.validation=default")
    is_s1 = np.asarray(dataset.subject) == names.index("S1")
    if split == "val":
        train = dataset.split_indices("train")
        return train[is_s1[train]]
    indices = dataset.split_indices(split)
    return indices[~is_s1[indices]] if split == "train" else indices


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: (v.to(device, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}


def encoder_families() -> tuple[str, ...]:
    """The families whose models have a ResNet encoder to start from (read from the table)."""
    from hpe_core.models.families import FAMILIES
    from hpe_core.models.families.encoder import EncoderFamily

    return tuple(name for name, cls in FAMILIES.items() if issubclass(cls, EncoderFamily))


def load_encoder_checkpoint(path: str, families: tuple[str, ...], what: str):
    """Load a checkpoint whose family is one of ``families``; :class:`CheckpointError` otherwise."""
    from hpe_core.models.checkpoint import load_checkpoint

    model, info = load_checkpoint(path, device="cpu")
    if model.family not in families:
        raise CheckpointError(f"{what} {path}: a {model.family!r} checkpoint, but this needs one of "
                              f"the families {', '.join(families)}")
    return model, info


def copy_weights(target: nn.Module, source: nn.Module, what: str) -> None:
    """``target.load_state_dict(source.state_dict())``, with a clear error if they differ."""
    want, have = target.state_dict(), source.state_dict()
    mismatch = [k for k in want if k not in have or have[k].shape != want[k].shape]
    if mismatch:
        k = mismatch[0]
        found = tuple(have[k].shape) if k in have else "missing"
        raise CheckpointError(f"{what}: does not fit the model being trained (at {k}: expected "
                              f"{tuple(want[k].shape)}, found {found}; check model.backbone and model.width)")
    target.load_state_dict({k: have[k] for k in want})
