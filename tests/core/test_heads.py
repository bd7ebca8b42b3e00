"""Projection / prediction / pose heads and the HPEModel families built on them (seed 000)."""

import pytest
import torch
import torch.nn.functional as F

from hpe_core.errors import InputError
from hpe_core.models import build_model, regressor_from
from hpe_core.models import heads

D = 32  # resnet18 at width 4


def _x(n=3, seed=0):
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("layers, dims", [(1, [D, 54]), (2, [D, 128, 54]), (3, [D, 512, 128, 54])])
def test_regression_heads_have_the_seed_report_s_sizes(layers, dims):
    """Seed 000 4.1-4.3: d -> 18*3, d -> 128 -> 18*3, d -> 512 -> 128 -> 18*3 (19 joints, root not predicted)."""
    spec = heads.regression_spec(D, layers, 19)
    assert heads.spec_dims(spec) == dims
    assert [layer[0] for layer in spec].count("relu") == layers - 1
    model = build_model("regressor", "resnet18", width=4, head_layers=layers)
    linears = [m for m in model.head.layers if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == list(zip(dims, dims[1:]))


def test_simclr_projector_is_d_d_128_with_relu():
    model = build_model("simclr", "resnet18", width=4).eval()
    lin1, relu, lin2 = model.projector
    assert (lin1.in_features, lin1.out_features, lin2.out_features) == (D, D, 128)
    h = torch.randn(5, D)
    ref = F.relu(h @ lin1.weight.T + lin1.bias) @ lin2.weight.T + lin2.bias
    torch.testing.assert_close(model.projector(h), ref)


def test_simsiam_projector_has_batchnorm_and_the_predictor_a_bottleneck():
    model = build_model("simsiam", "resnet50", width=2)  # d = 64
    kinds = [type(m).__name__ for m in model.projector]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear", "BatchNorm1d"]
    assert model.projector[-1].affine is False
    assert heads.spec_dims(model.config["predictor"]) == [64, 16, 64]


def test_layernorm_and_noise_of_the_pose_head():
    head = heads.PoseHead([["linear", 6, 6, False]], layernorm=True, noise_std=0.5)
    with torch.no_grad():
        head.layers[0].weight.copy_(torch.eye(6))
    feats = torch.randn(20000, 6) * 7 + 3
    normed = F.layer_norm(feats, (6,))
    torch.testing.assert_close(head.eval()(feats), normed)            # no noise at evaluation
    torch.manual_seed(0)
    with torch.no_grad():
        noise = head.train()(feats) - normed
    assert abs(float(noise.std()) - 0.5) < 0.01 and abs(float(noise.mean())) < 0.01


def test_predict_pose_inserts_the_root_at_the_origin_reference_loop():
    model = build_model("regressor", "resnet18", width=4, skeleton=None, num_joints=5, root_index=2,
                        head_layers=1, pose_scale=10.0).eval()
    x = _x()
    with torch.no_grad():
        pose = model.predict_pose(x)
        raw = model.head(model.features(x, ["encoder"])["encoder"]) * 10.0
    assert pose.shape == (3, 5, 3)
    for n in range(3):
        predicted = iter(raw[n].reshape(4, 3))
        for j in range(5):
            expected = torch.zeros(3) if j == 2 else next(predicted)
            torch.testing.assert_close(pose[n, j], expected)
    torch.testing.assert_close(model.features(x, ["pose"])["pose"], pose.flatten(1))


def test_panoptic_root_is_the_neck():
    model = build_model("regressor", "resnet18", width=4).eval()
    with torch.no_grad():
        pose = model.predict_pose(_x())
    assert model.skeleton == "panoptic19" and model.num_joints == 19
    assert bool((pose[:, 0] == 0).all()) and bool((pose[:, 1:].abs().sum(-1) > 0).all())


def test_frozen_encoder_keeps_weights_and_statistics_while_the_head_learns():
    model = build_model("regressor", "resnet18", width=4, head_layers=2).train()
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    loss = model.predict_pose(_x(4)).pow(2).mean()
    loss.backward()
    opt.step()
    assert not model.encoder.training and model.head.training
    assert all(torch.equal(before[k], v) for k, v in model.encoder.state_dict().items())
    assert all(p.grad is None for p in model.encoder.parameters())
    assert model.head.layers[0].weight.grad is not None


def test_regressor_from_copies_the_encoder():
    simclr = build_model("simclr", "resnet18", width=4).eval()
    reg = regressor_from(simclr, head_layers=3)
    assert reg.config["encoder_family"] == "simclr" and reg.config["head_layers"] == 3
    x = _x()
    with torch.no_grad():
        torch.testing.assert_close(reg.features(x, ["encoder"])["encoder"], simclr.features(x, ["encoder"])["encoder"])


@pytest.mark.parametrize("family, outputs", [
    ("resnet", ("logits",)), ("simclr", ("projection",)), ("moco", ("projection",)),
    ("simsiam", ("projection", "prediction")), ("regressor", ("pose",))])
def test_every_family_offers_its_features_with_the_dims_it_announces(family, outputs):
    model = build_model(family, "resnet18", width=4).eval()
    assert model.feature_names == ("conv1", "layer1", "layer2", "layer3", "layer4", "encoder", *outputs)
    with torch.no_grad():
        feats = model.features(_x())
        maps = model.features(_x(), ["layer2", "conv1"], pooled=False)
    dims = model.feature_dims()
    assert {k: v.shape for k, v in feats.items()} == {k: (3, dims[k]) for k in model.feature_names}
    assert list(maps) == ["layer2", "conv1"] and maps["conv1"].shape == (3, 4, 16, 16)
    torch.testing.assert_close(feats["layer2"], maps["layer2"].mean(dim=(2, 3)))
    assert set(model(_x())) == {"encoder", *outputs}
    assert model.has_pose_head == (family == "regressor")


@pytest.mark.parametrize("family", ["resnet", "simclr", "simsiam", "moco", "regressor"])
def test_config_rebuilds_the_same_model(family):
    model = build_model(family, "resnet50", width=2, **({"head_layers": 1, "layernorm": True}
                                                        if family == "regressor" else {}))
    again = build_model(**model.config)
    assert again.config == model.config
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_predict_pose_without_a_head_says_so():
    with pytest.raises(InputError, match="no pose head"):
        build_model("simclr", "resnet18", width=4).predict_pose(_x())


@pytest.mark.parametrize("call, message", [
    (lambda: build_model("byol"), "valid families"),
    (lambda: build_model("simclr", "vgg16"), "valid backbones"),
    (lambda: build_model("simclr", proj_dimm=3), "unknown option.*proj_dimm"),
    (lambda: build_model("regressor", num_joints=17), "disagrees with skeleton panoptic19"),
    (lambda: build_model("regressor", head_layers=4), "head_layers"),
    (lambda: build_model("regressor", skeleton="h37m"), "unknown skeleton"),
    (lambda: build_model("simclr", "resnet18", width=4, projector=[["linear", 31, 8, True]]), "32 inputs"),
    (lambda: heads.check_spec([["linear", 4, 8, True], ["linear", 9, 2, True]]), "expects 9 inputs"),
    (lambda: heads.check_spec([["conv", 3]]), "not one of"),
    (lambda: build_model("simclr", width=4).features(_x(), ["prediction"]), "not offered"),
])
def test_bad_model_arguments_are_input_errors(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_supervised_is_an_alias_of_the_plain_resnet_family():
    model = build_model("supervised", "resnet18", width=4, num_classes=0)
    assert model.family == "resnet" and model.feature_names[-1] == "encoder"
