"""Compatibility names: the model families now live in :mod:`hpe_core.models.families`.

``FAMILIES`` (the table), ``HPEModel`` (the ResNet-encoder network of the seed-000 families),
``build_model``, ``canonical_family``, ``regressor_from`` and ``MAPS`` are re-exported here.
"""

from __future__ import annotations

from hpe_core.models.families import FAMILIES, HPEModel, build_model, canonical_family, regressor_from
from hpe_core.models.families.encoder import MAPS

__all__ = ["FAMILIES", "HPEModel", "MAPS", "build_model", "canonical_family", "regressor_from"]
