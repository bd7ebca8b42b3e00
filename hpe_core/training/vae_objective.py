"""The pieces of seed 003's objective: cyclic beta, random vertical rotation, re-projection,
horizontal flips, and the generator / discriminator losses.

Poses here are in the lifter's normalised units (:func:`hpe_core.models.vae_lifter.normalise_2d`):
``(N, J, 2)`` 2D and ``(N, J, 3)`` root-relative 3D, camera frame (x right, y down, z forward),
so "vertical" is the camera's y axis.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from hpe_core.errors import InputError


def cyclic_beta(epoch: int, lambda_kld: float, cycle: int = 40, warmup: int = 10, hold: int = 10) -> float:
    """The KL weight of ``epoch`` (0-based): 0 during the ``warmup`` epochs, then in every cycle of
    ``cycle`` epochs a linear ramp from 0 to ``lambda_kld`` over ``cycle - hold`` epochs, held at
    ``lambda_kld`` for the last ``hold`` epochs of the cycle (the thesis: 40, 10, 10)."""
    if cycle < 1 or not 0 <= hold < cycle or warmup < 0:
        raise InputError(f"beta schedule: need cycle >= 1, 0 <= hold < cycle, warmup >= 0 "
                         f"(got cycle {cycle}, hold {hold}, warmup {warmup})")
    if epoch < warmup:
        return 0.0
    t = (epoch - warmup) % cycle
    return lambda_kld * min(1.0, t / (cycle - hold))


def rotation_about_vertical(angles: Tensor) -> Tensor:
    """``(N,)`` radians -> ``(N, 3, 3)`` rotations about the y axis."""
    c, s = torch.cos(angles), torch.sin(angles)
    zero, one = torch.zeros_like(angles), torch.ones_like(angles)
    rows = [torch.stack([c, zero, s], -1), torch.stack([zero, one, zero], -1), torch.stack([-s, zero, c], -1)]
    return torch.stack(rows, dim=-2)


def random_vertical_rotation(pose: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Rotate each root-relative ``(N, J, 3)`` pose about the vertical axis through its root by an
    angle uniform in [-pi, pi); returns ``(rotated, angles (N,))``. The root stays at the origin."""
    angles = (torch.rand(pose.shape[0], generator=generator, device="cpu") * 2 - 1) * math.pi
    angles = angles.to(device=pose.device, dtype=pose.dtype)
    return pose @ rotation_about_vertical(angles).transpose(1, 2), angles


def project(pose: Tensor, depth: float) -> Tensor:
    """Perspective view of a root-relative ``(N, J, 3)`` pose whose root stands ``depth`` in front
    of a unit-focal camera, scaled by ``depth`` so a pose at the root's depth keeps its size:
    ``depth * (x, y) / (depth + z)``. The root projects to the origin."""
    z = (pose[..., 2:] + depth).clamp_min(1e-3 * depth)
    return depth * pose[..., :2] / z


def flip_2d(x: Tensor, permutation: Tensor) -> Tensor:
    """Horizontal mirror of root-relative ``(N, J, 2)`` poses with left and right joints swapped."""
    return x[:, permutation] * x.new_tensor([-1.0, 1.0])


def flip_3d(x: Tensor, permutation: Tensor) -> Tensor:
    """The 3D counterpart of :func:`flip_2d` (x negated, left and right swapped)."""
    return x[:, permutation] * x.new_tensor([-1.0, 1.0, 1.0])


def reprojection_loss(pose: Tensor, target_2d: Tensor, valid: Tensor, depth: float) -> Tensor:
    """Mean squared 2D error between the projection of the lifted ``pose`` and the input 2D,
    over the valid joints (normalised units)."""
    err = ((project(pose, depth) - target_2d) ** 2).sum(dim=-1)
    w = valid.to(err.dtype)
    return (err * w).sum() / (2 * w.sum()).clamp_min(1)


def pose3d_loss(pose: Tensor, target: Tensor, valid: Tensor) -> Tensor:
    """Mean squared 3D error over the valid joints (normalised units): the supervised variant."""
    err = ((pose - target) ** 2).sum(dim=-1)
    w = valid.to(err.dtype)
    return (err * w).sum() / (3 * w.sum()).clamp_min(1)


def discriminator_loss(real: Tensor, fake: Tensor) -> Tensor:
    """Binary cross-entropy of the discriminator: real projections are 1, lifted-rotated ones 0.
    ``real``, ``fake`` are its sigmoid outputs ``(N, 1)``."""
    return F.binary_cross_entropy(real, torch.ones_like(real)) + F.binary_cross_entropy(fake, torch.zeros_like(fake))


def adversarial_loss(fake: Tensor) -> Tensor:
    """The generator's side: make the discriminator call its projections real."""
    return F.binary_cross_entropy(fake, torch.ones_like(fake))
