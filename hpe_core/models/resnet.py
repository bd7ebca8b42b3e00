"""ResNets whose ``state_dict()`` keys and shapes are those of torchvision's.

torchvision itself is not used (its compiled ops do not load against every CPU build of torch),
so the architecture is written out here: ResNet v1.5 (stride on the 3x3 convolution of a
Bottleneck), BatchNorm eps 1e-5, the 7x7 stem with max pooling. ``width`` scales every channel
count (64 is torchvision's), so ``resnet18(width=8)`` is a tiny model for tests and the demo.

One forward pass can return the intermediate features::

    feats = model.forward_features(x, names=("conv1", "layer4", "pooled"))
    # conv1 (N, w, H/2, W/2) after bn1+relu, before max pooling; layerK (N, C_K, H/2^(K+1), ...);
    # pooled (N, d) with d = model.num_features
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from hpe_core.errors import InputError

STAGES = ("layer1", "layer2", "layer3", "layer4")
FEATURE_NAMES = ("conv1", *STAGES, "pooled")

# name -> (block kind, blocks per stage)
ARCHS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
}


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """A torchvision-compatible ResNet; ``num_classes=0`` leaves out ``fc`` (a headless encoder)."""

    def __init__(self, block: str, layers: Iterable[int], width: int = 64, in_channels: int = 3,
                 num_classes: int = 1000, zero_init_residual: bool = False):
        super().__init__()
        if width < 1 or in_channels < 1 or num_classes < 0:
            raise InputError(f"ResNet: width {width}, in_channels {in_channels} and num_classes "
                             f"{num_classes} must be positive (num_classes may be 0)")
        block_cls = BLOCKS[block]
        self.block_kind = block
        self.layers_per_stage = tuple(int(n) for n in layers)
        self.width = int(width)
        self.in_channels = int(in_channels)
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self._inplanes = width
        for i, count in enumerate(self.layers_per_stage):
            setattr(self, STAGES[i], self._make_stage(block_cls, width * 2**i, count, 1 if i == 0 else 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.num_features = width * 8 * block_cls.expansion
        self.num_classes = int(num_classes)
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()
        self._init_weights(zero_init_residual)

    def _make_stage(self, block_cls, planes: int, count: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self._inplanes != planes * block_cls.expansion:
            downsample = nn.Sequential(
                _conv1x1(self._inplanes, planes * block_cls.expansion, stride),
                nn.BatchNorm2d(planes * block_cls.expansion),
            )
        blocks = [block_cls(self._inplanes, planes, stride, downsample)]
        self._inplanes = planes * block_cls.expansion
        blocks += [block_cls(self._inplanes, planes) for _ in range(1, count)]
        return nn.Sequential(*blocks)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:  # each residual branch starts as zero, as torchvision offers
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def stage_channels(self) -> dict[str, int]:
        """Channels of each named feature: conv1, layer1..layer4, pooled."""
        exp = BLOCKS[self.block_kind].expansion
        dims = {"conv1": self.width}
        dims.update({name: self.width * 2**i * exp for i, name in enumerate(STAGES)})
        dims["pooled"] = self.num_features
        return dims

    def forward_features(self, x: torch.Tensor, names: Iterable[str] | None = None) -> dict[str, torch.Tensor]:
        """Run the network up to the deepest requested feature.

        x: (N, C, H, W). Returns {name: tensor} for ``names`` (default: all of FEATURE_NAMES).
        """
        wanted = tuple(FEATURE_NAMES if names is None else names)
        unknown = [n for n in wanted if n not in FEATURE_NAMES]
        if unknown:
            raise InputError(f"ResNet features {unknown}: valid names are {', '.join(FEATURE_NAMES)}")
        last = max(FEATURE_NAMES.index(n) for n in wanted) if wanted else -1
        out: dict[str, torch.Tensor] = {}
        if last < 0:
            return out
        x = self.relu(self.bn1(self.conv1(x)))
        if "conv1" in wanted:
            out["conv1"] = x
        x = self.maxpool(x)
        for i, name in enumerate(STAGES, start=1):
            if i > last:
                return out
            x = getattr(self, name)(x)
            if name in wanted:
                out[name] = x
        if "pooled" in wanted:
            out["pooled"] = torch.flatten(self.avgpool(x), 1)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> logits (N, num_classes), or pooled features (N, d) when headless."""
        return self.fc(self.forward_features(x, ("pooled",))["pooled"])


def build_resnet(arch: str, width: int = 64, in_channels: int = 3, num_classes: int = 1000,
                 zero_init_residual: bool = False) -> ResNet:
    """``arch`` one of resnet18/34/50/101; InputError otherwise."""
    if arch not in ARCHS:
        raise InputError(f"backbone {arch!r}: valid backbones are {', '.join(ARCHS)}")
    block, layers = ARCHS[arch]
    return ResNet(block, layers, width=width, in_channels=in_channels, num_classes=num_classes,
                  zero_init_residual=zero_init_residual)


def resnet18(width: int = 64, in_channels: int = 3, num_classes: int = 1000, **kw) -> ResNet:
    return build_resnet("resnet18", width, in_channels, num_classes, **kw)


def resnet34(width: int = 64, in_channels: int = 3, num_classes: int = 1000, **kw) -> ResNet:
    return build_resnet("resnet34", width, in_channels, num_classes, **kw)


def resnet50(width: int = 64, in_channels: int = 3, num_classes: int = 1000, **kw) -> ResNet:
    return build_resnet("resnet50", width, in_channels, num_classes, **kw)


def resnet101(width: int = 64, in_channels: int = 3, num_classes: int = 1000, **kw) -> ResNet:
    return build_resnet("resnet101", width, in_channels, num_classes, **kw)
