"""What every task gives the loop.

A task names the dataset columns it needs (``columns``, of :data:`COLUMNS`) and builds its model, the module the loop runs (and DDP wraps), the datasets of the
training and validation splits, the loss of a batch and the evaluation metrics. The loop owns
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


# the dataset columns a task can need, and what each one means
COLUMNS = {
    "images": "images (a reader that only holds joints has none)",
    "joints_2d": "2D joints",
    "joints_3d": "3D joints (a 2D-only dataset such as COCO keypoints has none)",
    "pose_id": "pose ids (which samples show the same physical pose)",
    "cameras": "camera calibrations",
}


def _has(dataset, column: str) -> bool:
    from hpe_core.datasets.base import NoImages

    if column == "images":
        return not isinstance(getattr(dataset, "images", None), NoImages)
    if column == "cameras":
        return bool(getattr(dataset, "cameras", None))
    if column == "joints_3d":
        return getattr(dataset, "joints_3d", None) is not None
    if column == "pose_id":
        return getattr(dataset, "pose_id", None) is not None
    return bool(dataset.has(column))


def missing_columns(task: type["Task"], dataset) -> list[str]:
    """The columns of ``task.columns`` that ``dataset`` lacks, in declaration order."""
    return [c for c in task.columns if not _has(dataset, c)]


def check_columns(task: type["Task"], dataset, where: str = "dataset") -> None:
    """InputError naming the first column ``task`` needs that ``dataset`` lacks (one line)."""
    missing = missing_columns(task, dataset)
    if missing:
        fmt = getattr(dataset, "format", "this")
        raise InputError(f"{where}: the {task.name} task needs the dataset column '{missing[0]}' "
                         f"({COLUMNS[missing[0]]}), which this {fmt} dataset lacks")


class Task:
    """Base class; subclasses set :attr:`name`, :attr:`family`, :attr:`columns` and fill in the hooks."""

    name = ""
    family = ""  # the model family it trains (a key of hpe_core.models.families.FAMILIES)
    columns: tuple[str, ...] = ()  # dataset columns it needs (keys of COLUMNS)
    monitor = "loss"  # the validation metric deciding the best checkpoint
    mode = "min"  # "min" or "max"

    def __init__(self, config: Config, dataset, device: torch.device) -> None:
        self.config, self.dataset, self.device = config, dataset, device
        seed, data = config.train.seed, config.data
        pose = np.asarray(dataset.pose_id)

        def pick(split: str, limit: int | None) -> np.ndarray:
            indices = dataset.split_indices(split)
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

    min_batch = 1  # fewer samples than this (after dropping unreadable ones): the step is skipped

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
