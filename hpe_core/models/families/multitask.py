"""The ``multitask`` family (seed 001): heatmap2d and lifter end to end.

image -> heatmaps -> soft-argmax 2D (heatmap px) -> upscaled to input px -> lifter -> 3D. Options:
``heatmap`` (a heatmap2d options dict), ``lifter`` (a lifter options dict), ``skeleton``
(both nets' joints, "panoptic19"). The 2D of the predictions is the argmax decoding (with the
heatmap net's ``refine``); the 3D comes from the soft-argmax 2D the model was trained on.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from hpe_core.errors import InputError
from hpe_core.models.families.base import Family
from hpe_core.models.families.heatmap2d import Heatmap2DFamily
from hpe_core.models.families.lifter import LifterFamily
from hpe_core.models.family_net import FamilyNet
from hpe_core.models.heatmap import HeatmapNet, argmax_decode, soft_argmax, to_image
from hpe_core.models.lifter import Lifter


class MultitaskNet(FamilyNet):
    """``.heatmap`` (:class:`HeatmapNet`) + ``.lifter`` (:class:`Lifter`)."""

    family = "multitask"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.heatmap = HeatmapNet(config["heatmap"])
        self.lifter = Lifter(config["lifter"])
        self.skeleton = self.lifter.skeleton
        self.num_joints = self.lifter.num_joints
        self.train(False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("block_a", "block_c", "heatmaps", "hidden", "pose")

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, 3, S, S) -> {"heatmaps", "joints_2d" (soft-argmax, input px), "pose_norm", "joints_3d" mm}."""
        maps = self.heatmap(image)
        size = image.shape[-1]
        joints_2d = to_image(soft_argmax(maps, float(self.heatmap.config["beta"])), size, maps.shape[-1])
        norm = self.lifter.normalised(joints_2d)
        return {"heatmaps": maps, "joints_2d": joints_2d, "pose_norm": norm,
                "joints_3d": self.lifter.denormalise(norm)}


class MultitaskFamily(Family):
    """image -> heatmaps, pose2d, pose3d."""

    name = "multitask"
    seed = "001"
    inputs = frozenset({"image"})
    outputs = frozenset({"heatmaps", "pose2d", "pose3d"})
    feature_names = ("block_a", "block_c", "heatmaps", "hidden", "pose")

    @classmethod
    def resolve(cls, backbone: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - {"heatmap", "lifter", "skeleton"})
        if unknown:
            raise InputError(f"multitask model: unknown option(s) {', '.join(unknown)}; valid: heatmap, lifter, skeleton")
        skeleton = options.get("skeleton", "panoptic19")
        hm = {k: v for k, v in dict(options.get("heatmap") or {}).items() if k not in ("family", "backbone")}
        lf = {k: v for k, v in dict(options.get("lifter") or {}).items() if k not in ("family", "backbone")}
        hm.setdefault("skeleton", skeleton)
        lf.setdefault("skeleton", skeleton)
        heatmap = Heatmap2DFamily.resolve(backbone or "resnet50", hm)
        lifter = LifterFamily.resolve(None, lf)
        if heatmap["num_joints"] != lifter["num_joints"]:
            raise InputError(f"multitask: the heatmap net has {heatmap['num_joints']} joints, the lifter "
                             f"{lifter['num_joints']}")
        return {"family": cls.name, "backbone": heatmap["backbone"], "skeleton": skeleton,
                "heatmap": heatmap, "lifter": lifter}

    @classmethod
    def build(cls, config: Mapping[str, Any]) -> MultitaskNet:
        return MultitaskNet(config)

    @classmethod
    def predict(cls, model: MultitaskNet, batch: Mapping[str, Any]):
        """``{"image"}`` -> Prediction with ``joints_3d`` (mm root-relative), ``joints_2d`` (input px,
        argmax), ``scores``, ``heatmaps`` unless ``batch["heatmaps"]`` is False."""
        from hpe_core.predictions import Prediction

        image = batch["image"]
        out = model(image)
        maps = out["heatmaps"].float()
        coords, peak = argmax_decode(maps, refine=bool(model.heatmap.config.get("refine", True)))
        joints_2d = to_image(coords, image.shape[-1], maps.shape[-1])
        keep = batch.get("heatmaps", True)
        return Prediction(joints_3d=out["joints_3d"].float().cpu().numpy(), frame="root_relative",
                          joints_2d=joints_2d.cpu().numpy(), scores=(peak / 255.0).cpu().numpy(),
                          heatmaps=maps.cpu().numpy() if keep else None, skeleton=model.skeleton,
                          meta={"heatmap_size": int(maps.shape[-1]), "image_size": int(image.shape[-1])})
