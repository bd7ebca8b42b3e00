"""What a checkpoint can do, read from its family's declared inputs and outputs.

    capabilities("multitask")          # ("image → 2D", "image → 3D")
    capabilities(loaded_model)         # a built model: its ``family`` (and ``has_pose_head``)
    capabilities(checkpoint_info)      # a CheckpointInfo, or a checkpoint's meta dict

The three things a pose model can do: detect 2D joints in an image (``image → 2D``), lift 2D
joints to 3D (``2D → 3D``), regress 3D from an image (``image → 3D``). Encoders do none.
"""

from __future__ import annotations

from typing import Any, Mapping

IMAGE_TO_2D = "image → 2D"
LIFT_2D_TO_3D = "2D → 3D"
IMAGE_TO_3D = "image → 3D"
CAPABILITIES = (IMAGE_TO_2D, LIFT_2D_TO_3D, IMAGE_TO_3D)


def family_name(source: Any) -> str | None:
    """The family named by ``source``: a name, a model or CheckpointInfo (``.family``), or a
    checkpoint meta dict (``{"family"}`` or ``{"model": {"family"}}``)."""
    if isinstance(source, str):
        return source
    if isinstance(source, Mapping):
        model = source.get("model")
        if isinstance(model, Mapping) and model.get("family"):
            return str(model["family"])
        return None if source.get("family") is None else str(source["family"])
    name = getattr(source, "family", None)
    return None if name is None else str(name)


def capabilities(source: Any) -> tuple[str, ...]:
    """The subset of :data:`CAPABILITIES` (in that order) of ``source`` (see :func:`family_name`);
    () for an unknown family and for a model whose ``has_pose_head`` is False."""
    from hpe_core.errors import InputError
    from hpe_core.models.families import FAMILIES, canonical_family

    name = family_name(source)
    if name is None or getattr(source, "has_pose_head", True) is False:
        return ()
    try:
        family = FAMILIES[canonical_family(name)]
    except InputError:
        return ()
    ins, outs = family.inputs, family.outputs
    can = {IMAGE_TO_2D: "image" in ins and "pose2d" in outs,
           LIFT_2D_TO_3D: "pose2d" in ins and "pose3d" in outs,
           IMAGE_TO_3D: "image" in ins and "pose3d" in outs}
    return tuple(c for c in CAPABILITIES if can[c])


def shares_a_space(source: Any) -> bool:
    """Whether ``source``'s family embeds several modalities (image, 2D pose, 3D pose) in one space
    and lifts from either (UniHPE): its inference paths and cross-modal retrieval can be scored."""
    from hpe_core.errors import InputError
    from hpe_core.models.families import FAMILIES, canonical_family

    name = family_name(source)
    try:
        family = FAMILIES[canonical_family(name)] if name else None
    except InputError:
        return False
    return family is not None and "embeddings" in family.outputs and {"image", "pose2d"} <= family.inputs
