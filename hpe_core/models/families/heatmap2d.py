"""The ``heatmap2d`` family (seed 001): our ResNet up to layer3 + blocks B-E -> one heatmap per joint.

Options (see :mod:`hpe_core.models.heatmap`): ``width`` (64), ``in_channels`` (3), ``skeleton``
("panoptic19") or ``num_joints``, ``batch_norm`` ("none" | "block" | "layer"), ``block_b`` (True),
``deconv_kernel`` (4), ``deconv_strides`` ([4]; [4, 2], [2, 2], [2, 2, 2]), ``layer4_stride1``
(False), ``sigma_ratio`` (HMSize / variance, 12.8), ``refine`` (sub-pixel decoding, True),
``beta`` (soft-argmax sharpness, 0.1). Block A takes the encoder of a SimCLR/SimSiam checkpoint
(:func:`init_block_a`).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from hpe_core.errors import InputError
from hpe_core.models.families.base import Family
from hpe_core.models.heatmap import HeatmapNet, argmax_decode, check_config, to_image
from hpe_core.skeleton import get_skeleton

DEFAULTS = {"width": 64, "in_channels": 3, "skeleton": "panoptic19", "num_joints": None, "batch_norm": "none",
            "block_b": True, "deconv_kernel": 4, "deconv_strides": [4], "layer4_stride1": False,
            "sigma_ratio": 12.8, "refine": True, "beta": 0.1}


class Heatmap2DFamily(Family):
    """image -> heatmaps, pose2d (px of the network's input image)."""

    name = "heatmap2d"
    seed = "001"
    aliases = ("heatmap",)
    inputs = frozenset({"image"})
    outputs = frozenset({"heatmaps", "pose2d"})
    feature_names = ("block_a", "block_c", "heatmaps")

    @classmethod
    def resolve(cls, backbone: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(DEFAULTS))
        if unknown:
            raise InputError(f"heatmap2d model: unknown option(s) {', '.join(unknown)}; "
                             f"valid: {', '.join(sorted(DEFAULTS))}")
        cfg = {**DEFAULTS, **options, "backbone": backbone or "resnet50"}
        if cfg["skeleton"] is not None:
            cfg["num_joints"] = get_skeleton(cfg["skeleton"]).num_joints
        if cfg["num_joints"] is None:
            raise InputError("heatmap2d: give num_joints or a skeleton")
        cfg["num_joints"], cfg["width"] = int(cfg["num_joints"]), int(cfg["width"])
        check_config(cfg)
        return {"family": cls.name, **cfg}

    @classmethod
    def build(cls, config: Mapping[str, Any]) -> HeatmapNet:
        return HeatmapNet(config)

    @classmethod
    def predict(cls, model: HeatmapNet, batch: Mapping[str, Any]):
        """``{"image": (N, 3, S, S)}`` -> Prediction: ``joints_2d`` (px of the S x S input, argmax with
        the model's ``refine``), ``scores`` (peak / 255), ``heatmaps`` unless ``batch["heatmaps"]`` is False."""
        from hpe_core.predictions import Prediction

        image = batch["image"]
        maps = model(image).float()
        coords, peak = argmax_decode(maps, refine=bool(model.config.get("refine", True)))
        joints = to_image(coords, image.shape[-1], maps.shape[-1])
        keep = batch.get("heatmaps", True)
        return Prediction(joints_2d=joints.cpu().numpy(), scores=(peak / 255.0).cpu().numpy(),
                          heatmaps=maps.cpu().numpy() if keep else None, skeleton=model.skeleton,
                          meta={"heatmap_size": int(maps.shape[-1]), "image_size": int(image.shape[-1])})


#: the families whose ResNet encoder block A can start from
ENCODER_FAMILIES = ("simclr", "simsiam", "moco", "resnet", "regressor")


def init_block_a(model: HeatmapNet, source, path: str) -> list[str]:
    """Copy the ResNet encoder of ``source`` (a model of :data:`ENCODER_FAMILIES`, loaded from
    ``path``) into block A; returns the keys copied. InputError when the backbone or width differ."""
    want = model.encoder.state_dict()
    have = source.encoder.state_dict()
    bad = [k for k in want if k not in have or have[k].shape != want[k].shape]
    if bad:
        raise InputError(f"heatmap.encoder {path}: its {source.backbone_name} encoder (width "
                         f"{source.config.get('width')}) does not fit block A ({model.backbone_name}, width "
                         f"{model.config['width']}); first mismatch at {bad[0]}")
    with torch.no_grad():
        for k, v in want.items():
            v.copy_(have[k])
    return list(want)
