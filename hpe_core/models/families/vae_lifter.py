"""The ``vae_lifter`` family (seed 003): a VAE that lifts 2D poses to 3D, with its discriminator.

The networks are in :mod:`hpe_core.models.vae_lifter`; HPE3D's one-file-per-part checkpoints
(``<run>_Encoder2D.pt``, ``<run>_Decoder3D.pt``, ``<run>_Discriminator.pt``) are recognised by
:mod:`hpe_core.models.hpe3d` from their key names, the siblings found beside the opened file.

Features: ``latent`` (the posterior mean mu, (N, Z); the embedding explorer colours it by action as
the thesis' Fig. 2.3.3 does) and ``pose`` ((N, J*3) mm of the mean hypothesis).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from hpe_core.errors import InputError
from hpe_core.models.families.base import Family
from hpe_core.models.hpe3d import recognise_hpe3d

DEFAULT_HYPOTHESES = 10


class VAELifterFamily(Family):
    """pose2d -> pose3d (root-relative mm), K hypotheses, latent."""

    name = "vae_lifter"
    seed = "003"
    inputs = frozenset({"pose2d"})
    outputs = frozenset({"pose3d", "hypotheses", "latent", "embeddings"})
    feature_names = ("latent", "pose")
    recognise = staticmethod(recognise_hpe3d)

    @classmethod
    def resolve(cls, backbone: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        from hpe_core.models.vae_lifter import resolve_config

        if backbone not in (None, "mlp"):
            raise InputError(f"vae_lifter model: backbone {backbone!r}; it has none (an MLP, 'mlp')")
        return resolve_config(**options)

    @classmethod
    def build(cls, config: Mapping[str, Any]):
        from hpe_core.models.vae_lifter import VAELifter

        return VAELifter(dict(config))

    @classmethod
    def predict(cls, model, batch: Mapping[str, Any]):
        """``{"joints_2d": (N, J, 2) px, "visible": (N, J) (optional), "hypotheses": K (optional,
        default 10), "generator": a CPU ``torch.Generator`` for the latent draws (optional; else
        torch's global one)}`` -> Prediction: ``joints_3d`` (the mean hypothesis, root-relative mm),
        ``hypotheses`` (N, K, J, 3) mm sampled from the posterior in one batched pass,
        ``latent`` and ``embeddings["pose2d"]`` (mu)."""
        from hpe_core.predictions import Prediction

        k = int(batch.get("hypotheses", DEFAULT_HYPOTHESES))
        with torch.no_grad():
            out = _lift(model, batch, k)
        unit = float(model.config["unit_mm"])
        mu = out["mu"].float().cpu().numpy()
        hyps = (out["hypotheses"] * unit).float().cpu().numpy() if k > 0 else None
        return Prediction(joints_3d=(out["pose"] * unit).float().cpu().numpy(), frame="root_relative",
                          hypotheses=hyps, latent=mu, embeddings={"pose2d": mu}, skeleton=model.skeleton,
                          meta={"unit_mm": unit, "hypotheses": k})


def _lift(model, batch: Mapping[str, Any], hypotheses: int) -> dict[str, torch.Tensor]:
    from hpe_core.models.vae_lifter import normalise_2d

    device = next(model.parameters()).device
    j2 = torch.as_tensor(batch["joints_2d"], dtype=torch.float32, device=device)
    if j2.ndim != 3 or j2.shape[1:] != (model.num_joints, 2):
        raise InputError(f"joints_2d: expected (N, {model.num_joints}, 2), got {tuple(j2.shape)}")
    visible = batch.get("visible")
    visible = (torch.ones(j2.shape[:2], dtype=torch.bool, device=device) if visible is None
               else torch.as_tensor(visible, device=device).bool())
    x, _ = normalise_2d(j2, visible, model.root_index)
    eps, generator = None, batch.get("generator")
    if generator is not None and hypotheses > 0:  # drawn on the CPU: the same numbers on every device
        eps = torch.randn(x.shape[0], hypotheses, int(model.config["latent_dim"]), generator=generator).to(device)
    return model(x, hypotheses=hypotheses, eps=eps)
