"""Generators of foreign checkpoint layouts at tiny widths, in their source arrangement.

Each factory builds the model the way the foreign code base does (the same module tree, so the
same state-dict keys), randomises every weight and BatchNorm statistic, and returns a
:class:`Source`: the object that code base would ``torch.save``, a function giving the outputs of
the source arrangement in HPE Studio's feature names, and what the loader should report.
The ResNets are HPE Studio's own (their torchvision equivalence is tested in test_resnet.py).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from hpe_core.models.resnet import build_resnet


@dataclass
class Source:
    obj: Any                                   # what the foreign code saves
    outputs: Callable[[torch.Tensor], dict]    # x -> {feature name: expected tensor}
    family: str
    layout: str
    heads: dict[str, list[int]] = field(default_factory=dict)  # head name -> dims
    ignored: tuple[str, ...] = ()              # key fragments expected among ignored keys
    joints: int | None = None


def randomise(module: nn.Module, seed: int) -> nn.Module:
    """Random weights and BN statistics, so a misplaced tensor changes the outputs; eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=gen))
            elif tensor.ndim == 1:
                tensor.copy_(0.2 * torch.randn(tensor.shape, generator=gen) + (1.0 if name.endswith("weight") else 0.0))
            else:
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
    return module.eval()


def _resnet(arch: str, width: int, num_classes: int = 0) -> nn.Module:
    return build_resnet(arch, width=width, num_classes=num_classes)


def _d(arch: str, width: int) -> int:
    return width * 8 * (4 if arch in ("resnet50", "resnet101") else 1)


def fb_projector(d: int, out: int, hidden: int | None = None) -> nn.Sequential:
    """facebookresearch/simsiam builder's encoder.fc (and the seed's base.fc.proj)."""
    h = hidden or d
    return nn.Sequential(nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(inplace=True),
                         nn.Linear(h, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(inplace=True),
                         nn.Linear(h, out), nn.BatchNorm1d(out, affine=False))


def fb_predictor(dim: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, dim))


class DataParallelKeys(nn.Module):
    """Holds ``module`` as nn.DataParallel does, so its state dict has the same 'module.' keys.

    (nn.DataParallel itself moves the model to a GPU when there is one; the tests stay on CPU.)
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, *args):
        return self.module(*args)


def _pooled(resnet: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return resnet.forward_features(x, ("pooled",))["pooled"]


# --- torchvision ------------------------------------------------------------------------------
def torchvision(arch: str, width: int, num_classes: int = 10, wrapper: str | None = None) -> Source:
    """torchvision.models.resnetXX(num_classes=...).state_dict(), optionally {wrapper: sd}."""
    net = randomise(_resnet(arch, width, num_classes), 1)
    sd = net.state_dict()
    obj = {wrapper: sd, "epoch": 7} if wrapper else sd
    outputs = (lambda x: {"encoder": _pooled(net, x), "logits": net(x)}) if num_classes else \
        (lambda x: {"encoder": net(x)})
    heads = {"logits": [_d(arch, width), num_classes]} if num_classes else {}
    return Source(obj, outputs, "resnet", "torchvision", heads)


# --- the seed project (saved from nn.DataParallel) ----------------------------------------------
class _SeedSimCLRHead(nn.Module):
    def __init__(self, d: int, out: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, out))

    def forward(self, x):
        return self.layers(x)


def seed_simclr(arch: str, width: int) -> Source:
    d = _d(arch, width)
    net = _resnet(arch, width)
    net.fc = _SeedSimCLRHead(d, 128)
    net = randomise(net, 2)
    dp = DataParallelKeys(net)
    return Source(dp.state_dict(), lambda x: {"encoder": _pooled(net, x), "projection": dp(x)},
                  "simclr", "seed-simclr", {"projection": [d, d, 128]})


class _SeedSimSiamFC(nn.Module):
    def __init__(self, d: int, out: int):
        super().__init__()
        self.proj = fb_projector(d, out)

    def forward(self, x):
        return self.proj(x)


class _SeedSimSiam(nn.Module):
    def __init__(self, arch: str, width: int, out: int, hidden: int):
        super().__init__()
        self.base = _resnet(arch, width)
        self.base.fc = _SeedSimSiamFC(_d(arch, width), out)
        self.predictor = fb_predictor(out, hidden)

    def forward(self, x):
        z = self.base(x)
        return z, self.predictor(z)


def seed_simsiam(arch: str, width: int) -> Source:
    d = _d(arch, width)
    model = randomise(_SeedSimSiam(arch, width, d, d // 4), 3)
    dp = DataParallelKeys(model)

    def outputs(x):
        z, p = dp(x)
        return {"encoder": _pooled(model.base, x), "projection": z, "prediction": p}

    return Source(dp.state_dict(), outputs, "simsiam", "seed-simsiam",
                  {"projection": [d, d, d, d], "prediction": [d, d // 4, d]})


class _SeedEstimatorHead(nn.Module):
    """fc of the seed's regression Estimator: LayerNorm, then named linear layers."""

    def __init__(self, d: int, hidden: list[int], joints: int, layernorm: bool):
        super().__init__()
        if layernorm:
            self.LN = nn.LayerNorm(d)
        dims = [d, *hidden, (joints - 1) * 3]
        layers: list[tuple[str, nn.Module]] = []
        for i, (a, b) in enumerate(zip(dims, dims[1:]), start=1):
            if i > 1:
                layers.append((f"relu{i - 1}", nn.ReLU()))
            layers.append((f"linear{i}", nn.Linear(a, b)))
        self.layers = nn.Sequential(OrderedDict(layers))

    def forward(self, x):
        return self.layers(self.LN(x) if hasattr(self, "LN") else x)


def seed_regressor(arch: str, width: int, head_layers: int = 2, layernorm: bool = True) -> Source:
    d = _d(arch, width)
    hidden = {1: [], 2: [128], 3: [512, 128]}[head_layers]
    net = _resnet(arch, width)
    net.fc = _SeedEstimatorHead(d, hidden, 19, layernorm)
    net = randomise(net, 4)
    dp = DataParallelKeys(net)

    def outputs(x):  # centimetres, root (Neck, joint 0) not predicted -> mm with a zero root row
        flat = dp(x) * 10.0
        return {"encoder": _pooled(net, x), "pose": torch.cat([flat.new_zeros(len(flat), 3), flat], 1)}

    return Source(dp.state_dict(), outputs, "regressor", "seed-regressor",
                  {"pose": [d, *hidden, 54]}, joints=19)


class _MoCo(nn.Module):
    """facebookresearch/moco builder: query / key encoders whose fc is the projection."""

    def __init__(self, arch: str, width: int, dim: int, mlp: bool, queue: int = 16):
        super().__init__()
        d = _d(arch, width)
        self.encoder_q, self.encoder_k = _resnet(arch, width, dim), _resnet(arch, width, dim)
        if mlp:
            self.encoder_q.fc = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, dim))
            self.encoder_k.fc = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, dim))
        self.register_buffer("queue", torch.randn(dim, queue))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))


def moco(arch: str, width: int, mlp: bool = True) -> Source:
    d = _d(arch, width)
    model = randomise(_MoCo(arch, width, 16, mlp), 5)
    dp = DataParallelKeys(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    obj = {"epoch": 200, "arch": arch, "state_dict": dp.state_dict(), "optimizer": opt.state_dict()}
    enc = model.encoder_q
    return Source(obj, lambda x: {"encoder": _pooled(enc, x), "projection": enc(x)}, "moco", "moco",
                  {"projection": [d, d, 16] if mlp else [d, 16]}, ignored=("encoder_k", "queue"))


# --- facebookresearch/simsiam -------------------------------------------------------------------
class _FBSimSiam(nn.Module):
    def __init__(self, arch: str, width: int, dim: int, pred_dim: int):
        super().__init__()
        self.encoder = _resnet(arch, width, dim)
        d = self.encoder.fc.weight.shape[1]
        self.encoder.fc = fb_projector(d, dim)
        self.predictor = fb_predictor(dim, pred_dim)


def facebook_simsiam(arch: str, width: int) -> Source:
    d = _d(arch, width)
    model = randomise(_FBSimSiam(arch, width, 32, 8), 6)
    dp = DataParallelKeys(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    obj = {"epoch": 100, "arch": arch, "state_dict": dp.state_dict(), "optimizer": opt.state_dict()}

    def outputs(x):
        z = model.encoder(x)
        return {"encoder": _pooled(model.encoder, x), "projection": z, "prediction": model.predictor(z)}

    return Source(obj, outputs, "simsiam", "facebook-simsiam",
                  {"projection": [d, d, d, 32], "prediction": [32, 8, 32]})


# --- solo-learn (PyTorch Lightning) and lightly --------------------------------------------------
class _Solo(nn.Module):
    def __init__(self, arch: str, width: int, method: str):
        super().__init__()
        d = _d(arch, width)
        self.backbone = _resnet(arch, width)   # solo-learn sets backbone.fc = nn.Identity()
        self.classifier = nn.Linear(d, 10)      # the online linear probe
        if method == "simclr":
            self.projector = nn.Sequential(nn.Linear(d, 24), nn.ReLU(), nn.Linear(24, 12))
        else:
            self.projector = fb_projector(d, 12, hidden=24)
            self.predictor = fb_predictor(12, 6)


def solo_learn(arch: str, width: int, method: str = "simsiam") -> Source:
    d = _d(arch, width)
    model = randomise(_Solo(arch, width, method), 7)
    obj = {"epoch": 399, "global_step": 1234, "pytorch-lightning_version": "1.9.0",
           "state_dict": model.state_dict(), "hyper_parameters": {"cfg": {"method": method}},
           "callbacks": {}, "lr_schedulers": [], "optimizer_states": []}

    def outputs(x):
        h = model.backbone(x)
        out = {"encoder": h, "projection": model.projector(h)}
        if method == "simsiam":
            out["prediction"] = model.predictor(out["projection"])
        return out

    heads = {"projection": [d, 24, 12]} if method == "simclr" else \
        {"projection": [d, 24, 24, 12], "prediction": [12, 6, 12]}
    return Source(obj, outputs, method, "solo-learn", heads, ignored=("classifier",))


class _LightlyHead(nn.Module):
    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


def lightly(arch: str, width: int, method: str = "simclr") -> Source:
    d = _d(arch, width)
    model = nn.Module()
    model.backbone = nn.Sequential(*list(_resnet(arch, width, 10).children())[:-1])
    if method == "simclr":
        model.projection_head = _LightlyHead(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 16))
        heads = {"projection": [d, d, 16]}
    else:
        model.projection_head = _LightlyHead(
            nn.Linear(d, 20, bias=False), nn.BatchNorm1d(20), nn.ReLU(), nn.Linear(20, 20, bias=False),
            nn.BatchNorm1d(20), nn.ReLU(), nn.Linear(20, 16, bias=False), nn.BatchNorm1d(16))
        model.prediction_head = _LightlyHead(nn.Linear(16, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(),
                                             nn.Linear(4, 16))
        heads = {"projection": [d, 20, 20, 16], "prediction": [16, 4, 16]}
    randomise(model, 8)

    def outputs(x):
        h = model.backbone(x).flatten(1)
        out = {"encoder": h, "projection": model.projection_head(h)}
        if method == "simsiam":
            out["prediction"] = model.prediction_head(out["projection"])
        return out

    return Source(model.state_dict(), outputs, method, "lightly", heads)


FACTORIES: dict[str, Callable[..., Source]] = {
    "torchvision": torchvision,
    "torchvision-headless": lambda arch, width: torchvision(arch, width, num_classes=0),
    "torchvision-in-model": lambda arch, width: torchvision(arch, width, wrapper="model"),
    "seed-simclr": seed_simclr,
    "seed-simsiam": seed_simsiam,
    "seed-regressor-1": lambda arch, width: seed_regressor(arch, width, 1, layernorm=False),
    "seed-regressor-2": lambda arch, width: seed_regressor(arch, width, 2),
    "seed-regressor-3": lambda arch, width: seed_regressor(arch, width, 3),
    "moco-v1": lambda arch, width: moco(arch, width, mlp=False),
    "moco-v2": moco,
    "facebook-simsiam": facebook_simsiam,
    "solo-learn-simclr": lambda arch, width: solo_learn(arch, width, "simclr"),
    "solo-learn-simsiam": solo_learn,
    "lightly-simclr": lightly,
    "lightly-simsiam": lambda arch, width: lightly(arch, width, "simsiam"),
}
