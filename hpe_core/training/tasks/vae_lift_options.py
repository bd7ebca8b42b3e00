"""The ``vae_lift`` task's declaration (seed 003's VAE lifter) and its ``vae`` section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hpe_core.errors import InputError
from hpe_core.training.tasks.info import TaskInfo, TaskOptions


@dataclass(frozen=True)
class VAEOptions(TaskOptions):
    """Seed 003's VAE lifter (task ``vae_lift``); the defaults are the thesis' values."""

    section = "vae"

    supervised: bool = False  # true: a 3D loss on the labels (the thesis' first check)
    neurons: int = 1024
    latent_dim: int = 51
    lambda_recon: float = 1.0
    lambda_kld: float = 0.001  # beta cycles from 0 to this
    lambda_disc: float = 0.001
    beta_cycle: int = 40  # epochs per beta cycle ...
    beta_warmup: int = 10  # ... after this many epochs at beta 0 ...
    beta_hold: int = 10  # ... each ending with this many at lambda_kld
    disc_grad_clip: float = 1.0  # gradient-norm clipping of the discriminator step
    gen_grad_clip: float = 2.0  # ... and of the generator step
    grad_value_clip: float = 1000.0  # gradient-value clipping of the generator step
    flip_prob: float = 0.5  # horizontal flip with left/right swap
    hypotheses: int = 10  # K latent samples evaluated for the best hypothesis
    depth: float = 10.0  # the root's depth in the re-projection, in pose units
    tanh_scale: float = 3.0  # decoder output range, in pose units
    unit_mm: float = 640.0  # mm per pose unit: a body-size prior (the RMS joint distance from the root)
    pose_head: Literal["free", "fk"] = "free"  # fk: seed 004's forward kinematics, prior bone lengths

    def validate(self, config) -> None:
        for ok, key, want, got in self._checks():
            if not ok:
                raise InputError(f"{key}: must be {want}, got {got}")

    def _checks(self) -> list[tuple[bool, str, str, object]]:
        lambdas = (self.lambda_recon, self.lambda_kld, self.lambda_disc)
        scales = (self.depth, self.tanh_scale, self.unit_mm)
        clips = (self.disc_grad_clip, self.gen_grad_clip, self.grad_value_clip)
        return [(self.neurons >= 1, "vae.neurons", "at least 1", self.neurons),
                (self.latent_dim >= 1, "vae.latent_dim", "at least 1", self.latent_dim),
                (self.beta_cycle >= 1, "vae.beta_cycle", "at least 1", self.beta_cycle),
                (self.beta_warmup >= 0, "vae.beta_warmup", "0 or more", self.beta_warmup),
                (0 <= self.beta_hold < self.beta_cycle, "vae.beta_hold", "0 or more and less than vae.beta_cycle",
                 self.beta_hold),
                (self.hypotheses >= 0, "vae.hypotheses", "0 or more", self.hypotheses),
                (0.0 <= self.flip_prob <= 1.0, "vae.flip_prob", "a probability in [0, 1]", self.flip_prob),
                (min(lambdas) >= 0, "vae.lambda_*", "0 or more", lambdas),
                (min(scales) > 0, "vae.depth / tanh_scale / unit_mm", "positive", scales),
                (min(clips) > 0, "vae.*_clip", "positive", clips)]


def _trainer():
    from hpe_core.training.tasks.vae_lift import VAELiftTask

    return VAELiftTask


# what training reads (supervised: joints_3d too, checked by the task)
VAE_LIFT = TaskInfo("vae_lift", "vae_lifter", ("joints_2d", "pose_id"), _trainer, options=VAEOptions)
