"""torchrun / DistributedDataParallel plumbing.

``hpe train`` is one entry point for one process or many: under ``torchrun`` (the
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR`` variables are set) it joins the
process group (gloo on CPU, nccl on CUDA), each rank takes its slice of every global batch,
gradients are averaged by DDP, and only rank 0 writes events and checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hpe_core.errors import InputError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1 or dist.is_initialized()

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_info() -> DistInfo:
    """The ranks torchrun put in the environment (one process when it did not)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise InputError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them)") from None
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def device_for_rank(device: torch.device, info: DistInfo) -> torch.device:
    """Under torchrun each process takes the GPU of its local rank."""
    if info.world_size > 1 and device.type == "cuda" and device.index is None:
        torch.cuda.set_device(info.local_rank)
        return torch.device("cuda", info.local_rank)
    return device


def init(device: torch.device) -> DistInfo:
    """Join the process group when torchrun started us; return the ranks."""
    info = env_info()
    if info.world_size <= 1 or dist.is_initialized():
        return info
    if "MASTER_ADDR" not in os.environ:
        raise InputError("WORLD_SIZE > 1 but MASTER_ADDR is not set: start the job with torchrun")
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return info


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, device: torch.device, info: DistInfo) -> torch.nn.Module:
    """DDP around ``model`` when there are several processes, else ``model`` itself."""
    if info.world_size <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    return DDP(model, device_ids=ids, find_unused_parameters=_has_frozen(model))


def _has_frozen(model: torch.nn.Module) -> bool:
    return any(not p.requires_grad for p in model.parameters())


def any_flag(flag: bool, device: torch.device, info: DistInfo) -> bool:
    """True on every rank when ``flag`` is true on at least one (a no-op for one process)."""
    if info.world_size <= 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_value(value: float, device: torch.device, info: DistInfo) -> float:
    if info.world_size <= 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item()) / info.world_size


def sum_dict(values: dict, device: torch.device, info: DistInfo) -> dict:
    """Sum a dict of numbers over the ranks (same keys everywhere)."""
    if info.world_size <= 1:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist()))


def barrier(info: DistInfo) -> None:
    if info.world_size > 1 and dist.is_initialized():
        dist.barrier()
