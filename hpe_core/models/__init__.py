"""Models: the model families (``families/``, table ``FAMILIES``), ResNets, heads, checkpoint I/O.

    model = build_model("simclr", "resnet50")                  # encoder + projection MLP
    FAMILIES[model.family].outputs                             # what a family's models produce
    reg = regressor_from(model, head_layers=2)                 # frozen encoder + 3D pose head
    save_checkpoint("reg.pt", reg, training={"epoch": 3})
    model, info = load_checkpoint("any_supported_file.pth")   # native or a foreign layout

Importing this package imports torch (``import hpe_core`` alone does not).
"""

from __future__ import annotations

from hpe_core.models.checkpoint import (CheckpointInfo, file_hash, inspect_checkpoint, load_checkpoint,
                                        save_checkpoint)
from hpe_core.models.families import FAMILIES, HPEModel, build_model, regressor_from
from hpe_core.models.resnet import ResNet, resnet18, resnet34, resnet50, resnet101

__all__ = ["FAMILIES", "CheckpointInfo", "HPEModel", "ResNet", "build_model", "file_hash",
           "inspect_checkpoint", "load_checkpoint", "regressor_from", "resnet18", "resnet34",
           "resnet50", "resnet101", "save_checkpoint"]
