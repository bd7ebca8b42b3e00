"""3D pose regression: a 1/2/3-layer head on a (frozen) contrastive encoder.

The loss is seed 000's: the predicted root-relative pose is rotated onto the ground truth by
Kabsch (about the root, reflection fixed) and the squared error is averaged (``rotation_mse``);
``mse`` skips the rotation. With ``regression.fine_tune`` the encoder trains too, at
``optim.encoder_lr``; otherwise it is frozen, batch-norm statistics included.

Metrics (mm): ``mpjpe``, ``pa_mpjpe``, ``mean_distance`` (after the loss's rotation), ``loss``;
the final metrics add the test split and the mean-pose baseline (always predicting the
training split's mean root-relative pose).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hpe_core.errors import InputError
from hpe_core.training.losses import ERRORS, pose_error_sums, pose_loss
from hpe_core.training.tasks.base import (Task, copy_weights, encoder_families, load_encoder_checkpoint,
                                          to_device)
from hpe_core.training.tasks.regress3d_options import REGRESS3D


class PoseNet(nn.Module):
    """``forward(x)``: images ``(N, 3, S, S)`` or cached encoder features ``(N, d)`` -> ``(N, J, 3)`` mm."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:
            return self.model.pose_from_features(x)
        return self.model.predict_pose(x)


class FeatureItems(torch.utils.data.Dataset):
    """Encoder features computed once (frozen encoder, no augmentation), with their targets."""

    def __init__(self, features: torch.Tensor, joints: torch.Tensor, visible: torch.Tensor,
                 index: torch.Tensor, skipped: int = 0) -> None:
        self.features, self.joints, self.visible, self.index = features, joints, visible, index
        self.skipped_count = skipped

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.features[i], "joints_3d": self.joints[i], "visible": self.visible[i],
                "index": self.index[i]}


class Regress3DTask(Task):
    info = REGRESS3D
    monitor = "pa_mpjpe"
    mode = "min"

    def __init__(self, config, dataset, device) -> None:
        super().__init__(config, dataset, device)
        if dataset.joints_3d is None:
            raise InputError(f"data.path {dataset.path}: a 2D-only dataset; regress3d needs 3D joints")
        self.skeleton = dataset.skeleton
        self.mean_pose = self._mean_pose()

    def _mean_pose(self) -> np.ndarray:
        """``(J, 3)`` mean root-relative pose of the training split (NaN joints ignored)."""
        joints = self.dataset.joints_3d[self.train_indices].astype(np.float64)
        joints = joints - joints[:, self.skeleton.root:self.skeleton.root + 1]
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(joints, axis=0)
        return np.nan_to_num(mean).astype(np.float32)

    # -- model ------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        from hpe_core.models import build_model

        r, m = self.config.regression, self.config.model
        families = (r.encoder_family,) if r.encoder_family else encoder_families()
        source = None
        backbone, options = m.backbone, dict(m.options)
        options.setdefault("width", m.width)
        if r.encoder and r.encoder != "random":
            source, _ = load_encoder_checkpoint(r.encoder, families, "regression.encoder")
            backbone = source.backbone_name
            options["width"] = source.config.get("width", options["width"])
            options.setdefault("encoder_family", source.family if source.family != "regressor"
                               else source.config.get("encoder_family", "simclr"))
        options.setdefault("pose_scale", r.pose_scale)
        if r.pose_head == "fk":  # seed 004: bone lengths from the prior, stored in the model config
            options.update(pose_head="fk", fk_hips=r.fk_hips, fk_frames=r.fk_frames, bone_lengths=self._bone_lengths())
        model = build_model("regressor", backbone, head_layers=r.head_layers, skeleton=self.skeleton.name,
                            freeze_encoder=not r.fine_tune, **options)
        if source is not None:
            copy_weights(model.encoder, source.encoder, f"regression.encoder {r.encoder}")
        if r.pose_head == "fk":  # start at the training split's mean FK parameters
            from hpe_core.models.fk_head import init_from_poses

            init_from_poses(model.head, self.dataset.joints_3d[self.train_indices])
        self.model = model
        return model

    def _bone_lengths(self) -> list[float]:
        """The fk head's bone lengths: the training split's mean, the built-in prior or a JSON prior."""
        from hpe_core.kinematics import mean_bone_lengths
        from hpe_core.models.fk_head import prior_lengths, read_prior

        choice = self.config.regression.bone_lengths
        if choice == "prior":
            return prior_lengths(self.skeleton.name)
        if choice:
            return read_prior(choice, self.skeleton.name)
        return [float(x) for x in mean_bone_lengths(self.dataset.joints_3d[self.train_indices], self.skeleton)]

    @property
    def caches_features(self) -> bool:
        r = self.config.regression
        return r.cache_features and not r.fine_tune and not self.config.data.augment

    def net(self, model: nn.Module) -> nn.Module:
        return PoseNet(model)

    def set_train_mode(self, net: nn.Module) -> None:
        net.train()
        if not self.config.regression.fine_tune:
            _inner(net).model.encoder.eval()  # frozen: keep the batch-norm statistics too

    # -- data -------------------------------------------------------------------------
    def train_items(self):
        from hpe_core.datasets.torch_data import PoseImageDataset

        d = self.config.data
        if self.caches_features:
            return self._encoded("train", self.train_indices)
        return PoseImageDataset(self.dataset, self.train_indices, image_size=d.image_size, augment=d.augment)

    def eval_items(self, split: str = "val"):
        from hpe_core.datasets.torch_data import PoseImageDataset

        indices = {"val": self.val_indices, "test": self.test_indices}[split]
        if self.caches_features:
            return self._encoded(split, indices)
        return PoseImageDataset(self.dataset, indices, image_size=self.config.data.image_size, augment=None)

    @torch.no_grad()
    def _encoded(self, split: str, indices: np.ndarray) -> FeatureItems:
        """Every image of ``indices`` through the frozen encoder once (cached per split)."""
        from hpe_core.datasets.torch_data import PoseImageDataset, make_loader

        cache = self.__dict__.setdefault("_feature_cache", {})
        if split not in cache:
            images = PoseImageDataset(self.dataset, indices, image_size=self.config.data.image_size)
            loader = make_loader(images, batch_size=128, shuffle=False, num_workers=self.config.data.num_workers,
                                 seed=0, drop_last=False)
            encoder = self.model.encoder
            was_training = encoder.training
            encoder.eval()
            parts: dict[str, list] = {"f": [], "j": [], "v": [], "i": []}
            for batch in loader:
                parts["f"].append(encoder.forward_features(batch["image"].to(self.device), ("pooled",))["pooled"].cpu())
                parts["j"].append(batch["joints_3d"])
                parts["v"].append(batch["visible"])
                parts["i"].append(batch["index"])
            encoder.train(was_training)
            if not parts["i"]:
                raise InputError(f"data.path {self.dataset.path}: no readable image in the {split} split")
            cat = {k: torch.cat(v) for k, v in parts.items()}
            cache[split] = FeatureItems(cat["f"], cat["j"], cat["v"], cat["i"], getattr(images, "skipped_count", 0))
        return cache[split]

    # -- numbers ----------------------------------------------------------------------
    def objective(self, pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        r = self.config.regression
        if r.pose_head == "fk" and r.loss == "mse":  # the fk head predicts in the canonical frame
            from hpe_core.models.fk_head import canonical_target

            target, visible = canonical_target(target, visible, self.skeleton.name)
        return pose_loss(pred, target, visible, r.loss, r.loss_unit_mm, self.skeleton.root)

    def loss(self, net: nn.Module, batch: dict) -> torch.Tensor:
        batch = to_device(batch, self.device)
        return self.objective(net(batch["image"]), batch["joints_3d"], batch["visible"])

    @torch.no_grad()
    def evaluate(self, net: nn.Module, loader, reduce) -> dict[str, float]:
        sums = {"loss": 0.0, "n": 0.0, "joints": 0.0, **{name: 0.0 for name in ERRORS}}
        for batch in loader:
            n = self.batch_size(batch)
            if n == 0:
                continue
            batch = to_device(batch, self.device)
            pred = net(batch["image"]).float()
            sums["loss"] += float(self.objective(pred, batch["joints_3d"], batch["visible"])) * n
            sums["n"] += n
            for key, value in pose_error_sums(pred, batch["joints_3d"], batch["visible"]).items():
                sums[key] += value
        return _means(reduce(sums))

    def baseline(self, indices: np.ndarray) -> dict[str, float]:
        """Errors of always predicting the training mean pose on ``indices`` (mm)."""
        joints = self.dataset.joints_3d[indices].astype(np.float64)
        target = torch.from_numpy(joints - joints[:, self.skeleton.root:self.skeleton.root + 1])
        visible = torch.from_numpy(np.asarray(self.dataset.visible[indices], dtype=bool))
        pred = torch.from_numpy(self.mean_pose.astype(np.float64)).expand_as(target).contiguous()
        sums = pose_error_sums(pred, target, visible)
        return {name: sums[name] / max(sums["joints"], 1.0) for name in ERRORS}

    def final_metrics(self, net: nn.Module, loader_for, reduce) -> dict:
        test = self.evaluate(net, loader_for("test"), reduce) if len(self.test_indices) else {}
        base = self.baseline(self.test_indices) if len(self.test_indices) else {}
        out = {"test": test, "baseline_test": base}
        if test and base.get("pa_mpjpe"):
            out["pa_mpjpe_gain_over_baseline"] = 1.0 - test["pa_mpjpe"] / base["pa_mpjpe"]
        return out


def _means(sums: dict) -> dict[str, float]:
    """Per-sample mean loss, pooled per-joint mean errors."""
    out = {"loss": sums["loss"] / max(sums["n"], 1.0)}
    out.update({name: sums[name] / max(sums["joints"], 1.0) for name in ERRORS})
    return out


def _inner(net: nn.Module) -> nn.Module:
    return getattr(net, "module", net)
