"""The native checkpoint format: round trips, atomic writes, versions, fixtures, expectations."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from checkpoint_factories import randomise
from hpe_core.errors import CheckpointError, InputError, OutputError
from hpe_core.models import build_model, file_hash, inspect_checkpoint, load_checkpoint, save_checkpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
FAMILY_KW = {"resnet": {"num_classes": 5}, "simclr": {}, "simsiam": {}, "moco": {"proj_dim": 16},
             "regressor": {"head_layers": 3, "layernorm": True, "skeleton": "h36m17"}}


def _x(seed=0):
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
@pytest.mark.parametrize("family", list(FAMILY_KW))
def test_round_trip_is_bit_exact(tmp_path, family, suffix):
    model = randomise(build_model(family, "resnet18", width=2, **FAMILY_KW[family]), 3)
    path = save_checkpoint(tmp_path / f"m{suffix}", model, training={"epoch": 4, "lr": 0.01})
    loaded, info = load_checkpoint(path, expect_family=family, expect_backbone="resnet18")
    original, again = model.state_dict(), loaded.state_dict()
    assert list(again) == list(original)
    assert all(torch.equal(again[k], original[k]) and again[k].dtype == original[k].dtype for k in original)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model(_x()).values(), loaded(_x()).values()))
    assert loaded.config == model.config and not loaded.training
    assert (info.layout, info.format_version, info.training) == ("hpe-studio", 1, {"epoch": 4, "lr": 0.01})
    assert info.missing_keys == [] and info.unexpected_keys == []
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == file_hash(path)


def test_saved_file_is_plain_containers_loadable_with_weights_only(tmp_path):
    model = build_model("regressor", "resnet18", width=2)
    training = {"epoch": np.int64(2), "loss": np.float32(0.5), "hist": np.arange(3), "dir": tmp_path,
                "optimizer": torch.optim.Adam(model.head.parameters()).state_dict()}
    path = save_checkpoint(tmp_path / "r.pt", model, training=training)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "hpe-studio-checkpoint" and raw["format_version"] == 1
    assert raw["model"] == {"family": "regressor", "backbone": "resnet18", "config": model.config}
    assert raw["skeleton"] == "panoptic19" and isinstance(raw["created"], str)
    assert raw["training"]["epoch"] == 2 and raw["training"]["dir"] == str(tmp_path)
    assert torch.equal(raw["training"]["hist"], torch.arange(3))


def test_objects_that_would_need_pickling_are_refused_when_saving(tmp_path):
    model = build_model("simclr", "resnet18", width=2)
    with pytest.raises(InputError, match="training.when: a object cannot be stored"):
        save_checkpoint(tmp_path / "m.pt", model, training={"when": object()})
    with pytest.raises(InputError, match="save to a .pt file"):
        save_checkpoint(tmp_path / "m.safetensors", model, training={"t": torch.ones(2)})
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    model = build_model("simclr", "resnet18", width=2)
    path = save_checkpoint(tmp_path / "m.pt", model, training={"epoch": 1})
    before = path.read_bytes()

    def broken_save(obj, fh):
        fh.write(b"PK\x03\x04 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OutputError, match=f"{path}: cannot write .no space left on the device: the disk is full"):
        save_checkpoint(path, model, training={"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_the_final_name_appears_only_when_the_file_is_whole(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    real_save, seen = torch.save, []

    def watched_save(obj, fh):
        real_save(obj, fh)
        seen.append(sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")))

    monkeypatch.setattr(torch, "save", watched_save)
    save_checkpoint(path, build_model("simclr", "resnet18", width=2))
    assert seen == [[]] and path.is_file()  # written: not yet under its name (a temporary, or no name at all)


@pytest.mark.parametrize("name", ["native_v1_regressor.pt", "native_v1_regressor.safetensors"])
def test_version_1_fixture_still_loads_and_predicts_the_same(name):
    model, info = load_checkpoint(FIXTURES / name, expect_joints=19)
    probe = torch.load(FIXTURES / "native_v1_regressor.pt", weights_only=True)["extra"]
    with torch.no_grad():
        pose = model.predict_pose(probe["probe_input"])
    torch.testing.assert_close(pose, probe["probe_pose"], rtol=1e-5, atol=1e-4)
    assert (info.family, info.backbone, info.layout, info.format_version) == ("regressor", "resnet18", "hpe-studio", 1)
    assert info.heads["pose"] == {"dims": [16, 128, 54], "layers": "linear 16->128, relu, linear 128->54",
                                  "layernorm": True}
    assert (info.joints, info.skeleton, info.conv1_shape) == (19, "panoptic19", [2, 3, 7, 7])
    assert info.training["metrics"] == {"val_mpjpe": 123.5}


def _rewrite(src: Path, dst: Path, **changes) -> Path:
    raw = torch.load(src, weights_only=True)
    raw.update(changes)
    torch.save(raw, dst)
    return dst


def test_a_newer_format_version_says_so(tmp_path):
    path = _rewrite(FIXTURES / "native_v1_regressor.pt", tmp_path / "v2.pt", format_version=2)
    with pytest.raises(CheckpointError, match=r"v2.pt: made by a newer version of HPE Studio.*format_version 2"):
        load_checkpoint(path)


@pytest.mark.parametrize("version", [0, "one", None, 1.5])
def test_an_invalid_format_version_is_refused(tmp_path, version):
    path = _rewrite(FIXTURES / "native_v1_regressor.pt", tmp_path / "bad.pt", format_version=version)
    with pytest.raises(CheckpointError, match="bad.pt: format_version .* is not a valid checkpoint version"):
        inspect_checkpoint(path)


def test_a_native_file_with_a_tensor_of_the_wrong_shape_names_it(tmp_path):
    raw = torch.load(FIXTURES / "native_v1_regressor.pt", weights_only=True)
    raw["state_dict"]["head.layers.2.weight"] = torch.zeros(51, 128)
    torch.save(raw, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"'head.layers.2.weight' has shape \(51, 128\).*needs \(54, 128\)"):
        load_checkpoint(tmp_path / "shape.pt")


def test_missing_weights_are_reported_by_inspect_and_refused_by_load(tmp_path):
    raw = torch.load(FIXTURES / "native_v1_regressor.pt", weights_only=True)
    del raw["state_dict"]["encoder.layer3.1.conv2.weight"]
    raw["state_dict"]["encoder.extra.weight"] = torch.ones(1)
    torch.save(raw, tmp_path / "holes.pt")
    info = inspect_checkpoint(tmp_path / "holes.pt")
    assert info.missing_keys == ["encoder.layer3.1.conv2.weight"]
    assert info.unexpected_keys == ["encoder.extra.weight"]
    with pytest.raises(CheckpointError, match="1 tensor.*missing.*layer3.1.conv2.weight"):
        load_checkpoint(tmp_path / "holes.pt")


def test_inspect_matches_what_load_builds(tmp_path):
    model = build_model("simsiam", "resnet50", width=2)
    path = save_checkpoint(tmp_path / "s.pt", model)
    info = inspect_checkpoint(path)
    assert info.parameters == sum(p.numel() for p in model.parameters())
    assert info.feature_dims == model.feature_dims()
    assert info.heads["prediction"]["dims"] == [64, 16, 64]
    assert set(info.to_dict()) >= {"family", "backbone", "layout", "heads", "feature_dims", "conv1_shape",
                                   "parameters", "joints", "skeleton", "missing_keys", "unexpected_keys",
                                   "training", "path", "sha256"}


@pytest.mark.parametrize("kwargs, message", [
    ({"expect_backbone": "resnet50"}, "holds a resnet18 backbone, but a resnet50 was asked for"),
    ({"expect_family": "simsiam"}, "a regressor checkpoint, but a simsiam model was asked for"),
    ({"expect_joints": 17}, r"predicts 19 joints \(panoptic19\), but the dataset has 17"),
    ({"expect_backbone": "vgg"}, "valid backbones"),
])
def test_expectations_that_do_not_hold_name_the_file_and_the_mismatch(kwargs, message):
    with pytest.raises(InputError, match=message):
        load_checkpoint(FIXTURES / "native_v1_regressor.pt", **kwargs)


def test_a_model_without_pose_head_cannot_meet_a_joint_count(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", build_model("simclr", "resnet18", width=2))
    with pytest.raises(CheckpointError, match="c.pt: a simclr checkpoint has no pose head"):
        load_checkpoint(path, expect_joints=19)


def test_load_moves_the_model_to_the_device_asked():
    model, _ = load_checkpoint(FIXTURES / "native_v1_regressor.pt", device="auto")
    assert next(model.parameters()).device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="valid forms"):
        load_checkpoint(FIXTURES / "native_v1_regressor.pt", device="gpu0")


def test_loaded_tensors_are_real_and_keep_the_frozen_encoder_frozen(tmp_path):
    model, _ = load_checkpoint(FIXTURES / "native_v1_regressor.pt")
    assert not any(t.is_meta for t in model.state_dict().values())
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    assert isinstance(model.encoder.conv1.weight, torch.nn.Parameter)


def test_old_files_without_batchnorm_counters_load(tmp_path):
    raw = torch.load(FIXTURES / "native_v1_regressor.pt", weights_only=True)
    raw["state_dict"] = {k: v for k, v in raw["state_dict"].items() if not k.endswith("num_batches_tracked")}
    torch.save(raw, tmp_path / "old.pt")
    model, info = load_checkpoint(tmp_path / "old.pt")
    assert info.missing_keys == [] and int(model.encoder.bn1.num_batches_tracked) == 0
