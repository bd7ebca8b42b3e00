"""``lift``: Martinez's 2D -> 3D lifter (seed 001), trained on 2D joints with their root-relative 3D.

Input 2D: the ground truth (``pipeline.heatmap`` unset) or the argmax 2D of a heatmap2d
checkpoint run over the images; ``pipeline.noise_std`` px of Gaussian noise on the training 2D.
The 2D and 3D normalisation statistics come from the training split and go into the model (so
into its checkpoint). Loss: L2 (``pipeline.loss_3d: l1`` selectable) on the normalised 3D.
Samples with a missing 2D or 3D joint are left out (counted in ``dropped``).

Metrics (mm): ``mpjpe`` (root-relative), ``pa_mpjpe``, ``mean_distance``, ``loss``; the final
metrics add the test split.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hpe_core.errors import InputError
from hpe_core.training.losses import ERRORS, pose_error_sums
from hpe_core.training.tasks.base import Task, to_device
from hpe_core.training.tasks.pipeline import (load_heatmap_checkpoint, loss_3d, lifter_stats, predicted_2d,
                                              root_relative)
from hpe_core.training.tasks.pipeline_options import LIFT


class PoseItems(torch.utils.data.Dataset):
    """2D (N, J, 2) px and root-relative 3D (N, J, 3) mm rows; ``noise_std`` px added to the 2D."""

    def __init__(self, joints_2d: np.ndarray, joints_3d: np.ndarray, index: np.ndarray, noise_std: float = 0.0):
        self.joints_2d = torch.as_tensor(joints_2d, dtype=torch.float32)
        self.joints_3d = torch.as_tensor(joints_3d, dtype=torch.float32)
        self.index = torch.as_tensor(index, dtype=torch.int64)
        self.noise_std = float(noise_std)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        x = self.joints_2d[i]
        if self.noise_std:
            x = x + self.noise_std * torch.randn_like(x)
        return {"joints_2d": x, "joints_3d": self.joints_3d[i], "visible": torch.ones(len(x), dtype=torch.bool),
                "index": self.index[i]}


class LiftNet(nn.Module):
    """``forward(joints_2d)`` -> normalised 3D (what the loss sees)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, joints_2d: torch.Tensor) -> torch.Tensor:
        return self.model.normalised(joints_2d)


class LiftTask(Task):
    info = LIFT
    monitor = "mpjpe"
    mode = "min"

    def __init__(self, config, dataset, device) -> None:
        super().__init__(config, dataset, device)
        self.skeleton = dataset.skeleton
        self.dropped: dict[str, int] = {}
        self.source = "ground truth"
        self._rows: dict[str, tuple] = {}
        heatmap = config.pipeline.heatmap
        if heatmap:
            from hpe_core.training.tasks.info import COLUMNS, has_column

            if not has_column(dataset, "images"):
                raise InputError(f"pipeline.heatmap {heatmap}: 2D from a heatmap checkpoint needs the dataset column "
                                 f"'images' ({COLUMNS['images']}), which data.path {config.data.path} lacks")
            self.heatmap_model, _ = load_heatmap_checkpoint(heatmap, self.skeleton)
            self.source = f"heatmap2d {heatmap}"

    # -- data -------------------------------------------------------------------------
    def _split_rows(self, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(2D, root-relative 3D, dataset index) of the complete samples of ``split``."""
        if split not in self._rows:
            indices = {"train": self.train_indices, "val": self.val_indices, "test": self.test_indices}[split]
            if self.config.pipeline.heatmap:
                x = predicted_2d(self.heatmap_model, self.dataset, indices, self.config.data.image_size, self.device)
            else:
                x = np.asarray(self.dataset.joints_2d[indices], dtype=np.float64)
            y = root_relative(self.dataset.joints_3d[indices], self.skeleton.root)
            ok = np.isfinite(x).all((1, 2)) & np.isfinite(y).all((1, 2))
            self.dropped[split] = int((~ok).sum())
            if split == "train" and not ok.any():
                raise InputError(f"data.path {self.config.data.path}: no training sample has every 2D and 3D joint")
            self._rows[split] = (x[ok], y[ok], indices[ok])
        return self._rows[split]

    def train_items(self):
        x, y, idx = self._split_rows("train")
        return PoseItems(x, y, idx, self.config.pipeline.noise_std)

    def eval_items(self, split: str = "val"):
        return PoseItems(*self._split_rows(split))

    # -- model ------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        from hpe_core.models import build_model

        options = dict(self.config.model.options)
        options.setdefault("skeleton", self.skeleton.name)
        model = build_model("lifter", None, **options)
        x, y, _ = self._split_rows("train")
        model.set_stats(*lifter_stats(x, y, model.input_joints, model.output_joints))
        self.model = model
        return model

    def net(self, model: nn.Module) -> nn.Module:
        return LiftNet(model)

    def param_groups(self, model: nn.Module, head_lr: float, encoder_lr: float) -> list[dict]:
        return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": head_lr, "name": "lifter"}]

    # -- numbers ----------------------------------------------------------------------
    def loss(self, net: nn.Module, batch: dict) -> torch.Tensor:
        batch = to_device(batch, self.device)
        target = _inner(net).model.normalise_3d(batch["joints_3d"])
        return loss_3d(net(batch["joints_2d"]), target, self.config.pipeline.loss_3d)

    @torch.no_grad()
    def evaluate(self, net: nn.Module, loader, reduce) -> dict[str, float]:
        model = _inner(net).model
        sums = {"loss": 0.0, "n": 0.0, "joints": 0.0, **{name: 0.0 for name in ERRORS}}
        for batch in loader:
            n = self.batch_size(batch)
            if n == 0:
                continue
            batch = to_device(batch, self.device)
            norm = net(batch["joints_2d"])
            sums["loss"] += float(loss_3d(norm, model.normalise_3d(batch["joints_3d"]), self.config.pipeline.loss_3d)) * n
            sums["n"] += n
            for key, value in pose_error_sums(model.denormalise(norm), batch["joints_3d"], batch["visible"]).items():
                sums[key] += value
        return means(reduce(sums))

    def final_metrics(self, net: nn.Module, loader_for, reduce) -> dict:
        test = self.evaluate(net, loader_for("test"), reduce) if len(self.test_indices) else {}
        return {"test": test, "input_2d": self.source, "dropped": dict(self.dropped)}


def means(sums: dict) -> dict[str, float]:
    out = {"loss": sums["loss"] / max(sums["n"], 1.0)}
    out.update({name: sums[name] / max(sums["joints"], 1.0) for name in ERRORS})
    for name in ("epe", "pck"):
        if name in sums:
            out[name] = sums[name] / max(sums["joints_2d"], 1.0)
    return out


def _inner(net: nn.Module) -> nn.Module:
    return getattr(net, "module", net)
