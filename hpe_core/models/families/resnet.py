"""The ``resnet`` family (seed 000): a plain or supervised ResNet, with an optional ``fc``."""

from __future__ import annotations

from hpe_core.models.families.encoder import MAPS, EncoderFamily


class ResNetFamily(EncoderFamily):
    """image -> embeddings (+ logits when ``num_classes`` > 0; 0 = headless). Aliases: supervised, plain."""

    name = "resnet"
    aliases = ("supervised", "plain")
    outputs = frozenset({"embeddings", "logits"})
    feature_names = (*MAPS, "encoder", "logits")
    defaults = {"num_classes": 1000}
