"""``heatmap2d``: seed 001's 2D heatmap network, trained on Gaussian targets of the ground-truth 2D.

Targets: one Gaussian per joint (peak 255, variance HMSize / ``sigma_ratio``) at the joint's
heatmap position; invisible joints get an empty map. Loss: the L2 between heatmaps. Block A
starts from ``pipeline.encoder`` (a SimCLR/SimSiam checkpoint) when given, else from scratch
(or ``model.init``). Metrics: ``epe`` (mean 2D end-point error, px of the network's input),
``pck`` (PCK at ``pipeline.pck_fraction`` of the ground-truth box, 0.05), ``loss``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hpe_core.models.heatmap import argmax_decode, gaussian_targets, heatmap_loss, to_heatmap, to_image
from hpe_core.training.tasks.base import Task, load_encoder_checkpoint, to_device
from hpe_core.training.tasks.pipeline import pose2d_sums
from hpe_core.training.tasks.pipeline_options import HEATMAP2D


def heatmap_targets(model, joints_2d: torch.Tensor, visible: torch.Tensor, image_size: int, size: int) -> torch.Tensor:
    """(N, J, 2) input px -> (N, J, size, size) Gaussian targets of ``model``'s sigma ratio."""
    variance = size / float(model.config["sigma_ratio"])
    return gaussian_targets(to_heatmap(joints_2d, image_size, size), size, variance, visible)


def decode_2d(model, maps: torch.Tensor, image_size: int) -> torch.Tensor:
    """(N, J, H, W) -> (N, J, 2) input px (argmax with the model's refinement)."""
    coords, _ = argmax_decode(maps.float(), refine=bool(model.config.get("refine", True)))
    return to_image(coords, image_size, maps.shape[-1])


class Heatmap2DTask(Task):
    info = HEATMAP2D
    monitor = "epe"
    mode = "min"

    def build_model(self) -> nn.Module:
        from hpe_core.models import build_model
        from hpe_core.models.families.heatmap2d import ENCODER_FAMILIES, init_block_a

        m = self.config.model
        options = dict(m.options)
        options.setdefault("width", m.width)
        options.setdefault("skeleton", self.dataset.skeleton.name)
        model = build_model("heatmap2d", m.backbone, **options)
        if self.config.pipeline.encoder:
            path = self.config.pipeline.encoder
            init_block_a(model, load_encoder_checkpoint(path, ENCODER_FAMILIES, "pipeline.encoder")[0], path)
        self.model = model
        return model

    def net(self, model: nn.Module) -> nn.Module:
        return model

    def train_items(self):
        return self.image_items("train")

    def eval_items(self, split: str = "val"):
        return self.image_items(split)

    def loss(self, net: nn.Module, batch: dict) -> torch.Tensor:
        batch = to_device(batch, self.device)
        maps = net(batch["image"])
        target = heatmap_targets(self.model, batch["joints_2d"], batch["visible"], batch["image"].shape[-1], maps.shape[-1])
        return heatmap_loss(maps, target)

    @torch.no_grad()
    def evaluate(self, net: nn.Module, loader, reduce) -> dict[str, float]:
        sums = {"loss": 0.0, "n": 0.0, "epe": 0.0, "pck": 0.0, "joints_2d": 0.0}
        for batch in loader:
            n = self.batch_size(batch)
            if n == 0:
                continue
            batch = to_device(batch, self.device)
            size = batch["image"].shape[-1]
            maps = net(batch["image"]).float()
            target = heatmap_targets(self.model, batch["joints_2d"], batch["visible"], size, maps.shape[-1])
            sums["loss"] += float(heatmap_loss(maps, target)) * n
            sums["n"] += n
            pred = decode_2d(self.model, maps, size).cpu().numpy().astype(np.float64)
            got = pose2d_sums(pred, batch["joints_2d"].cpu().numpy().astype(np.float64),
                              batch["visible"].cpu().numpy(), self.config.pipeline.pck_fraction)
            for key, value in got.items():
                sums[key] += value
        s = reduce(sums)
        return {"loss": s["loss"] / max(s["n"], 1.0), "epe": s["epe"] / max(s["joints_2d"], 1.0),
                "pck": s["pck"] / max(s["joints_2d"], 1.0)}

    def final_metrics(self, net: nn.Module, loader_for, reduce) -> dict:
        return {"test": self.evaluate(net, loader_for("test"), reduce) if len(self.test_indices) else {}}
