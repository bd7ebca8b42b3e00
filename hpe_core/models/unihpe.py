"""UniHPE (seed 002): image, 2D-pose and 3D-pose encoders into one L2-normalised space, and
2D / 3D pose decoders conditioned on the embedding and a modality token.

- image encoder: our ResNet (the paper's HRNet is not available here), global-average pooled
  features -> a linear projection to ``dim``;
- pose encoders (:class:`PoseTransformer`): one token per keypoint (a shared linear "patch"
  embedding of the bounding-box-normalised keypoint plus a learnable spatial position embedding),
  prepended with a [CLS] token and (2D only, as in the supplement B.2) a bounding-box token,
  through standard pre-norm transformer encoder layers; the [CLS] output, projected to ``dim``,
  is the embedding. Missing joints (NaN) are masked out of the attention;
- decoders: :class:`MLPDecoder` (residual MLP, the default) or :class:`ScoreDecoder` (the
  paper's score-matching diffusion decoder: two residual blocks, a Fourier time embedding,
  VE-SDE denoising score matching in training, the probability-flow ODE from seeded noise in
  inference), each conditioned on ``embedding + modality token`` (image = 0, 2D = 1); the token
  can be switched off (``modality_token=False``, Table 6's ablation).

Frames: 2D joints are pixels of the ``image_size`` x ``image_size`` model input; their
normalised form is ``(p - box centre) / box side * 2`` with a square box around the visible
joints. 3D joints are root-relative millimetres, normalised by ``unit_mm`` (1000: metres).
The 2D decoder outputs image-normalised ``[-1, 1]`` coordinates (-> px of the input), the 3D
decoder root-relative units (-> mm, root row zero).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from hpe_core.errors import InputError
from hpe_core.losses import LearnableTemperature
from hpe_core.models.family_net import FamilyNet
from hpe_core.models.resnet import build_resnet

MODALITIES = {"image": 0, "pose2d": 1}
SIGMA_DATA = 0.5  # the spread of normalised poses, for the diffusion decoder's preconditioning


# ----------------------------------------------------------------------------- normalisation
def box_of(joints_2d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(N, J, 2)`` px (NaN = missing) -> (centre (N, 2), side (N,), visible (N, J)) of the
    square box around the visible joints (side >= 1 px)."""
    vis = torch.isfinite(joints_2d).all(-1)
    big = torch.finfo(joints_2d.dtype).max
    lo = torch.where(vis[..., None], joints_2d, big).amin(1)
    hi = torch.where(vis[..., None], joints_2d, -big).amax(1)
    none = ~vis.any(1)
    lo, hi = torch.where(none[:, None], 0.0, lo), torch.where(none[:, None], 1.0, hi)
    return (lo + hi) / 2, (hi - lo).amax(1).clamp_min(1.0), vis


def normalise_2d(joints_2d: torch.Tensor, image_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(keypoints in box units (N, J, 2), box token input (N, 3), visible (N, J))."""
    centre, side, vis = box_of(joints_2d)
    kp = torch.nan_to_num((joints_2d - centre[:, None]) / side[:, None, None] * 2)
    box = torch.cat([centre / image_size * 2 - 1, (side / image_size)[:, None]], 1)
    return kp, box, vis


def normalise_3d(joints_3d: torch.Tensor, root: int, unit_mm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, J, 3)`` mm -> (root-relative in units, visible (N, J))."""
    vis = torch.isfinite(joints_3d).all(-1)
    rel = (joints_3d - joints_3d[:, root:root + 1]) / unit_mm
    return torch.nan_to_num(rel), vis


# ----------------------------------------------------------------------------- encoders
class PoseTransformer(nn.Module):
    """``(N, J, k)`` normalised keypoints (+ ``(N, 3)`` box) -> ``(N, dim)`` [CLS] embedding."""

    def __init__(self, joints: int, k: int, dim: int, width: int, depth: int, heads: int, box: bool):
        super().__init__()
        self.patch = nn.Linear(k, width)
        self.pos = nn.Parameter(torch.randn(1, joints, width) * 0.02)
        self.cls = nn.Parameter(torch.zeros(1, 1, width))
        self.box = nn.Linear(3, width) if box else None
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim)

    def tokens(self, kp: torch.Tensor, box: torch.Tensor | None) -> list[torch.Tensor]:
        n = kp.shape[0]
        out = [self.cls.expand(n, -1, -1)]
        if self.box is not None:
            out.append(self.box(box)[:, None])
        return out + [self.patch(kp) + self.pos]

    def forward(self, kp: torch.Tensor, visible: torch.Tensor, box: torch.Tensor | None = None) -> torch.Tensor:
        x = torch.cat(self.tokens(kp, box), 1)
        extra = x.shape[1] - kp.shape[1]
        keep = torch.cat([visible.new_ones(kp.shape[0], extra), visible], 1)
        h = self.layers(x, src_key_padding_mask=~keep)
        return self.proj(self.norm(h[:, 0]))


# ----------------------------------------------------------------------------- decoders
class _Residual(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm, self.fc = nn.LayerNorm(width), nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc(F.gelu(self.norm(h)))


class MLPDecoder(nn.Module):
    """condition ``(N, dim)`` -> ``(N, out)``; trained with the MSE (paper section 3.3)."""

    def __init__(self, dim: int, hidden: int, out: int, blocks: int = 3):
        super().__init__()
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.Sequential(*[_Residual(hidden) for _ in range(blocks)])
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, out))

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.inp(cond)))

    def loss(self, cond: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        err = (self(cond) - target).pow(2) * weight
        return err.sum() / weight.sum().clamp_min(1.0)

    def sample(self, cond: torch.Tensor, generator=None) -> torch.Tensor:
        return self(cond)


class ScoreDecoder(nn.Module):
    """Score network ``s(x_t, t | cond)`` of a VE SDE (sigma from ``sigma_min`` to ``sigma_max``):
    two residual blocks and a Gaussian-Fourier time embedding, preconditioned as in Karras et al.
    (2022) so the score is ``(D(x_t) - x_t) / sigma^2`` with the denoiser ``D``."""

    def __init__(self, dim: int, hidden: int, out: int, steps: int = 100,
                 sigma_min: float = 0.005, sigma_max: float = 2.0):
        super().__init__()
        self.steps, self.sigma_min, self.sigma_max = int(steps), float(sigma_min), float(sigma_max)
        self.register_buffer("freq", torch.randn(hidden // 2), persistent=True)
        self.time = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.inp, self.cond = nn.Linear(out, hidden), nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList([_Residual(hidden) for _ in range(2)])
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, out))

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def _scales(self, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(sigma, c_skip, c_out, c_in) of Karras et al.'s preconditioning, each (N, 1)."""
        sig = self.sigma(t)[:, None]
        var = sig ** 2 + SIGMA_DATA ** 2
        return sig, SIGMA_DATA ** 2 / var, sig * SIGMA_DATA / var.sqrt(), 1 / var.sqrt()

    def _net(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        angle = torch.log(self.sigma(t))[:, None] / 4 * self.freq[None] * 2 * math.pi
        c = self.time(torch.cat([angle.sin(), angle.cos()], 1)) + self.cond(cond)
        h = self.inp(x) + c
        for block in self.blocks:
            h = block(h) + c
        return self.out(h)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """D(x_t) = c_skip x + c_out F(c_in x, t | cond), the estimate of the clean pose."""
        _, skip, out, inp = self._scales(t)
        return skip * x + out * self._net(inp * x, t, cond)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The score ``(N, out)`` at noisy ``x`` and times ``t`` ``(N,)`` in (0, 1]: (D(x) - x) / sigma^2."""
        return (self.denoise(x, t, cond) - x) / self.sigma(t)[:, None] ** 2

    def loss(self, cond: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Denoising score matching with x_t = x0 + sigma z, in the preconditioned form
        ``|| F - (x0 - c_skip x_t) / c_out ||^2`` (the score-matching loss weighted by 1 / c_out^2)."""
        t = torch.rand(len(target), device=target.device) * (1 - 1e-3) + 1e-3
        sig, skip, out, inp = self._scales(t)
        x = target + sig * torch.randn_like(target)
        err = (self._net(inp * x, t, cond) - (target - skip * x) / out).pow(2) * weight
        return err.sum() / weight.sum().clamp_min(1.0)

    def sample(self, cond: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Probability-flow ODE from t = 1 to ~0 in ``steps`` Euler steps, then one Tweedie step."""
        n, k = cond.shape[0], self.out[-1].out_features
        noise = torch.randn((n, k), generator=generator, device="cpu").to(cond)
        x = noise * self.sigma_max
        ts = torch.linspace(1.0, 1e-3, self.steps + 1, device=cond.device)
        log_ratio = math.log(self.sigma_max / self.sigma_min)
        for a, b in zip(ts[:-1], ts[1:]):
            t = a.expand(n)
            g2 = 2 * self.sigma(t)[:, None] ** 2 * log_ratio  # d sigma^2 / dt
            x = x - 0.5 * g2 * self(x, t, cond) * (b - a)  # dx = -g^2/2 score dt, dt < 0
        return self.denoise(x, ts[-1].expand(n), cond)


# ----------------------------------------------------------------------------- the model
class UniHPEModel(FamilyNet):
    """The three encoders, the two decoders, the modality tokens and the shared temperature.

    ``embed_image(x)``, ``embed_pose2d(j2d)``, ``embed_pose3d(j3d)`` -> ``(N, dim)`` unit rows;
    ``decode2d(e, modality)`` -> ``(N, J, 2)`` px; ``decode3d(e, modality)`` -> ``(N, J, 3)`` mm
    root-relative. ``config`` is the resolved config of the ``unihpe`` family.
    """

    family = "unihpe"

    def __init__(self, config: Mapping[str, Any]):
        super().__init__(config)
        c = self.config
        self.skeleton, self.num_joints, self.root_index = c["skeleton"], int(c["num_joints"]), int(c["root_index"])
        self.image_size, self.unit_mm = int(c["image_size"]), float(c["unit_mm"])
        self.modality_token = bool(c["modality_token"])
        j, d = self.num_joints, int(c["dim"])
        self.encoder = build_resnet(c["backbone"], c["width"], c["in_channels"], 0)
        self.image_proj = nn.Linear(self.encoder.num_features, d)
        pose = dict(dim=d, width=int(c["pose_width"]), depth=int(c["pose_depth"]), heads=int(c["pose_heads"]))
        self.pose2d_encoder = PoseTransformer(j, 2, box=True, **pose)
        self.pose3d_encoder = PoseTransformer(j, 3, box=False, **pose)
        self.tokens = nn.Embedding(len(MODALITIES), d)
        nn.init.normal_(self.tokens.weight, std=0.5)
        self.decoder2d = self._decoder(d, j * 2)
        self.decoder3d = self._decoder3d(d)
        self.temperature = LearnableTemperature(c["tau0"], c["tau_min"], c["tau_max"])
        self.train(False)

    def _decoder(self, d: int, out: int) -> nn.Module:
        c = self.config
        if c["decoder"] == "diffusion":
            return ScoreDecoder(d, int(c["decoder_hidden"]), out, int(c["diffusion_steps"]))
        return MLPDecoder(d, int(c["decoder_hidden"]), out, int(c["decoder_blocks"]))

    def _decoder3d(self, d: int) -> nn.Module:
        c = self.config
        if c.get("pose_head", "free") != "fk":
            return self._decoder(d, self.num_joints * 3)
        from hpe_core.models.fk_head import FKDecoder, fk_outputs

        return FKDecoder(self._decoder(d, fk_outputs(c)), c["skeleton"], c["bone_lengths"], c["unit_mm"],
                         c["fk_hips"], c["fk_frames"])

    def pose3d_target(self, joints_3d):
        """Ground-truth ``(N, J, 3)`` mm in the frame of :meth:`decode3d`'s output: root-relative
        camera frame for the free head, canonical for the fk head (NaN where unknown)."""
        if self.config.get("pose_head", "free") != "fk":
            return joints_3d
        from hpe_core.models.fk_head import to_fk_frame

        return to_fk_frame(joints_3d, self.skeleton)

    has_pose_head = True

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("image", "pose2d", "pose3d")

    def feature_dims(self) -> dict[str, int]:
        return {name: int(self.config["dim"]) for name in self.feature_names}

    def reset_temperature(self, tau0: float, tau_min: float, tau_max: float) -> None:
        """A fresh temperature for a new stage (its own tau0 and bounds)."""
        device = self.temperature.log_tau.device
        self.temperature = LearnableTemperature(tau0, tau_min, tau_max).to(device)
        self.config.update(tau0=float(tau0), tau_min=float(tau_min), tau_max=float(tau_max))

    # --- encoders ------------------------------------------------------------------------
    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder.forward_features(x, ("pooled",))["pooled"]
        return F.normalize(self.image_proj(h), dim=1)

    def embed_pose2d(self, joints_2d: torch.Tensor) -> torch.Tensor:
        _check(joints_2d, "joints_2d", self.num_joints, 2)
        kp, box, vis = normalise_2d(joints_2d.float(), self.image_size)
        return F.normalize(self.pose2d_encoder(kp, vis, box), dim=1)

    def embed_pose3d(self, joints_3d: torch.Tensor) -> torch.Tensor:
        _check(joints_3d, "joints_3d", self.num_joints, 3)
        rel, vis = normalise_3d(joints_3d.float(), self.root_index, self.unit_mm)
        return F.normalize(self.pose3d_encoder(rel, vis), dim=1)

    # --- decoders ------------------------------------------------------------------------
    def condition(self, e: torch.Tensor, modality: str) -> torch.Tensor:
        """The decoders' condition: the embedding plus the modality token (unless switched off)."""
        if modality not in MODALITIES:
            raise InputError(f"modality {modality!r}: expected one of {', '.join(MODALITIES)}")
        if not self.modality_token:
            return e
        return e + self.tokens.weight[MODALITIES[modality]]

    def decode2d(self, e: torch.Tensor, modality: str = "image", generator=None) -> torch.Tensor:
        out = self.decoder2d.sample(self.condition(e, modality), generator).reshape(-1, self.num_joints, 2)
        return (out.float() + 1) * (self.image_size / 2)

    def decode3d(self, e: torch.Tensor, modality: str = "pose2d", generator=None) -> torch.Tensor:
        out = self.decoder3d.sample(self.condition(e, modality), generator).reshape(-1, self.num_joints, 3)
        out = out.float() * self.unit_mm
        return out - out[:, self.root_index:self.root_index + 1]

    def loss2d(self, e: torch.Tensor, modality: str, joints_2d: torch.Tensor) -> torch.Tensor:
        """The 2D decoder's loss towards ``(N, J, 2)`` px targets (NaN joints left out)."""
        vis = torch.isfinite(joints_2d).all(-1)
        target = torch.nan_to_num(joints_2d.float() / (self.image_size / 2) - 1).flatten(1)
        weight = vis[..., None].expand(-1, -1, 2).flatten(1).float()
        return self.decoder2d.loss(self.condition(e, modality), target, weight)

    def loss3d(self, e: torch.Tensor, modality: str, joints_3d: torch.Tensor) -> torch.Tensor:
        """The 3D decoder's loss towards ``(N, J, 3)`` mm targets (root-relative here)."""
        rel, vis = normalise_3d(joints_3d.float(), self.root_index, self.unit_mm)
        weight = vis[..., None].expand(-1, -1, 3).flatten(1).float()
        return self.decoder3d.loss(self.condition(e, modality), rel.flatten(1), weight)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The embeddings of the modalities present in ``batch`` (image, joints_2d, joints_3d)."""
        out = {}
        if "image" in batch:
            out["image"] = self.embed_image(batch["image"])
        if "joints_2d" in batch:
            out["pose2d"] = self.embed_pose2d(batch["joints_2d"])
        if "joints_3d" in batch:
            out["pose3d"] = self.embed_pose3d(batch["joints_3d"])
        return out


def _check(x: torch.Tensor, name: str, joints: int, k: int) -> None:
    if x.ndim != 3 or x.shape[1:] != (joints, k):
        raise InputError(f"{name}: expected (N, {joints}, {k}), got {tuple(x.shape)}")
