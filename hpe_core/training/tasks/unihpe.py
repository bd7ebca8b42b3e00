"""UniHPE training (seed 002, Fig. 2), one stage per run (``unihpe.stage``):

1. 2D-3D alignment: the 2D and 3D pose encoders with L_pair(2D, 3D) (no images are read);
2. the image encoder aligned to the frozen pose encoders: L_pair(img, 2D) + L_pair(img, 3D)
   + alpha L_triplet (``unihpe.triplet``; B - 1 random negative triplets, Algorithm 1);
3. everything jointly: L_cl (the three pairs + alpha L_triplet) + L_2D (image -> 2D) + L_3D
   (2D -> 3D and image -> 3D), decoders conditioned on the modality token.

One learnable temperature is shared by all InfoNCE terms; it is reset to the stage's tau0 and
clamped into its bounds before every use. A stage starts from the previous stage's checkpoint
(``model.init``; required for stage 2; stage 3 without it is the "no alignment" ablation).

Validation metrics: ``loss``, ``tau``, the mean cosine similarity of matching embeddings per
modality pair (``cos_image_pose2d``, ``cos_image_pose3d``, ``cos_pose2d_pose3d``, ``cos_mean``;
the curve of the paper's Fig. 5), cross-modal retrieval ``top1_<a>_<b>`` / ``top5_<a>_<b>``
(the true partner among the validation batch's ``b`` embeddings, nearest to ``a``), and in
stage 3 the pose errors of each path (``<path>_mpjpe``, ``<path>_pa_mpjpe``, mm;
``image_to_2d_pck``, ``image_to_2d_epe`` at the model's input size, px); and the health measures of
each modality's embedding on a fixed subset of the validation samples (``health.<modality>.<measure>``:
:mod:`hpe_core.analysis.health_live`).
"""

from __future__ import annotations

import types

import numpy as np
import torch
from torch import nn

from hpe_core.losses import info_nce, svd_triplet_info_nce
from hpe_core.training.tasks.base import Task, copy_weights, load_encoder_checkpoint, to_device
from hpe_core.training.tasks.info import check_columns
from hpe_core.training.tasks.unihpe_options import UNIHPE

STAGE_TAU = {1: (1 / 14, 1 / 100, 1e4), 2: (1 / 5, 1 / 10, 1e4), 3: (1 / 5, 1 / 5, 1e4)}
PAIRS = (("image", "pose2d"), ("image", "pose3d"), ("pose2d", "pose3d"))
FROZEN = {1: ("encoder", "image_proj", "decoder2d", "decoder3d", "tokens"),
          2: ("pose2d_encoder", "pose3d_encoder", "decoder2d", "decoder3d", "tokens"), 3: ()}


def stage_columns(stage: int) -> tuple[str, ...]:
    return ("joints_2d", "joints_3d") if stage == 1 else ("images", "joints_2d", "joints_3d")


class PoseItems(torch.utils.data.Dataset):
    """Joints only (stage 1): 2D joints in the ``image_size`` input the sample's image gives (its
    person crop, else the whole image: its camera's width and height, else the image read once),
    3D joints root-relative."""

    def __init__(self, dataset, indices: np.ndarray, image_size: int) -> None:
        from hpe_core.datasets.boxes import model_joints

        self.indices = np.asarray(indices, np.int64)
        sk = dataset.skeleton
        vis = np.asarray(dataset.visible)[self.indices].astype(bool)
        j3 = np.asarray(dataset.joints_3d)[self.indices].astype(np.float64)
        j3 = j3 - j3[:, sk.root:sk.root + 1]
        j2 = np.asarray(dataset.joints_2d)[self.indices].astype(np.float64)
        j2 = model_joints(dataset, self.indices, j2, image_size).astype(np.float64)  # the crop, or whole frame
        mask = ~vis[..., None]
        self.j2 = torch.as_tensor(np.where(mask, np.nan, j2), dtype=torch.float32)
        self.j3 = torch.as_tensor(np.where(mask, np.nan, j3), dtype=torch.float32)
        keep = np.isfinite(j3[:, sk.root]).all(-1)
        self.rows = np.flatnonzero(keep)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> dict:
        r = int(self.rows[k])
        return {"joints_2d": self.j2[r], "joints_3d": self.j3[r], "index": int(self.indices[r])}


class UniHPENet(nn.Module):
    """``forward(batch)`` -> the stage's loss terms and the embeddings (what DDP wraps)."""

    def __init__(self, model: nn.Module, stage: int, settings) -> None:
        super().__init__()
        self.model, self.stage, self.s = model, stage, settings

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        m, s = self.model, self.s
        emb = {}
        if self.stage >= 2:
            emb["image"] = m.embed_image(batch["image"])
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.stage != 2):
            emb["pose2d"] = m.embed_pose2d(batch["joints_2d"])
            emb["pose3d"] = m.embed_pose3d(batch["joints_3d"])
        tau = m.temperature()
        pairs = [p for p in PAIRS if p[0] in emb and (self.stage != 2 or p[0] == "image")]
        terms = {"pair": sum(info_nce(emb[a].float(), emb[b].float(), tau, s.symmetric) for a, b in pairs)}
        if self.stage >= 2 and s.triplet and s.alpha > 0:
            terms["triplet"] = s.alpha * svd_triplet_info_nce(emb["image"], emb["pose2d"], emb["pose3d"], tau)
        if self.stage == 3:
            terms["l2d"] = s.lambda_2d * m.loss2d(emb["image"], "image", batch["joints_2d"])
            terms["l3d"] = s.lambda_3d * (m.loss3d(emb["pose2d"], "pose2d", batch["joints_3d"])
                                          + m.loss3d(emb["image"], "image", batch["joints_3d"]))
        return {"loss": sum(terms.values()), "tau": tau.detach(), **terms, **{f"emb_{k}": v for k, v in emb.items()}}


class UniHPETask(Task):
    info = UNIHPE
    monitor, mode = "loss", "min"

    def __init__(self, config, dataset, device) -> None:
        self.stage = int(config.unihpe.stage)
        need = types.SimpleNamespace(name=f"unihpe stage-{self.stage}", columns=stage_columns(self.stage))
        check_columns(need, dataset, f"data.path {config.data.path}")
        super().__init__(config, dataset, device)
        self.skeleton = dataset.skeleton
        if self.stage == 3:
            self.monitor = "pose2d_to_3d_mpjpe"

    def temperature_settings(self) -> tuple[float, float, float]:
        u = self.config.unihpe
        d = STAGE_TAU[self.stage]
        return (u.tau0 if u.tau0 is not None else d[0], u.tau_min if u.tau_min is not None else d[1],
                u.tau_max if u.tau_max is not None else d[2])

    # -- model ------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        from hpe_core.models import build_model

        m = self.config.model
        backbone, options, source = m.backbone, {"width": m.width}, None
        if m.init:
            source, _ = load_encoder_checkpoint(m.init, ("unihpe",), "model.init")
            backbone = source.backbone_name
            options = {k: v for k, v in source.config.items() if k not in ("family", "backbone")}
        options.update(m.options)
        options.update(skeleton=self.skeleton.name, image_size=self.config.data.image_size)
        tau0, lo, hi = self.temperature_settings()
        options.update(tau0=tau0, tau_min=lo, tau_max=hi)
        model = build_model("unihpe", backbone, **options)
        if source is not None:
            _copy_stage_weights(model, source, f"model.init {m.init}")
            model.reset_temperature(tau0, lo, hi)
        fk = model.config.get("pose_head") == "fk"
        if fk and (source is None or source.config.get("pose_head", "free") != "fk"):  # a fresh fk decoder
            from hpe_core.models.fk_head import init_from_poses

            init_from_poses(model.decoder3d, self.dataset.joints_3d[self.train_indices])
        for name in FROZEN[self.stage]:
            getattr(model, name).requires_grad_(False)
        self.model = model
        return model

    def net(self, model: nn.Module) -> nn.Module:
        return UniHPENet(model, self.stage, self.config.unihpe)

    def set_train_mode(self, net: nn.Module) -> None:
        net.train()
        inner = getattr(net, "module", net).model
        for name in FROZEN[self.stage]:  # frozen parts keep their statistics (BatchNorm)
            getattr(inner, name).eval()

    # -- data -------------------------------------------------------------------------
    def _items(self, indices: np.ndarray):
        from hpe_core.datasets.torch_data import PoseImageDataset

        if self.stage == 1:
            return PoseItems(self.dataset, indices, self.config.data.image_size)
        return PoseImageDataset(self.dataset, indices, image_size=self.config.data.image_size,
                                augment=self.config.data.augment)

    def train_items(self):
        return self._items(self.train_indices)

    def eval_items(self, split: str = "val"):
        return self._items({"val": self.val_indices, "test": self.test_indices}[split])

    def _prepare(self, batch: dict) -> dict:
        batch = to_device(batch, self.device)
        if "visible" in batch:  # the image items: hide joints that are not visible
            hide = ~batch["visible"].bool()[..., None]
            batch["joints_2d"] = batch["joints_2d"].masked_fill(hide, float("nan"))
            batch["joints_3d"] = batch["joints_3d"].masked_fill(hide, float("nan"))
        return batch

    # -- numbers ----------------------------------------------------------------------
    def loss(self, net: nn.Module, batch: dict) -> torch.Tensor:
        return net(self._prepare(batch))["loss"]

    @torch.no_grad()
    def evaluate(self, net: nn.Module, loader, reduce) -> dict[str, float]:
        from hpe_core.analysis.health_live import HealthCollector
        from hpe_core.training.crossmodal import PathSums, cross_modal_sums, means

        sums: dict[str, float] = {"loss": 0.0, "n": 0.0}
        paths = PathSums()
        health = HealthCollector(self.config.health.samples)
        tau = 0.0
        for batch in loader:
            n = self.batch_size(batch)
            if n < 2:
                continue
            batch = self._prepare(batch)
            out = net(batch)
            tau = float(out["tau"])
            sums["loss"] += float(out["loss"]) * n
            sums["n"] += n
            emb = {k[4:]: v for k, v in out.items() if k.startswith("emb_")}
            health.add(emb, batch["index"])
            for key, value in cross_modal_sums(emb).items():
                sums[key] = sums.get(key, 0.0) + value
            if self.stage == 3:
                paths.add(getattr(net, "module", net).model, batch)
        sums.update(paths.sums)
        sums = reduce(sums)
        return {"tau": tau, **means(sums), **health.measures(self.dataset, self.config.train.seed)}

    def final_metrics(self, net: nn.Module, loader_for, reduce) -> dict:
        if not len(self.test_indices):
            return {}
        return {"test": self.evaluate(net, loader_for("test"), reduce)}


def _copy_stage_weights(model: nn.Module, source: nn.Module, what: str) -> None:
    """The previous stage's weights; when ``model.options`` switches the 3D decoder's head
    (``pose_head``, e.g. to ``fk`` for stage 3) the new decoder starts fresh (stages 1 and 2
    never train the decoders), everything else must fit."""
    if model.config.get("pose_head", "free") == source.config.get("pose_head", "free"):
        copy_weights(model, source, what)
        return
    keep = model.decoder3d
    model.decoder3d = source.decoder3d
    try:
        copy_weights(model, source, what)
    finally:
        model.decoder3d = keep
