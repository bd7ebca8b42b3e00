"""Every foreign layout is recognised from its keys and loads to the source's own outputs."""

import pytest
import torch

from checkpoint_factories import FACTORIES, torchvision
from hpe_core.errors import CheckpointError
from hpe_core.models import build_model, inspect_checkpoint, load_checkpoint
from hpe_core.models.layouts import parse_sequential, recognise, strip_wrappers

ARCHS = [("resnet18", 4), ("resnet50", 2)]


def _x():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(5))


@pytest.mark.parametrize("arch, width", ARCHS)
@pytest.mark.parametrize("name", list(FACTORIES))
def test_foreign_layout_loads_to_the_source_outputs(tmp_path, name, arch, width):
    src = FACTORIES[name](arch, width)
    path = tmp_path / f"{name}.pth"
    torch.save(src.obj, path)
    model, info = load_checkpoint(path)
    x = _x()
    with torch.no_grad():
        expected = src.outputs(x)
        got = model.features(x, list(expected))
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-5, msg=f"{name}: {key}")
    assert (info.family, info.backbone, info.layout) == (src.family, arch, src.layout)
    assert {k: v["dims"] for k, v in info.heads.items()} == src.heads
    assert info.conv1_shape == [width, 3, 7, 7]
    assert info.joints == src.joints
    assert info.missing_keys == [] and info.unexpected_keys == []
    for fragment in src.ignored:
        assert any(fragment in key for key in info.ignored_keys), (fragment, info.ignored_keys)


@pytest.mark.parametrize("name", ["seed-simsiam", "moco-v2", "lightly-simsiam", "seed-regressor-2"])
def test_inspect_reports_what_load_finds(tmp_path, name):
    src = FACTORIES[name]("resnet18", 4)
    torch.save(src.obj, tmp_path / "f.pth")
    info = inspect_checkpoint(tmp_path / "f.pth")
    _, loaded = load_checkpoint(tmp_path / "f.pth")
    assert {k: v for k, v in info.to_dict().items()} == loaded.to_dict()


def test_a_loaded_foreign_checkpoint_saves_as_native_and_reloads_identically(tmp_path):
    from hpe_core.models import save_checkpoint

    src = FACTORIES["facebook-simsiam"]("resnet18", 4)
    torch.save(src.obj, tmp_path / "fb.pth.tar")
    model, _ = load_checkpoint(tmp_path / "fb.pth.tar")
    again, info = load_checkpoint(save_checkpoint(tmp_path / "native.pt", model))
    assert info.layout == "hpe-studio" and info.family == "simsiam"
    with torch.no_grad():
        torch.testing.assert_close(again.features(_x(), ["prediction"]), model.features(_x(), ["prediction"]))


def test_seed_regressor_is_read_in_centimetres_and_reported_in_millimetres(tmp_path):
    src = FACTORIES["seed-regressor-2"]("resnet18", 4)
    torch.save(src.obj, tmp_path / "est.pth")
    model, info = load_checkpoint(tmp_path / "est.pth", expect_joints=19)
    assert model.config["pose_scale"] == 10.0 and info.skeleton == "panoptic19"
    assert any("centimetres" in note for note in info.notes)
    assert info.heads["pose"]["layernorm"] is True


def test_unknown_keys_next_to_a_backbone_are_reported_not_dropped_silently(tmp_path):
    sd = torchvision("resnet18", 4).obj
    sd["aux_head.weight"] = torch.zeros(3, 32)
    torch.save(sd, tmp_path / "aux.pth")
    _, info = load_checkpoint(tmp_path / "aux.pth")
    assert info.unexpected_keys == ["aux_head.weight"] and info.family == "resnet"


def test_safetensors_state_dict_without_metadata_is_recognised(tmp_path):
    from safetensors.torch import save_file

    src = FACTORIES["torchvision"]("resnet50", 2)
    save_file({k: v.contiguous() for k, v in src.obj.items()}, str(tmp_path / "tv.safetensors"))
    model, info = load_checkpoint(tmp_path / "tv.safetensors")
    assert (info.layout, info.backbone, info.heads["logits"]["dims"]) == ("torchvision", "resnet50", [64, 10])
    with torch.no_grad():
        torch.testing.assert_close(model.features(_x(), ["logits"])["logits"], src.outputs(_x())["logits"])


def test_half_precision_weights_load_into_float32(tmp_path):
    sd = {k: v.half() if v.is_floating_point() else v for k, v in torchvision("resnet18", 4).obj.items()}
    torch.save(sd, tmp_path / "half.pth")
    model, info = load_checkpoint(tmp_path / "half.pth")
    assert info.dtype == "float16" and next(model.parameters()).dtype == torch.float32


@pytest.mark.parametrize("family, kwargs, layout", [
    ("regressor", {"layernorm": True}, "hpe-studio-state-dict"),
    ("simsiam", {}, "hpe-studio-state-dict"),
    ("resnet", {"num_classes": 6}, "encoder"),
])
def test_raw_hpe_state_dict_is_recognised(family, kwargs, layout):
    model = build_model(family, "resnet18", width=4, **kwargs)
    rec = recognise(model.state_dict())
    assert (rec.layout, rec.family) == (layout, family)
    assert set(rec.state_dict) == set(model.state_dict())
    rebuilt = build_model(rec.family, rec.backbone, **rec.config).config
    assert {k: v for k, v in rebuilt.items() if k != "encoder_family"} == \
        {k: v for k, v in model.config.items() if k != "encoder_family"}  # a bare state dict cannot tell it


@pytest.mark.parametrize("keys, spec", [
    ({"0.weight": (8, 4), "0.bias": (8,), "2.weight": (3, 8), "2.bias": (3,)},
     [["linear", 4, 8, True], ["relu"], ["linear", 8, 3, True]]),
    ({"0.weight": (8, 4), "1.running_mean": (8,), "1.running_var": (8,), "3.weight": (2, 8)},
     [["linear", 4, 8, False], ["bn", 8, False], ["relu"], ["linear", 8, 2, False]]),
    ({"0.weight": (4,), "0.bias": (4,), "1.weight": (6, 4), "1.bias": (6,)},
     [["ln", 4], ["linear", 4, 6, True]]),
])
def test_sequential_heads_are_described_from_shapes(keys, spec):
    assert parse_sequential({k: torch.zeros(s) for k, s in keys.items()}, "head") == spec


@pytest.mark.parametrize("keys, message", [
    ({"0.weight": (8, 4), "1.weight": (3, 9)}, "expects 9 inputs but receives 8"),
    ({"0.conv.weight": (8, 4)}, "is not '<index>.<parameter>'"),
    ({"0.weight": (8, 4, 3, 3)}, "is not a Linear, BatchNorm or LayerNorm"),
])
def test_malformed_heads_are_checkpoint_errors(keys, message):
    with pytest.raises(CheckpointError, match=message):
        parse_sequential({k: torch.zeros(s) for k, s in keys.items()}, "head")


def test_module_prefixes_are_stripped_at_any_depth():
    out, notes = strip_wrappers({"module.encoder_q.conv1.weight": torch.zeros(1),
                                 "model._orig_mod.fc.weight": torch.zeros(1)})
    assert set(out) == {"encoder_q.conv1.weight", "model.fc.weight"} and notes


@pytest.mark.parametrize("mutate, message", [
    (lambda sd: {k: v for k, v in sd.items() if not k.startswith("layer")}, "holds no ResNet backbone"),
    (lambda sd: {**sd, "conv1.weight": torch.zeros(4, 3, 3, 3)}, "CIFAR-style stem"),
    (lambda sd: {k: v for k, v in sd.items() if not k.startswith("layer3.1.")}, r"\[2, 2, 1, 2\] blocks"),
    (lambda sd: {**{k: v for k, v in sd.items() if not k.startswith("fc.")}, "fc.weird.weight": torch.zeros(2, 32),
                 "predictor.0.weight": torch.zeros(8, 32)}, "prediction head but no projection head"),
])
def test_state_dicts_that_are_not_a_known_resnet_are_refused(tmp_path, mutate, message):
    torch.save(mutate(torchvision("resnet18", 4).obj), tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match="odd.pth: .*" + message):
        load_checkpoint(tmp_path / "odd.pth")


def test_the_dataparallel_stand_in_has_nn_dataparallel_s_keys():
    from checkpoint_factories import DataParallelKeys

    inner = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    assert list(DataParallelKeys(inner).state_dict()) == list(torch.nn.DataParallel(inner).state_dict())
