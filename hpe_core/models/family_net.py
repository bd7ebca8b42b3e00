"""``FamilyNet``: the base of a model family's network, which keeps its resolved config (what a
checkpoint stores) and the name of its backbone."""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn


class FamilyNet(nn.Module):
    """An ``nn.Module`` built from a resolved ``config`` (a family's ``resolve``): ``config`` a
    copy of it, ``backbone_name`` its ``backbone``; subclasses name their ``family``."""

    family = ""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.backbone_name = config["backbone"]
