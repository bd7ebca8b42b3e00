"""``multitask``: seed 001's heatmap network and lifter trained end to end.

image -> heatmaps -> soft-argmax 2D -> upscaled to input px -> lifter -> 3D, with
``L = L3d + lambda_2d * L2d``: L3d the L2 (or L1) of the normalised 3D, L2d the heatmap L2
against Gaussian targets of the ground-truth 2D, ``lambda_2d`` 0.01. The lifter's statistics
come from the training split's ground-truth 2D (in the network's input px) and 3D. The heatmap
net may start from a heatmap2d checkpoint (``pipeline.heatmap``) or block A from a SimCLR/SimSiam
encoder (``pipeline.encoder``); the lifter from a lifter checkpoint (``pipeline.lifter``).

Metrics: ``mpjpe``, ``pa_mpjpe``, ``mean_distance`` (mm), ``epe``, ``pck`` (2D, argmax), ``loss``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hpe_core.datasets.transforms import letterbox_joints
from hpe_core.models.heatmap import heatmap_loss
from hpe_core.training.losses import ERRORS, pose_error_sums
from hpe_core.training.tasks.base import Task, copy_weights, load_encoder_checkpoint, to_device
from hpe_core.training.tasks.heatmap2d import decode_2d, heatmap_targets
from hpe_core.training.tasks.lift import means
from hpe_core.training.tasks.pipeline import lifter_stats, load_heatmap_checkpoint, loss_3d, pose2d_sums, root_relative
from hpe_core.training.tasks.pipeline_options import MULTITASK


class MultitaskTask(Task):
    info = MULTITASK
    monitor = "mpjpe"
    mode = "min"

    def build_model(self) -> nn.Module:
        from hpe_core.models import build_model
        from hpe_core.models.checkpoint import load_checkpoint
        from hpe_core.models.families.heatmap2d import ENCODER_FAMILIES, init_block_a

        m, p, sk = self.config.model, self.config.pipeline, self.dataset.skeleton
        options = dict(m.options)
        heatmap = dict(options.pop("heatmap", {}) or {})
        heatmap.setdefault("width", m.width)
        source = None
        if p.heatmap:
            source, _ = load_heatmap_checkpoint(p.heatmap, sk)
            heatmap = {k: v for k, v in source.config.items() if k not in ("family", "backbone")}
        model = build_model("multitask", source.backbone_name if source else m.backbone, heatmap=heatmap,
                            skeleton=sk.name, **options)
        if source is not None:
            copy_weights(model.heatmap, source, f"pipeline.heatmap {p.heatmap}")
        elif p.encoder:
            encoder, _ = load_encoder_checkpoint(p.encoder, ENCODER_FAMILIES, "pipeline.encoder")
            init_block_a(model.heatmap, encoder, p.encoder)
        if p.lifter:
            lifter, _ = load_checkpoint(p.lifter, device="cpu", expect_family="lifter")
            copy_weights(model.lifter, lifter, f"pipeline.lifter {p.lifter}")
        else:
            model.lifter.set_stats(*self._stats(model.lifter))
        self.model = model
        return model

    def _stats(self, lifter):
        """Statistics of the training split: ground-truth 2D letterboxed to the input size (images of
        the first training image's size), root-relative 3D."""
        idx = self.train_indices
        x = np.asarray(self.dataset.joints_2d[idx], dtype=np.float64)
        if self.dataset.has("boxes"):  # each sample's person crop
            from hpe_core.datasets.boxes import model_joints

            x = model_joints(self.dataset, idx, x, self.config.data.image_size).astype(np.float64)
        else:
            h, w = self.dataset.load_image(int(idx[0])).shape[:2]
            x = letterbox_joints(x, h, w, self.config.data.image_size)
        y = root_relative(self.dataset.joints_3d[idx], self.dataset.skeleton.root)
        return lifter_stats(x, y, lifter.input_joints, lifter.output_joints)

    def net(self, model: nn.Module) -> nn.Module:
        return model

    def param_groups(self, model: nn.Module, head_lr: float, encoder_lr: float) -> list[dict]:
        enc = {id(q) for q in model.heatmap.encoder.parameters()}
        rest = [q for q in model.parameters() if id(q) not in enc and q.requires_grad]
        encoder = [q for q in model.heatmap.encoder.parameters() if q.requires_grad]
        return [g for g in ({"params": rest, "lr": head_lr, "name": "heads"},
                            {"params": encoder, "lr": encoder_lr, "name": "encoder"}) if g["params"]]

    def train_items(self):
        return self.image_items("train")

    def eval_items(self, split: str = "val"):
        return self.image_items(split)

    def _losses(self, out: dict, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.model
        target_3d = model.lifter.normalise_3d(torch.nan_to_num(batch["joints_3d"]))
        l3d = loss_3d(out["pose_norm"], target_3d, self.config.pipeline.loss_3d)
        maps = out["heatmaps"]
        target = heatmap_targets(model.heatmap, batch["joints_2d"], batch["visible"], batch["image"].shape[-1],
                                 maps.shape[-1])
        return l3d, heatmap_loss(maps, target)

    def loss(self, net: nn.Module, batch: dict) -> torch.Tensor:
        batch = to_device(batch, self.device)
        l3d, l2d = self._losses(net(batch["image"]), batch)
        return l3d + self.config.pipeline.lambda_2d * l2d

    @torch.no_grad()
    def evaluate(self, net: nn.Module, loader, reduce) -> dict[str, float]:
        sums = {"loss": 0.0, "n": 0.0, "joints": 0.0, "epe": 0.0, "pck": 0.0, "joints_2d": 0.0,
                **{name: 0.0 for name in ERRORS}}
        for batch in loader:
            n = self.batch_size(batch)
            if n == 0:
                continue
            batch = to_device(batch, self.device)
            out = net(batch["image"])
            l3d, l2d = self._losses(out, batch)
            sums["loss"] += float(l3d + self.config.pipeline.lambda_2d * l2d) * n
            sums["n"] += n
            for key, value in pose_error_sums(out["joints_3d"].float(), batch["joints_3d"], batch["visible"]).items():
                sums[key] += value
            pred = decode_2d(self.model.heatmap, out["heatmaps"], batch["image"].shape[-1]).cpu().numpy()
            got = pose2d_sums(pred.astype(np.float64), batch["joints_2d"].cpu().numpy().astype(np.float64),
                              batch["visible"].cpu().numpy(), self.config.pipeline.pck_fraction)
            for key, value in got.items():
                sums[key] += value
        return means(reduce(sums))

    def final_metrics(self, net: nn.Module, loader_for, reduce) -> dict:
        return {"test": self.evaluate(net, loader_for("test"), reduce) if len(self.test_indices) else {}}
