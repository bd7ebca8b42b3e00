"""Will a training run fit in memory? An estimate made before anything is allocated.

The task's model is built on PyTorch's ``meta`` device (shapes only: no memory, no random
numbers drawn), which gives the exact parameter count; an image model's encoder is run there on
one batch of ``train.batch_size`` images of ``data.image_size`` px, and the outputs of its layers
(what backward keeps) are summed. The estimate in bytes is

    parameters x 4 bytes x 4 (weights, gradients, two optimizer moments)  +  activations x 4 bytes x 2

(fp32; activations kept for backward and their gradients). It is a lower bound of what training
needs; a run whose estimate exceeds the device's whole memory cannot start, and is refused naming
the sizes in the config that make it so.
"""

from __future__ import annotations

import os
import warnings

from hpe_core.errors import InputError

GIB = 1 << 30


def device_memory(device) -> int | None:
    """Total bytes of ``device``'s memory (the machine's RAM for the CPU), or None if unknown."""
    import torch

    try:
        if getattr(device, "type", str(device)) == "cuda":
            return int(torch.cuda.get_device_properties(device).total_memory)
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError, RuntimeError):
        return None


def _activations(model, batch: int, image_size: int) -> int:
    """Elements output by the leaf layers of the image encoder on one meta batch (0 if none)."""
    import torch
    from torch import nn

    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, nn.Module) or not hasattr(encoder, "conv1"):
        return 0
    total = [0]

    def count(_module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            total[0] += output.numel()

    hooks = [m.register_forward_hook(count) for m in encoder.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            encoder(torch.empty(batch, 3, image_size, image_size, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def estimate(task, config) -> tuple[int, int]:
    """(parameters, activation elements of one batch) of ``task``'s model under ``config``."""
    import torch

    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # weights copied from a file into meta tensors: a no-op, said loudly
        model = task.build_model()
    params = sum(p.numel() for p in model.parameters())
    return params, _activations(model, config.train.batch_size, config.data.image_size)


def check_memory(task, config, device) -> None:
    """InputError when the run cannot fit in ``device``'s memory (see the module docstring)."""
    sizes = (f"model.width {config.model.width}, train.batch_size {config.train.batch_size}, "
             f"data.image_size {config.data.image_size}")
    try:
        params, activations = estimate(task, config)
    except RuntimeError as exc:
        if "overflow" in str(exc).lower():  # a tensor too large to even describe
            raise InputError(f"the model of this config is too large to build ({sizes}): a tensor's size "
                             "overflows; use smaller sizes") from None
        return  # a layer the meta device cannot run: no estimate, the real build decides
    need = 16 * params + 8 * activations
    have = device_memory(device)
    if have is not None and need > have:
        raise InputError(f"the {config.task} model of this config needs about {need / GIB:,.1f} GiB "
                         f"({params:,} parameters, {activations:,} activations per batch; {sizes}), "
                         f"more than the {have / GIB:,.1f} GiB of {device}; use smaller sizes")
