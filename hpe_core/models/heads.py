"""Heads on top of an encoder: projection / prediction MLPs and the 3D pose regression head.

A head is described by a *spec*, a JSON-able list of layers, so that a checkpoint can rebuild it
and a foreign checkpoint's head can be described from its tensor shapes alone::

    [["linear", 512, 512, True], ["relu"], ["linear", 512, 128, True]]   # SimCLR projector

Layer forms: ``["linear", in, out, bias]``, ``["bn", n, affine]`` (BatchNorm1d), ``["ln", n]``
(LayerNorm), ``["relu"]``. ``build_mlp(spec)`` gives an ``nn.Sequential`` whose child ``i`` is
layer ``i``, so state-dict keys are ``<head>.<i>.weight`` as in most contrastive code bases.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from hpe_core.errors import InputError

Spec = list[list[Any]]

# hidden widths of the seed report's regression heads (seed 000, sections 4.1-4.3)
REGRESSION_HIDDEN = {1: [], 2: [128], 3: [512, 128]}


def check_spec(spec: Sequence[Sequence[Any]], what: str = "head") -> Spec:
    """Validate and normalise a spec (tuples to lists, ints and bools); InputError if malformed."""
    out: Spec = []
    for i, layer in enumerate(spec):
        kind = layer[0] if len(layer) else None
        arity = {"linear": 4, "bn": 3, "ln": 2, "relu": 1}.get(kind)
        if arity is None or len(layer) != arity:
            raise InputError(f"{what}: layer {i} {list(layer)!r} is not one of "
                             "[linear, in, out, bias], [bn, n, affine], [ln, n], [relu]")
        if kind == "linear":
            out.append(["linear", int(layer[1]), int(layer[2]), bool(layer[3])])
        elif kind == "bn":
            out.append(["bn", int(layer[1]), bool(layer[2])])
        elif kind == "ln":
            out.append(["ln", int(layer[1])])
        else:
            out.append(["relu"])
    dims = [layer for layer in out if layer[0] != "relu"]
    for a, b in zip(dims, dims[1:]):
        width_a = a[2] if a[0] == "linear" else a[1]
        if b[1] != width_a:
            raise InputError(f"{what}: layer {b!r} expects {b[1]} inputs but receives {width_a}")
    return out


def build_mlp(spec: Sequence[Sequence[Any]]) -> nn.Sequential:
    """An ``nn.Sequential`` with one child per spec entry."""
    modules: list[nn.Module] = []
    for layer in check_spec(spec):
        if layer[0] == "linear":
            modules.append(nn.Linear(layer[1], layer[2], bias=layer[3]))
        elif layer[0] == "bn":
            modules.append(nn.BatchNorm1d(layer[1], affine=layer[2]))
        elif layer[0] == "ln":
            modules.append(nn.LayerNorm(layer[1]))
        else:
            modules.append(nn.ReLU(inplace=True))
    return nn.Sequential(*modules)


def spec_dims(spec: Spec) -> list[int]:
    """Widths along the chain of linear layers: [in, hidden..., out] (``[]`` if no linear)."""
    linears = [layer for layer in spec if layer[0] == "linear"]
    return [linears[0][1]] + [layer[2] for layer in linears] if linears else []


def spec_out_dim(spec: Spec) -> int:
    return spec_dims(spec)[-1]


def describe_spec(spec: Spec) -> str:
    """'linear 512->512, relu, linear 512->128' style summary."""
    parts = []
    for layer in spec:
        if layer[0] == "linear":
            parts.append(f"linear {layer[1]}->{layer[2]}" + ("" if layer[3] else " (no bias)"))
        elif layer[0] == "bn":
            parts.append("batchnorm" + ("" if layer[2] else " (no affine)"))
        elif layer[0] == "ln":
            parts.append("layernorm")
        else:
            parts.append("relu")
    return ", ".join(parts)


def linear_chain(dims: Sequence[int], bias: bool = True) -> Spec:
    """Linear layers through ``dims`` with ReLU between them (none after the last)."""
    spec: Spec = []
    for i, (a, b) in enumerate(zip(dims, dims[1:])):
        if i:
            spec.append(["relu"])
        spec.append(["linear", int(a), int(b), bias])
    return spec


def simclr_projector(d: int, hidden: int | None = None, out: int = 128) -> Spec:
    """SimCLR projection MLP (seed 000 section 2.1): d -> d -> 128 with ReLU."""
    return linear_chain([d, hidden or d, out])


def simsiam_projector(d: int, out: int | None = None) -> Spec:
    """SimSiam's 3-layer projector with BatchNorm (facebookresearch/simsiam builder)."""
    out = out or d
    return [["linear", d, d, False], ["bn", d, True], ["relu"],
            ["linear", d, d, False], ["bn", d, True], ["relu"],
            ["linear", d, out, True], ["bn", out, False]]


def simsiam_predictor(dim: int, hidden: int | None = None) -> Spec:
    """SimSiam's bottleneck predictor: dim -> dim/4 (BN, ReLU) -> dim."""
    hidden = hidden or max(dim // 4, 1)
    return [["linear", dim, hidden, False], ["bn", hidden, True], ["relu"], ["linear", hidden, dim, True]]


def regression_spec(d: int, head_layers: int, num_joints: int, hidden: Sequence[int] | None = None) -> Spec:
    """1-, 2- or 3-layer head d -> [hidden] -> (J-1)*3 (seed 000 sections 4.1-4.3)."""
    if hidden is None:
        if head_layers not in REGRESSION_HIDDEN:
            raise InputError(f"head_layers {head_layers!r}: valid values are 1, 2, 3")
        hidden = REGRESSION_HIDDEN[head_layers]
    if num_joints < 2:
        raise InputError(f"num_joints {num_joints}: a pose head needs at least 2 joints")
    return linear_chain([d, *hidden, (num_joints - 1) * 3])


class PoseHead(nn.Module):
    """Optional input LayerNorm, training-time Gaussian feature noise, then the MLP.

    (N, d) encoder features -> (N, (J-1)*3) coordinates of every joint but the root.
    The noise (std ``noise_std``, after the LayerNorm) is added in training mode only.
    """

    def __init__(self, spec: Spec, layernorm: bool = False, noise_std: float = 0.0):
        super().__init__()
        spec = check_spec(spec, "pose head")
        d = spec_dims(spec)[0]
        self.norm = nn.LayerNorm(d) if layernorm else nn.Identity()
        self.layers = build_mlp(spec)
        self.noise_std = float(noise_std)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.norm(feats)
        if self.training and self.noise_std > 0:
            x = x + torch.randn_like(x) * self.noise_std
        return self.layers(x)
