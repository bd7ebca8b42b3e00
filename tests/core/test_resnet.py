"""HPE Studio's ResNets are exchangeable with torchvision's.

torchvision cannot be imported here, so its architecture is written out twice, independently of
hpe_core: a generator of the exact state-dict keys and shapes of torchvision.models.resnetXX, and a
functional forward pass (F.conv2d / F.batch_norm on the state dict) following torchvision's
definitions, v1.5 stride placement included.
"""

import pytest
import torch
import torch.nn.functional as F

from hpe_core.errors import InputError
from hpe_core.models.resnet import build_resnet, resnet18, resnet50

TV = {"resnet18": ("basic", [2, 2, 2, 2]), "resnet34": ("basic", [3, 4, 6, 3]),
      "resnet50": ("bottleneck", [3, 4, 6, 3]), "resnet101": ("bottleneck", [3, 4, 23, 3])}
# torchvision.models.resnetXX().parameters() sizes, as published with the ImageNet weights
TV_PARAMETERS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
                 "resnet101": 44_549_160}


def torchvision_keys(arch: str, width: int = 64, num_classes: int = 1000) -> list[tuple[str, tuple]]:
    """[(key, shape)] of torchvision's ResNet state dict, in its order."""
    kind, counts = TV[arch]
    exp = 4 if kind == "bottleneck" else 1
    keys: list[tuple[str, tuple]] = []

    def bn(prefix, n):
        keys.extend((f"{prefix}.{p}", (n,)) for p in ("weight", "bias", "running_mean", "running_var"))
        keys.append((f"{prefix}.num_batches_tracked", ()))

    keys.append(("conv1.weight", (width, 3, 7, 7)))
    bn("bn1", width)
    inplanes = width
    for s, count in enumerate(counts):
        planes = width * 2**s
        for b in range(count):
            p = f"layer{s + 1}.{b}"
            if kind == "basic":
                keys.append((f"{p}.conv1.weight", (planes, inplanes, 3, 3)))
                bn(f"{p}.bn1", planes)
                keys.append((f"{p}.conv2.weight", (planes, planes, 3, 3)))
                bn(f"{p}.bn2", planes)
            else:
                keys.append((f"{p}.conv1.weight", (planes, inplanes, 1, 1)))
                bn(f"{p}.bn1", planes)
                keys.append((f"{p}.conv2.weight", (planes, planes, 3, 3)))
                bn(f"{p}.bn2", planes)
                keys.append((f"{p}.conv3.weight", (planes * 4, planes, 1, 1)))
                bn(f"{p}.bn3", planes * 4)
            if b == 0 and (s > 0 or inplanes != planes * exp):
                keys.append((f"{p}.downsample.0.weight", (planes * exp, inplanes, 1, 1)))
                bn(f"{p}.downsample.1", planes * exp)
            inplanes = planes * exp
    keys += [("fc.weight", (num_classes, inplanes)), ("fc.bias", (num_classes,))]
    return keys


def torchvision_forward(sd: dict, x: torch.Tensor, arch: str) -> torch.Tensor:
    """torchvision's ResNet.forward in eval mode, written on the state dict."""
    kind, counts = TV[arch]

    def bn(p, t):
        return F.batch_norm(t, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"],
                            sd[f"{p}.bias"], False, 0.0, 1e-5)

    x = F.max_pool2d(F.relu(bn("bn1", F.conv2d(x, sd["conv1.weight"], stride=2, padding=3))), 3, 2, 1)
    for s, count in enumerate(counts):
        for b in range(count):
            p, stride = f"layer{s + 1}.{b}", 2 if (b == 0 and s > 0) else 1
            if kind == "basic":
                out = F.relu(bn(f"{p}.bn1", F.conv2d(x, sd[f"{p}.conv1.weight"], stride=stride, padding=1)))
                out = bn(f"{p}.bn2", F.conv2d(out, sd[f"{p}.conv2.weight"], padding=1))
            else:  # v1.5: the stride sits on the 3x3 convolution
                out = F.relu(bn(f"{p}.bn1", F.conv2d(x, sd[f"{p}.conv1.weight"])))
                out = F.relu(bn(f"{p}.bn2", F.conv2d(out, sd[f"{p}.conv2.weight"], stride=stride, padding=1)))
                out = bn(f"{p}.bn3", F.conv2d(out, sd[f"{p}.conv3.weight"]))
            identity = x
            if f"{p}.downsample.0.weight" in sd:
                identity = bn(f"{p}.downsample.1", F.conv2d(x, sd[f"{p}.downsample.0.weight"], stride=stride))
            x = F.relu(out + identity)
    return x.mean(dim=(2, 3)) @ sd["fc.weight"].T + sd["fc.bias"]


def _randomised(net):
    from checkpoint_factories import randomise

    return randomise(net, 0)


@pytest.mark.parametrize("arch", list(TV))
def test_state_dict_keys_and_shapes_are_torchvision_s(arch):
    with torch.device("meta"):
        net = build_resnet(arch)
    ours = [(k, tuple(v.shape)) for k, v in net.state_dict().items()]
    assert ours == torchvision_keys(arch)
    assert sum(p.numel() for p in net.parameters()) == TV_PARAMETERS[arch]


@pytest.mark.parametrize("arch, count", [("resnet18", 122), ("resnet50", 320)])
def test_key_counts_match_torchvision(arch, count):
    assert len(torchvision_keys(arch)) == count


def test_resnet50_matches_the_seed_project_s_usage():
    """Seed 000: ResNet50 encoder features are 2048 wide (2048 -> 18*3 heads); conv1 is 64x3x7x7."""
    with torch.device("meta"):
        net = resnet50()
    assert net.num_features == 2048
    assert tuple(net.conv1.weight.shape) == (64, 3, 7, 7)
    assert tuple(net.fc.weight.shape) == (1000, 2048)
    assert net.stage_channels() == {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024,
                                    "layer4": 2048, "pooled": 2048}


@pytest.mark.parametrize("arch, width", [("resnet18", 4), ("resnet34", 2), ("resnet50", 4)])
def test_forward_equals_torchvision_reference(arch, width):
    net = _randomised(build_resnet(arch, width=width, num_classes=7))
    x = torch.randn(2, 3, 40, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = net(x)
        ref = torchvision_forward(net.state_dict(), x, arch)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("width", [2, 8])
def test_narrow_widths_scale_every_stage(width):
    net = resnet18(width=width, num_classes=0)
    feats = net.forward_features(torch.randn(1, 3, 64, 64))
    assert [tuple(f.shape[1:]) for f in feats.values()] == [
        (width, 32, 32), (width, 16, 16), (2 * width, 8, 8), (4 * width, 4, 4), (8 * width, 2, 2), (8 * width,)]
    assert net.num_features == 8 * width
    assert not any(k.startswith("fc.") for k in net.state_dict())


def test_forward_features_are_the_intermediate_activations():
    net = _randomised(resnet50(width=4))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = net.forward_features(x)
        stem = net.relu(net.bn1(net.conv1(x)))
        l1 = net.layer1(net.maxpool(stem))
        l4 = net.layer4(net.layer3(net.layer2(l1)))
    assert list(feats) == ["conv1", "layer1", "layer2", "layer3", "layer4", "pooled"]
    torch.testing.assert_close(feats["conv1"], stem)   # before max pooling
    torch.testing.assert_close(feats["layer1"], l1)
    torch.testing.assert_close(feats["pooled"], l4.mean(dim=(2, 3)))
    torch.testing.assert_close(net.fc(feats["pooled"]), net(x))


def test_forward_features_stops_at_the_deepest_name_asked():
    net = resnet18(width=4)
    calls = []
    net.layer3.register_forward_hook(lambda *a: calls.append("layer3"))
    out = net.forward_features(torch.randn(1, 3, 32, 32), names=("layer2", "conv1"))
    assert set(out) == {"conv1", "layer2"} and calls == []


def test_unknown_feature_name_is_an_input_error():
    with pytest.raises(InputError, match="layer5.*valid names"):
        resnet18(width=4).forward_features(torch.randn(1, 3, 32, 32), names=("layer5",))


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_channels_last_gives_the_same_features(arch):
    """Both memory layouts agree with a float64 forward pass to the accuracy float32 allows.

    A float32 dot product of length n is off by at most about sqrt(n) ulps of its largest partial
    sum for random-signed terms; contiguous and channels-last kernels sum in different orders, so
    each may legitimately sit anywhere in that band (one CPU's kernels differed by 2.7e-5 where
    another's agreed bit for bit). The band is derived from the dtype, the feature's magnitude and
    the longest reduction in the network, with a factor 4 of headroom; a misplaced channel would
    be off by the magnitude itself.
    """
    net = _randomised(build_resnet(arch, width=4, num_classes=5))
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    longest = max(m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                  for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    with torch.no_grad():
        ref = net.double().forward_features(x.double())
        net.float()
        contiguous = net.forward_features(x)
        net_cl = net.to(memory_format=torch.channels_last)
        out = net_cl.forward_features(x.contiguous(memory_format=torch.channels_last))
    eps = torch.finfo(torch.float32).eps
    for name in ref:
        bound = 4 * eps * float(ref[name].abs().max()) * longest ** 0.5
        for got in (contiguous[name], out[name]):
            assert got.dtype == torch.float32
            torch.testing.assert_close(got.double(), ref[name], rtol=0, atol=bound, msg=lambda m: f"{name}: {m}")


def test_zero_init_residual_zeroes_the_last_bn_of_each_block():
    net = resnet50(width=4, zero_init_residual=True)
    assert all(bool((b.bn3.weight == 0).all()) for stage in (net.layer1, net.layer4) for b in stage)
    assert bool((net.layer1[0].bn1.weight == 1).all())


@pytest.mark.parametrize("kwargs, message", [
    ({"arch": "resnet19"}, "valid backbones"),
    ({"arch": "resnet18", "width": 0}, "must be positive"),
])
def test_bad_arguments_are_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        build_resnet(**kwargs)
