"""Two model families defined only here (issue 26: a new family costs its class and its table
entry): ``toyimage`` (image -> 3D and 2D) and ``toylift`` (2D -> 3D). ``registered(monkeypatch)``
puts both in ``FAMILIES`` for one test; nothing else in the product knows them."""

from __future__ import annotations

import torch
from torch import nn

from hpe_core.models.families import FAMILIES, Family
from hpe_core.predictions import Prediction

JOINTS = 19  # the synthetic sets' panoptic19


class ToyImageNet(nn.Module):
    """Mean colour of the image -> a root-relative 3D pose and a 2D pose in the input's px."""

    def __init__(self, config):
        super().__init__()
        self.config, self.family = dict(config), "toyimage"
        self.num_joints, self.skeleton = JOINTS, "panoptic19"
        self.head = nn.Linear(3, JOINTS * 5)

    def forward(self, x):
        return self.head(x.mean(dim=(2, 3)))


class ToyImageFamily(Family):
    name, seed = "toyimage", "000"
    inputs = frozenset({"image"})
    outputs = frozenset({"pose3d", "pose2d"})

    @classmethod
    def resolve(cls, backbone, options):
        return {"family": cls.name, "backbone": None}

    @classmethod
    def build(cls, config):
        return ToyImageNet(config)

    @classmethod
    def predict(cls, model, batch):
        out = model(batch["image"].float()).reshape(len(batch["image"]), JOINTS, 5)
        j3 = 500.0 * out[..., :3]
        j3 = j3 - j3[:, :1]  # root-relative on the neck
        j2 = torch.sigmoid(out[..., 3:]) * batch["image"].shape[-1]  # px of the S x S input
        return Prediction(joints_3d=j3.detach().float().cpu().numpy(), frame="root_relative",
                          joints_2d=j2.detach().float().cpu().numpy(), skeleton=model.skeleton)


class ToyLifter(nn.Module):
    """2D px -> a root-relative 3D pose."""

    def __init__(self, config):
        super().__init__()
        self.config, self.family = dict(config), "toylift"
        self.num_joints, self.skeleton = JOINTS, "panoptic19"
        self.mlp = nn.Linear(JOINTS * 2, JOINTS * 3)


class ToyLifterFamily(Family):
    name, seed = "toylift", "001"
    inputs = frozenset({"pose2d"})
    outputs = frozenset({"pose3d"})

    @classmethod
    def resolve(cls, backbone, options):
        return {"family": cls.name, "backbone": None}

    @classmethod
    def build(cls, config):
        return ToyLifter(config)

    @classmethod
    def predict(cls, model, batch):
        x = torch.as_tensor(batch["joints_2d"], dtype=torch.float32) / 100.0
        j3 = model.mlp(x.flatten(1)).reshape(len(x), JOINTS, 3) * 100.0
        return Prediction(joints_3d=(j3 - j3[:, :1]).detach().float().cpu().numpy(), frame="root_relative",
                          skeleton=model.skeleton)


def registered(monkeypatch) -> None:
    monkeypatch.setitem(FAMILIES, "toyimage", ToyImageFamily)
    monkeypatch.setitem(FAMILIES, "toylift", ToyLifterFamily)


def save_toys(folder, monkeypatch) -> tuple:
    """``(toyimage.pt, toylift.pt)`` with seeded weights, the families registered."""
    from hpe_core.models import build_model, save_checkpoint

    registered(monkeypatch)
    torch.manual_seed(0)
    return tuple(save_checkpoint(folder / f"{name}.pt", build_model(name, None)) for name in ("toyimage", "toylift"))
