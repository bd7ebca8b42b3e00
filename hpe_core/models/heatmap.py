"""Seed 001's 2D heatmap network, its Gaussian targets and its decoders.

Network (:class:`HeatmapNet`), for a 256 px input and a ResNet50::

    block A  our ResNet up to layer3 (stride 2 in the first block of stages 2-4: 1024 x 16 x 16);
             ``layer4_stride1`` adds layer4 with stride 1 (2048 x 16 x 16)
    block B  bottleneck-like: 1x1 C -> C/2, 3x3 C/2 -> C/2, 1x1 C/2 -> C, plus the input (skippable)
    block C  3x3 C -> C/4, same size
    block D  deconvolution(s) up to the heatmap size: kernel 4 stride 4 (HMSize 64) by default;
             kernels 3 / 6, strides (4, 2), (2, 2), (2, 2, 2)
    block E  1x1 -> J heatmaps

Batch norm in B-D: ``"layer"`` (after each convolution), ``"block"`` (once per block) or
``"none"`` (the report's best). Coordinates: heatmap pixel ``x`` covers input pixels
``(x + 0.5) * S / H - 0.5`` (pixel centres at integers, as the letterbox treats them).

Targets (:func:`gaussian_targets`): a symmetric Gaussian per joint, peak 255, variance
``HMSize / ratio`` (ratio 12.8 by default: variance 5 px² at HMSize 64). Decoders:
:func:`argmax_decode` (optionally refined to sub-pixel precision by fitting a Gaussian, i.e. a
parabola to the log, through the peak and its neighbours) and :func:`soft_argmax` (differentiable).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from hpe_core.errors import InputError
from hpe_core.models.family_net import FamilyNet
from hpe_core.models.resnet import ARCHS, build_resnet

PEAK = 255.0
BN_MODES = ("none", "block", "layer")
RATIOS = (3200.0, 64.0, 12.8, 6.4)  # the HMSize/covariance ratios of the report


def deconv_padding(kernel: int, stride: int) -> tuple[int, int]:
    """(padding, output_padding) so that a transposed convolution multiplies the size by ``stride``."""
    pad = max(math.ceil((kernel - stride) / 2), 0)
    out_pad = 2 * pad - (kernel - stride)
    if not 0 <= out_pad < stride:
        raise InputError(f"deconvolution kernel {kernel} with stride {stride}: no padding gives an exact "
                         f"x{stride} upscaling; use a kernel from {stride - 1} to {2 * stride}")
    return pad, out_pad


def _conv_block(layers: list[nn.Module], channels: int, bn: str) -> nn.Sequential:
    """Convolutions, each followed by BN (``bn="layer"``) and ReLU; one BN at the end for ``"block"``."""
    out: list[nn.Module] = []
    for layer in layers:
        out.append(layer)
        if bn == "layer":
            out.append(nn.BatchNorm2d(layer.out_channels))
        out.append(nn.ReLU(inplace=True))
    if bn == "block":
        out.append(nn.BatchNorm2d(channels))
    return nn.Sequential(*out)


class BlockB(nn.Module):
    """Bottleneck-like: ``relu(x + 1x1(3x3(1x1(x))))`` with C -> C/2 -> C/2 -> C channels."""

    def __init__(self, c: int, bn: str) -> None:
        super().__init__()
        m = max(c // 2, 1)
        convs = [nn.Conv2d(c, m, 1, bias=bn != "layer"), nn.Conv2d(m, m, 3, padding=1, bias=bn != "layer")]
        self.main = _conv_block(convs, m, bn)
        self.expand = nn.Conv2d(m, c, 1, bias=bn != "layer")
        self.expand_bn = nn.BatchNorm2d(c) if bn != "none" else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.expand_bn(self.expand(self.main(x))))


class HeatmapNet(FamilyNet):
    """image (N, 3, S, S) -> heatmaps (N, J, S * up / 16, ...) (see the module docstring)."""

    family = "heatmap2d"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.skeleton: str | None = config.get("skeleton")
        self.num_joints = int(config["num_joints"])
        self.encoder = build_resnet(self.backbone_name, config["width"], config["in_channels"], 0)
        channels = self.encoder.stage_channels()
        if config["layer4_stride1"]:
            first = self.encoder.layer4[0]
            for m in first.modules():
                if isinstance(m, nn.Conv2d) and m.stride == (2, 2):
                    m.stride = (1, 1)
            c = channels["layer4"]
        else:
            self.encoder.layer4 = nn.Identity()
            c = channels["layer3"]
        bn = config["batch_norm"]
        self.block_b = BlockB(c, bn) if config["block_b"] else nn.Identity()
        cc = max(c // 4, 8)
        self.block_c = _conv_block([nn.Conv2d(c, cc, 3, padding=1, bias=bn != "layer")], cc, bn)
        cd = max(cc // 2, 16)
        deconvs, cin = [], cc
        for stride in config["deconv_strides"]:
            pad, out_pad = deconv_padding(int(config["deconv_kernel"]), int(stride))
            deconvs.append(nn.ConvTranspose2d(cin, cd, int(config["deconv_kernel"]), int(stride), pad, out_pad,
                                              bias=bn != "layer"))
            cin = cd
        self.block_d = _conv_block(deconvs, cd, bn)
        self.block_e = nn.Conv2d(cd, self.num_joints, 1)
        self.upscale = int(math.prod(int(s) for s in config["deconv_strides"]))
        self.train(False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("block_a", "block_c", "heatmaps")

    def heatmap_size(self, image_size: int) -> int:
        """HMSize for a square input of ``image_size`` px (the encoder's stride is 16)."""
        return -(-image_size // 16) * self.upscale

    def block_a(self, x: torch.Tensor) -> torch.Tensor:
        name = "layer4" if self.config["layer4_stride1"] else "layer3"
        return self.encoder.forward_features(x, (name,))[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) normalised images -> (N, J, H, H) heatmaps."""
        return self.block_e(self.block_d(self.block_c(self.block_b(self.block_a(x)))))


def check_config(cfg: dict[str, Any]) -> None:
    """Validate a heatmap2d config in place (InputError naming the option)."""
    if cfg["backbone"] not in ARCHS:
        raise InputError(f"backbone {cfg['backbone']!r}: valid backbones are {', '.join(ARCHS)}")
    if cfg["batch_norm"] not in BN_MODES:
        raise InputError(f"batch_norm {cfg['batch_norm']!r}: expected one of {', '.join(BN_MODES)}")
    strides = cfg["deconv_strides"]
    if isinstance(strides, int):
        strides = [strides]
    cfg["deconv_strides"] = [int(s) for s in strides]
    if not cfg["deconv_strides"] or any(s < 1 for s in cfg["deconv_strides"]):
        raise InputError(f"deconv_strides {strides!r}: expected one or more positive strides, e.g. [4] or [2, 2]")
    for s in cfg["deconv_strides"]:
        deconv_padding(int(cfg["deconv_kernel"]), s)
    if float(cfg["sigma_ratio"]) <= 0:
        raise InputError(f"sigma_ratio {cfg['sigma_ratio']}: must be positive (the report's: {RATIOS})")


# --------------------------------------------------------------------------- coordinates
def to_heatmap(joints: torch.Tensor, image_size: int, heatmap_size: int) -> torch.Tensor:
    """(..., 2) input-image px -> heatmap px."""
    return (joints + 0.5) * (heatmap_size / image_size) - 0.5


def to_image(coords: torch.Tensor, image_size: int, heatmap_size: int) -> torch.Tensor:
    """(..., 2) heatmap px -> input-image px (the inverse of :func:`to_heatmap`)."""
    return (coords + 0.5) * (image_size / heatmap_size) - 0.5


# --------------------------------------------------------------------------- targets
def gaussian_targets(joints: torch.Tensor, size: int, variance: float,
                     visible: torch.Tensor | None = None) -> torch.Tensor:
    """(N, J, 2) heatmap-px joints -> (N, J, size, size) Gaussians with peak :data:`PEAK`.

    ``variance`` in heatmap px² (HMSize / ratio); invisible or NaN joints get an all-zero map.
    """
    if joints.ndim != 3 or joints.shape[-1] != 2:
        raise InputError(f"joints: expected (N, J, 2), got {tuple(joints.shape)}")
    ok = torch.isfinite(joints).all(-1)
    if visible is not None:
        ok = ok & visible.bool()
    j = torch.where(ok[..., None], joints, torch.zeros_like(joints)).float()
    grid = torch.arange(size, dtype=torch.float32, device=joints.device)
    gx = torch.exp(-(grid - j[..., 0:1]) ** 2 / (2.0 * variance))  # (N, J, W)
    gy = torch.exp(-(grid - j[..., 1:2]) ** 2 / (2.0 * variance))  # (N, J, H)
    maps = PEAK * gy[..., :, None] * gx[..., None, :]
    return maps * ok[..., None, None]


# --------------------------------------------------------------------------- decoding
def argmax_decode(heatmaps: torch.Tensor, refine: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, J, H, W) -> (coords (N, J, 2) heatmap px as x, y; scores (N, J) peak values).

    ``refine``: per axis, a parabola through the log of the peak and its two neighbours (exact
    for a Gaussian); the shift is clamped to half a pixel and skipped at the border.
    """
    n, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, j, h * w)
    score, idx = flat.max(-1)
    y, x = torch.div(idx, w, rounding_mode="floor"), idx % w
    coords = torch.stack([x, y], -1).to(heatmaps.dtype)
    if refine:
        coords = coords + _gaussian_offsets(flat, x, y, h, w)
    return coords, score


def _gaussian_offsets(flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, h: int, w: int) -> torch.Tensor:
    eps = torch.finfo(flat.dtype).tiny

    def at(dx: int, dy: int) -> torch.Tensor:
        xx, yy = (x + dx).clamp(0, w - 1), (y + dy).clamp(0, h - 1)
        return flat.gather(-1, (yy * w + xx)[..., None])[..., 0].clamp_min(eps).log()

    c = at(0, 0)
    shifts = []
    for lo, hi, pos, size in ((at(-1, 0), at(1, 0), x, w), (at(0, -1), at(0, 1), y, h)):
        denom = lo - 2 * c + hi
        inside = (pos > 0) & (pos < size - 1) & (denom < 0)
        shift = torch.where(inside, 0.5 * (lo - hi) / torch.where(inside, denom, -torch.ones_like(denom)),
                            torch.zeros_like(denom))
        shifts.append(shift.clamp(-0.5, 0.5))
    return torch.stack(shifts, -1)


def soft_argmax(heatmaps: torch.Tensor, beta: float = 0.1) -> torch.Tensor:
    """(N, J, H, W) -> (N, J, 2) heatmap px: the expectation of ``softmax(beta * heatmaps)`` (differentiable)."""
    n, j, h, w = heatmaps.shape
    p = torch.softmax(beta * heatmaps.reshape(n, j, h * w).float(), dim=-1).reshape(n, j, h, w)
    xs = torch.arange(w, dtype=p.dtype, device=p.device)
    ys = torch.arange(h, dtype=p.dtype, device=p.device)
    return torch.stack([(p.sum(2) * xs).sum(-1), (p.sum(3) * ys).sum(-1)], -1)


def heatmap_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L2 between heatmaps: the mean squared difference per pixel (peak 255)."""
    return F.mse_loss(pred.float(), target.float())
