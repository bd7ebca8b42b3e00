"""Seed 003's VAE lifter: a 2D-pose encoder, a 3D-pose decoder and a 2D-pose discriminator.

Layer lists of the thesis appendix, with the module names of its public code (HPE3D,
``src/models.py``), so that code's state dicts load by prefix alone:

- ``encoder`` (``Encoder2D``): ``enc_inp_block`` Linear((J-1)*2 -> H), BatchNorm, Mish, Dropout 0.2;
  ``features`` a residual block of four linear (no bias) - BatchNorm - Mish - dropout layers
  ``BB_1..BB_4`` (two skip connections); ``fc_mean`` and ``fc_logvar`` Linear(H -> Z).
- ``decoder`` (``Decoder3D``): ``dec_inp_block`` Linear(Z -> H), BN, Mish, Dropout; ``features``
  as above; ``dec_out_block`` Linear(H -> (J-1)*3), Tanh. The root is put back at the origin.
  With ``pose_head="fk"`` (seed 004) the last layer outputs the forward-kinematics parameters
  (hip-line angle, one unit vector per limb joint) and a global rotation (6D) instead, composed
  with prior bone lengths, so every decoded pose has exactly those bone lengths.
- ``discriminator``: ``inp_block`` Linear((J-1)*2 -> H), LeakyReLU; ``features`` the same residual
  block without BatchNorm (its unused ``bn1`` tensors are kept, as in HPE3D), LeakyReLU and
  dropout 0.5; ``out_block`` Linear(H -> 1), Sigmoid.

Units: the lifter works in *normalised* units (:func:`normalise_2d`): root-relative 2D divided by
its RMS distance from the root; the 3D output is root-relative in the same units, placed at
depth ``depth`` for the perspective re-projection of the unsupervised loss. ``unit_mm`` (a body-size
prior, no 3D label) turns it into millimetres for a :class:`Prediction`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from hpe_core.errors import InputError

#: build options and their defaults (the thesis' values); ``joints`` and ``skeleton`` come from the data
DEFAULTS: dict[str, Any] = {"skeleton": None, "num_joints": None, "root_index": 0, "neurons": 1024,
                            "latent_dim": 51, "dropout": 0.2, "disc_dropout": 0.5, "disc_bias": False,
                            "disc_joints": None, "tanh_scale": 3.0, "depth": 10.0, "unit_mm": 640.0,
                            "pose_head": "free", "bone_lengths": None, "fk_hips": "frame"}
LOGVAR_MAX = 0.0


class LBAD(nn.Module):
    """Linear (no bias unless ``bias``) - BatchNorm (if ``use_bn``) - activation - Dropout."""

    def __init__(self, neurons: int, activation: type[nn.Module], dropout: float, use_bn: bool,
                 bias: bool = False) -> None:
        super().__init__()
        self.w1 = nn.Linear(neurons, neurons, bias=bias)
        self.bn1 = nn.BatchNorm1d(neurons)  # present (HPE3D keys) even where unused
        self.activ = activation()
        self.dropout = nn.Dropout(dropout)
        self.use_bn = use_bn

    def forward(self, x: Tensor) -> Tensor:
        x = self.w1(x)
        if self.use_bn:
            x = self.bn1(x)
        return self.dropout(self.activ(x))


class ResBlock(nn.Module):
    """Four LBAD layers with a skip connection over each pair."""

    def __init__(self, neurons: int, activation: type[nn.Module], dropout: float, use_bn: bool = True,
                 bias: bool = False) -> None:
        super().__init__()
        for i in range(1, 5):
            setattr(self, f"BB_{i}", LBAD(neurons, activation, dropout, use_bn, bias))

    def forward(self, x: Tensor) -> Tensor:
        x = self.BB_2(self.BB_1(x)) + x
        return self.BB_4(self.BB_3(x)) + x


def _block(n_in: int, neurons: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, neurons), nn.BatchNorm1d(neurons), nn.Mish(), nn.Dropout(dropout))


class Encoder2D(nn.Module):
    """``(N, (J-1)*2)`` normalised 2D -> ``(mu, logvar)``, each ``(N, Z)``."""

    def __init__(self, joints: int, neurons: int, latent_dim: int, dropout: float) -> None:
        super().__init__()
        self.enc_inp_block = _block(2 * joints, neurons, dropout)
        self.features = ResBlock(neurons, nn.Mish, dropout)
        self.fc_mean = nn.Linear(neurons, latent_dim)
        self.fc_logvar = nn.Linear(neurons, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.features(self.enc_inp_block(x.flatten(1)))
        return self.fc_mean(h), self.fc_logvar(h)


class Decoder3D(nn.Module):
    """``(N, Z)`` -> ``(N, (J-1)*3)`` in (-1, 1) (Tanh)."""

    def __init__(self, joints: int, neurons: int, latent_dim: int, dropout: float, outputs: int | None = None) -> None:
        super().__init__()
        self.dec_inp_block = _block(latent_dim, neurons, dropout)
        self.features = ResBlock(neurons, nn.Mish, dropout)
        self.dec_out_block = nn.Sequential(nn.Linear(neurons, outputs or 3 * joints), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        return self.dec_out_block(self.features(self.dec_inp_block(z)))


class Discriminator(nn.Module):
    """``(N, (J-1)*2)`` normalised 2D -> ``(N, 1)`` probability that it is a real pose."""

    def __init__(self, joints: int, neurons: int, dropout: float, bias: bool = False) -> None:
        super().__init__()
        self.inp_block = nn.Sequential(nn.Linear(2 * joints, neurons), nn.LeakyReLU())
        self.features = ResBlock(neurons, nn.LeakyReLU, dropout, use_bn=False, bias=bias)
        self.out_block = nn.Sequential(nn.Linear(neurons, 1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return self.out_block(self.features(self.inp_block(x.flatten(1))))


def reparameterise(mu: Tensor, logvar: Tensor, eps: Tensor | None = None) -> Tensor:
    """``mu + eps * exp(logvar / 2)``, ``eps ~ N(0, I)`` (given or drawn); ``eps`` may carry extra
    leading dimensions (``(K, N, Z)`` draws K samples of each row at once)."""
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + eps * torch.exp(0.5 * logvar)


def resolve_config(**options: Any) -> dict[str, Any]:
    """The full config of a lifter from ``options`` (unknown names are an InputError)."""
    from hpe_core.skeleton import get_skeleton

    options = {k: v for k, v in options.items() if k not in ("family", "backbone")}
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise InputError(f"vae_lifter model: unknown option(s) {', '.join(unknown)}; "
                         f"valid: {', '.join(sorted(DEFAULTS))}")
    cfg = {**DEFAULTS, **options}
    if cfg["skeleton"] is not None:
        sk = get_skeleton(cfg["skeleton"])
        cfg["num_joints"], cfg["root_index"] = sk.num_joints, sk.root
    if not cfg["num_joints"] or int(cfg["num_joints"]) < 2:
        raise InputError("vae_lifter model: give a skeleton or num_joints (at least 2)")
    from hpe_core.models.fk_head import resolve_fk

    resolve_fk(cfg, "vae_lifter model: ")  # free: the thesis' Tanh coordinates; fk: seed 004's head
    for key in ("num_joints", "root_index", "neurons", "latent_dim"):
        cfg[key] = int(cfg[key])
    cfg["disc_joints"] = int(cfg["disc_joints"] or cfg["num_joints"] - 1)
    for key in ("dropout", "disc_dropout", "tanh_scale", "depth", "unit_mm"):
        cfg[key] = float(cfg[key])
    return {"family": VAELifter.family, "backbone": VAELifter.backbone_name, **cfg}


def rotation_6d(r: Tensor) -> Tensor:
    """``(N, 6)`` -> ``(N, 3, 3)`` rotations: Gram-Schmidt of the two 3-vectors (Zhou et al. 2019)."""
    a = nn.functional.normalize(r[:, :3], dim=1, eps=1e-8)
    b = r[:, 3:] - (a * r[:, 3:]).sum(dim=1, keepdim=True) * a
    b = nn.functional.normalize(b, dim=1, eps=1e-8)
    return torch.stack([a, b, torch.cross(a, b, dim=1)], dim=-1)


class VAELifter(nn.Module):
    """Encoder, decoder and discriminator of one run; ``config`` as :func:`resolve_config` makes it."""

    family = "vae_lifter"
    backbone_name = "mlp"

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        c = self.config
        inner = c["num_joints"] - 1
        self.encoder = Encoder2D(inner, c["neurons"], c["latent_dim"], c["dropout"])
        self.fk_tree = None
        outputs = 3 * inner
        if c["pose_head"] == "fk":  # FK parameters + a global rotation (6D), composed in decode()
            from hpe_core.kinematics import kinematic_tree

            self.fk_tree = kinematic_tree(c["skeleton"], c["fk_hips"])
            outputs = self.fk_tree.num_outputs + 6
        self.decoder = Decoder3D(inner, c["neurons"], c["latent_dim"], c["dropout"], outputs)
        self.discriminator = Discriminator(c["disc_joints"], c["neurons"], c["disc_dropout"], c["disc_bias"])
        self.skeleton: str | None = c["skeleton"]
        self.num_joints: int = c["num_joints"]
        self.root_index: int = c["root_index"]
        self.train(False)

    has_pose_head = True
    feature_names = ("latent", "pose")

    def feature_dims(self) -> dict[str, int]:
        return {"latent": self.config["latent_dim"], "pose": self.num_joints * 3}

    def features(self, joints_2d: Tensor, names=None) -> dict[str, Tensor]:
        """``(N, J, 2)`` px 2D joints (NaN where missing) -> ``{"latent": mu (N, Z), "pose": (N, J*3)
        mm}`` (the names asked for; the embedding explorer reads these)."""
        wanted = tuple(self.feature_names if names is None else names)
        unknown = [n for n in wanted if n not in self.feature_names]
        if unknown:
            raise InputError(f"features {unknown} are not offered by this vae_lifter model; "
                             f"valid names: {', '.join(self.feature_names)}")
        x, _ = normalise_2d(joints_2d, torch.isfinite(joints_2d).all(dim=-1), self.root_index)
        mu, _ = self.encode(x)
        out = {"latent": mu}
        if "pose" in wanted:
            out["pose"] = (self.decode(mu) * self.config["unit_mm"]).flatten(1)
        return {n: out[n] for n in wanted}

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` ``(N, J, 2)`` normalised 2D -> ``mu``, ``logvar`` ``(N, Z)``; ``logvar`` is clamped
        to at most :data:`LOGVAR_MAX` (no posterior wider than the prior: with beta at 0 an
        unclamped variance drifts to overflow and its samples wreck the decoder's BatchNorm
        statistics; HPE3D clamps at 30 for the overflow alone)."""
        mu, logvar = self.encoder(drop_root(x, self.root_index))
        return mu, logvar.clamp(max=LOGVAR_MAX)

    def decode(self, z: Tensor) -> Tensor:
        """``(..., Z)`` -> ``(..., J, 3)`` normalised, root-relative (root row zero)."""
        lead = z.shape[:-1]
        raw = self.decoder(z.reshape(-1, z.shape[-1]))
        if self.fk_tree is not None:
            return self._compose(raw).reshape(*lead, self.num_joints, 3)
        joints = (raw * self.config["tanh_scale"]).reshape(*lead, self.num_joints - 1, 3)
        return insert_root(joints, self.root_index)

    def _compose(self, raw: Tensor) -> Tensor:
        """The fk head: seed 004's forward kinematics with the prior bone lengths (in pose units),
        made root-relative, then turned by the predicted global rotation."""
        from hpe_core.models.fk_head import compose

        lengths = torch.tensor(self.config["bone_lengths"], dtype=raw.dtype, device=raw.device) / self.config["unit_mm"]
        canon = compose(raw[:, :-6], self.fk_tree, lengths)
        return canon @ rotation_6d(raw[:, -6:]).transpose(1, 2)

    def forward(self, x: Tensor, hypotheses: int = 0, eps: Tensor | None = None) -> dict[str, Tensor]:
        """``x`` ``(N, J, 2)`` normalised 2D (root row ignored) -> ``mu``, ``logvar`` ``(N, Z)``,
        ``pose`` ``(N, J, 3)`` from ``mu`` and, with ``hypotheses`` K > 0, ``hypotheses``
        ``(N, K, J, 3)`` from K samples of the latent, all decoded in one batch of N*(K+1)."""
        mu, logvar = self.encode(x)
        out = {"mu": mu, "logvar": logvar}
        if hypotheses <= 0:
            out["pose"] = self.decode(mu)
            return out
        if eps is None:
            eps = torch.randn(x.shape[0], hypotheses, mu.shape[1], device=mu.device, dtype=mu.dtype)
        z = reparameterise(mu[:, None], logvar[:, None], eps)  # (N, K, Z)
        both = self.decode(torch.cat([mu[:, None], z], dim=1))  # (N, K+1, J, 3)
        out["pose"], out["hypotheses"] = both[:, 0], both[:, 1:]
        return out


def drop_root(x: Tensor, root: int) -> Tensor:
    """``(..., J, D)`` -> ``(..., J-1, D)`` without the root row."""
    return torch.cat([x[..., :root, :], x[..., root + 1:, :]], dim=-2)


def insert_root(x: Tensor, root: int) -> Tensor:
    """``(..., J-1, D)`` -> ``(..., J, D)`` with a zero row at ``root``."""
    zero = x.new_zeros(*x.shape[:-2], 1, x.shape[-1])
    return torch.cat([x[..., :root, :], zero, x[..., root:, :]], dim=-2)


def normalise_2d(joints_2d: Tensor, visible: Tensor, root: int) -> tuple[Tensor, Tensor]:
    """``(N, J, 2)`` px -> ``(normalised (N, J, 2), scale (N,) px)``: root-relative, divided by the
    RMS distance of the visible joints from the root; invisible or non-finite joints become 0."""
    ok = visible.bool() & torch.isfinite(joints_2d).all(dim=-1)
    centred = torch.nan_to_num(joints_2d - joints_2d[:, root:root + 1]) * ok[..., None]
    count = ok.sum(dim=1).clamp_min(1)
    scale = (centred.pow(2).sum(dim=(1, 2)) / count).sqrt().clamp_min(1e-6)
    return centred / scale[:, None, None], scale
