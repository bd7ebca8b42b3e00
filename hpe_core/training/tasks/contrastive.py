"""SimCLR and SimSiam pre-training on multi-view pairs.

Two camera views of one pose are a positive pair (``TwoViewDataset``). Both views go through
the network in one batch of ``2N`` images.

Validation metrics: ``loss`` (the training objective on validation pairs, without augmentation),
``pair_top1`` (how often the nearest encoder feature of a view-1 image among the batch's view-2
images, its own image left out, shows the same pose from another camera; a direct measure of
view invariance), and ``feature_std`` (the mean per-dimension
std of the L2-normalised projections times sqrt(d); near 0 means collapse, near 1 is healthy), and
the health measures of the encoder and projection features of a fixed subset of the validation
images (``health.<layer>.<measure>``: :mod:`hpe_core.analysis.health_live`).

``contrastive.stop_gradient=false`` trains SimSiam without its stop-gradient, which collapses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hpe_core.training.losses import nt_xent, simsiam_loss
from hpe_core.training.tasks.base import (Task, copy_weights, encoder_families, load_encoder_checkpoint,
                                          to_device)
from hpe_core.training.tasks.contrastive_options import SIMCLR, SIMSIAM

#: the layers whose health (hpe_core.analysis.health) each validation measures
HEALTH_LAYERS = ("encoder", "projection")


class PairNet(nn.Module):
    """``forward(view1, view2, names)`` -> dict of ``(2N, d)`` features, one pass for both views."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, view1: torch.Tensor, view2: torch.Tensor, names: tuple[str, ...]) -> dict:
        return self.model.features(torch.cat([view1, view2]), list(names))


class ContrastiveTask(Task):
    heads: tuple[str, ...] = ("projection",)

    def build_model(self) -> nn.Module:
        from hpe_core.models import build_model

        m = self.config.model
        model = build_model(self.family, m.backbone, width=m.width, **m.options)
        if m.init:
            source, _ = load_encoder_checkpoint(m.init, encoder_families(), "model.init")
            if source.family == self.family:
                copy_weights(model, source, f"model.init {m.init}")
            else:  # start the encoder from another family's encoder, new heads
                copy_weights(model.encoder, source.encoder, f"model.init {m.init}")
        return model

    def net(self, model: nn.Module) -> nn.Module:
        return PairNet(model)

    def train_items(self):
        from hpe_core.datasets.torch_data import TwoViewDataset

        d = self.config.data
        return TwoViewDataset(self.dataset, self.train_indices, image_size=d.image_size,
                              augment=d.augment or "simclr")

    def eval_items(self, split: str = "val"):
        from hpe_core.datasets.torch_data import TwoViewDataset

        indices = self.val_indices if split == "val" else self.test_indices
        return TwoViewDataset(self.dataset, indices, image_size=self.config.data.image_size, augment=None)

    def loss(self, net: nn.Module, batch: dict) -> torch.Tensor:
        batch = to_device(batch, self.device)
        feats = net(batch["view1"], batch["view2"], self.heads)
        return self.objective(feats)

    def objective(self, feats: dict) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, net: nn.Module, loader, reduce) -> dict[str, float]:
        from hpe_core.analysis.health_live import HealthCollector

        sums = {"loss": 0.0, "pair_top1": 0.0, "feature_std": 0.0, "n": 0.0}
        health = HealthCollector(self.config.health.samples)
        for batch in loader:
            n = self.batch_size(batch)
            if n < 2:
                continue
            batch = to_device(batch, self.device)
            feats = net(batch["view1"], batch["view2"], ("encoder",) + self.heads)
            health.add({k: feats[k] for k in HEALTH_LAYERS}, torch.cat([batch["index"], batch["index2"]]))
            hits = _cross_view_hits(feats["encoder"], batch)
            z = F.normalize(feats["projection"].float(), dim=1)
            sums["loss"] += float(self.objective(feats)) * n
            sums["pair_top1"] += float(hits.float().sum())
            sums["feature_std"] += float(z.std(dim=0).mean()) * math.sqrt(z.shape[1]) * n
            sums["n"] += n
        sums = reduce(sums)
        n = max(sums["n"], 1.0)
        return {"loss": sums["loss"] / n, "pair_top1": sums["pair_top1"] / n,
                "feature_std": sums["feature_std"] / n, **health.measures(self.dataset, self.config.train.seed)}


def _cross_view_hits(encoder: torch.Tensor, batch: dict) -> torch.Tensor:
    """``(N,)`` bool: the nearest (cosine) view-2 image of each view-1 image in the batch shows the
    same pose. View-2 entries that are the query's own image are left out of its gallery."""
    enc1, enc2 = F.normalize(encoder.float(), dim=1).chunk(2)
    sim = enc1 @ enc2.t()
    index, index2 = batch["index"].to(sim.device), batch["index2"].to(sim.device)
    sim = sim.masked_fill(index[:, None] == index2[None, :], float("-inf"))
    pose = batch["pose_id"].to(sim.device)
    return pose[sim.argmax(dim=1)] == pose


class SimCLRTask(ContrastiveTask):
    info = SIMCLR

    def objective(self, feats: dict) -> torch.Tensor:
        z1, z2 = feats["projection"].float().chunk(2)
        return nt_xent(z1, z2, self.config.contrastive.temperature)


class SimSiamTask(ContrastiveTask):
    info = SIMSIAM
    heads = ("projection", "prediction")

    def objective(self, feats: dict) -> torch.Tensor:
        z1, z2 = feats["projection"].float().chunk(2)
        p1, p2 = feats["prediction"].float().chunk(2)
        return simsiam_loss(p1, p2, z1, z2, stop_gradient=self.config.contrastive.stop_gradient)
