"""The contrastive families of seed 000: ``simclr``, ``moco`` (encoder + projection MLP) and
``simsiam`` (encoder + BatchNorm projector + bottleneck predictor).

Options: simclr/moco ``proj_hidden`` (d), ``proj_dim`` (128) or ``projector`` (a spec);
simsiam ``proj_dim`` (d), ``pred_hidden`` (proj_dim/4) or ``projector`` / ``predictor`` (specs).
"""

from __future__ import annotations

from typing import Any

from hpe_core.models import heads
from hpe_core.models.families.encoder import MAPS, EncoderFamily


class SimCLRFamily(EncoderFamily):
    """image -> embeddings, projection (SimCLR projection MLP d -> d -> 128, section 2.1)."""

    name = "simclr"
    outputs = frozenset({"embeddings", "projection"})
    feature_names = (*MAPS, "encoder", "projection")
    defaults = {"projector": None, "proj_hidden": None, "proj_dim": 128}
    convenience = frozenset({"proj_hidden", "proj_dim"})

    @classmethod
    def resolve_heads(cls, cfg: dict[str, Any], d: int) -> None:
        if cfg["projector"] is None:
            cfg["projector"] = heads.simclr_projector(d, cfg["proj_hidden"], int(cfg["proj_dim"]))


class MoCoFamily(SimCLRFamily):
    """image -> embeddings, projection (the query encoder of MoCo and its projection)."""

    name = "moco"


class SimSiamFamily(EncoderFamily):
    """image -> embeddings, projection, prediction (facebookresearch/simsiam's heads)."""

    name = "simsiam"
    outputs = frozenset({"embeddings", "projection", "prediction"})
    feature_names = (*MAPS, "encoder", "projection", "prediction")
    defaults = {"projector": None, "predictor": None, "proj_dim": None, "pred_hidden": None}
    convenience = frozenset({"proj_dim", "pred_hidden"})

    @classmethod
    def resolve_heads(cls, cfg: dict[str, Any], d: int) -> None:
        if cfg["projector"] is None:
            cfg["projector"] = heads.simsiam_projector(d, cfg["proj_dim"])
        if cfg["predictor"] is None:
            out = heads.spec_out_dim(heads.check_spec(cfg["projector"], "projector"))
            cfg["predictor"] = heads.simsiam_predictor(out, cfg["pred_hidden"])
