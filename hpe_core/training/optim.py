"""Optimizers, AMP precision and the gradient scaler of a run."""

from __future__ import annotations

import torch

from hpe_core.errors import InputError


def make_optimizer(optim, groups: list[dict]) -> torch.optim.Optimizer:
    """SGD (momentum), Adam or AdamW over ``groups`` (each with its own ``lr``).

    Every group keeps its base rate in ``initial_lr``; the schedule multiplies it.
    """
    if not groups:
        raise InputError("nothing to train: every parameter of the model is frozen "
                         "(set regression.fine_tune: true to train the encoder)")
    for g in groups:
        g["initial_lr"] = g["lr"]
    if optim.name == "sgd":
        return torch.optim.SGD(groups, lr=groups[0]["lr"], momentum=optim.momentum,
                               weight_decay=optim.weight_decay)
    cls = torch.optim.Adam if optim.name == "adam" else torch.optim.AdamW
    return cls(groups, lr=groups[0]["lr"], weight_decay=optim.weight_decay)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``: bf16 on CUDA when supported, else fp16 on CUDA, else fp32. fp16 on CPU is refused."""
    if precision == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and device.type != "cuda":
        raise InputError(f"train.precision fp16: needs a CUDA device (this run is on {device}); "
                         "use fp32 or bf16")
    return precision


def make_scaler(precision: str, device: torch.device):
    """A GradScaler for fp16 on CUDA (small gradients would underflow), else None."""
    if precision == "fp16" and device.type == "cuda":
        return torch.amp.GradScaler("cuda")
    return None
