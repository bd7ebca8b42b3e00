"""The model families table: declarations, building, predicting, recognising, v1 fixtures,
and that a new family needs only its module and its table entry."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from predict_helpers import run_predict
from checkpoint_factories import randomise
from hpe_core.errors import CheckpointError, InputError
from hpe_core.models import build_model, load_checkpoint, save_checkpoint
from hpe_core.models.families import (FAMILIES, INPUTS, OUTPUTS, Family, canonical_family, family_of,
                                      predicts_pose)
from hpe_core.predictions import Prediction

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
OPTIONS = {"resnet": {"num_classes": 5}, "simclr": {"proj_dim": 16}, "simsiam": {"proj_dim": 16},
           "moco": {"proj_dim": 8}, "regressor": {"head_layers": 2, "skeleton": "h36m17"}}


def _x(n=3, seed=0):
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_the_table_holds_the_seed_000_families_with_valid_declarations():
    seed000 = {name: cls for name, cls in FAMILIES.items() if cls.seed == "000"}
    assert list(seed000) == ["resnet", "simclr", "simsiam", "moco", "regressor"]
    for name, cls in seed000.items():
        assert issubclass(cls, Family) and cls.name == name and cls.seed == "000"
        assert cls.inputs == {"image"} and cls.inputs <= INPUTS and cls.outputs <= OUTPUTS
        assert "encoder" in cls.feature_names and "conv1" in cls.feature_names
    assert FAMILIES["regressor"].outputs == {"pose3d"}
    assert FAMILIES["simsiam"].outputs == {"embeddings", "projection", "prediction"}
    assert canonical_family("Supervised") == canonical_family("plain") == "resnet"
    with pytest.raises(InputError, match="valid families are resnet, simclr, simsiam, moco, regressor, vae_lifter"):
        canonical_family("vae")


def test_a_declaration_outside_the_vocabulary_is_refused_at_class_creation():
    with pytest.raises(TypeError, match="unknown inputs/outputs"):
        type("Bad", (Family,), {"name": "bad", "outputs": frozenset({"pose4d"})})


@pytest.mark.parametrize("name", list(OPTIONS))
def test_resolve_then_build_is_build_model_and_offers_a_subset_of_the_declared_features(name):
    cls = FAMILIES[name]
    config = cls.resolve("resnet18", {"width": 2, **OPTIONS[name]})
    model = cls.build(config)
    reference = build_model(name, "resnet18", width=2, **OPTIONS[name])
    assert config == reference.config == model.config and config["family"] == name
    assert list(model.state_dict()) == list(reference.state_dict())
    assert set(model.feature_names) <= set(cls.feature_names)
    assert family_of(model) is cls and predicts_pose(model) == ("pose3d" in cls.outputs)


def test_regressor_predict_is_its_root_relative_pose():
    model = randomise(build_model("regressor", "resnet18", width=2, **OPTIONS["regressor"]), 1)
    with torch.no_grad():
        pred = FAMILIES["regressor"].predict(model, {"image": _x()})
        want = model.predict_pose(_x()).numpy()
    assert isinstance(pred, Prediction) and pred.present == ("joints_3d",)
    assert pred.frame == "root_relative" and pred.skeleton == "h36m17"
    assert np.array_equal(pred.joints_3d, want) and pred.joints_3d.shape == (3, 17, 3)
    assert np.all(pred.joints_3d[:, 0] == 0)  # h36m17's root (pelvis) row


@pytest.mark.parametrize("name", ["resnet", "simclr", "simsiam", "moco"])
def test_encoder_families_predict_their_image_embeddings(name):
    model = randomise(build_model(name, "resnet18", width=2, **OPTIONS[name]), 2)
    with torch.no_grad():
        pred = FAMILIES[name].predict(model, {"image": _x()})
        want = model.features(_x(), ("encoder",))["encoder"].numpy()
    assert pred.present == ("embeddings",) and list(pred.embeddings) == ["image"]
    assert np.array_equal(pred.embeddings["image"], want) and pred.embeddings["image"].shape == (3, 16)


def test_the_five_families_share_one_recogniser_and_a_foreign_file_is_still_refused_by_it(tmp_path):
    assert len({cls.recognise for cls in FAMILIES.values() if cls.seed == "000"}) == 1
    path = tmp_path / "mlp.pt"
    torch.save({"linear.weight": torch.ones(2, 2)}, path)
    with pytest.raises(CheckpointError, match="holds no ResNet backbone"):
        load_checkpoint(path)


@pytest.mark.parametrize("family", ["resnet", "simclr", "simsiam", "moco"])
def test_version_1_fixtures_written_before_the_move_give_the_same_features(family):
    """Written by the pre-families code (make_fixtures.py run on that tree)."""
    model, info = load_checkpoint(FIXTURES / f"native_v1_{family}.pt", expect_family=family)
    extra = torch.load(FIXTURES / f"native_v1_{family}.pt", weights_only=True)["extra"]
    assert info.format_version == 1 and info.family == family and info.missing_keys == []
    with torch.no_grad():
        got = model.features(extra["probe_input"])
    assert list(got) == list(extra["probe_features"])
    for name, value in extra["probe_features"].items():
        assert torch.equal(got[name], value), name


# ------------------------------------------------------------------ a new family, from outside
class ToyLifter(nn.Module):
    """A 2D -> 3D MLP: enough of a model for the checkpoint machinery."""

    def __init__(self, config):
        super().__init__()
        self.config, self.family = dict(config), "toylift"
        self.num_joints, self.skeleton = config["num_joints"], None
        self.mlp = nn.Linear(config["num_joints"] * 2, config["num_joints"] * 3)


class ToyLifterFamily(Family):
    name = "toylift"
    seed = "001"
    inputs = frozenset({"pose2d"})
    outputs = frozenset({"pose3d"})
    feature_names = ()

    @classmethod
    def resolve(cls, backbone, options):
        return {"family": cls.name, "backbone": None, "num_joints": int(options.get("num_joints", 4))}

    @classmethod
    def build(cls, config):
        return ToyLifter(config)

    @classmethod
    def predict(cls, model, batch):
        x = torch.nan_to_num(batch["joints_2d"]) / 100.0
        out = model.mlp(x.flatten(1)).reshape(len(x), -1, 3)
        return Prediction(joints_3d=out.detach().float().cpu().numpy(), frame="canonical")


def test_a_new_family_is_its_class_plus_one_table_entry(tmp_path, monkeypatch):
    monkeypatch.setitem(FAMILIES, "toylift", ToyLifterFamily)
    model = build_model("toylift", None, num_joints=5)
    assert isinstance(model, ToyLifter) and predicts_pose(model)
    path = save_checkpoint(tmp_path / "toy.pt", model, training={"epoch": 1})
    loaded, info = load_checkpoint(path, expect_family="toylift", expect_joints=5)
    assert info.family == "toylift" and info.backbone is None and info.joints == 5
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    x = torch.randn(2, 5, 2)
    pred = family_of(loaded).predict(loaded, {"joints_2d": x})
    assert pred.joints_3d.shape == (2, 5, 3) and pred.frame == "canonical"


def test_the_predictor_runs_a_new_pose2d_family_on_dataset_columns(tmp_path, monkeypatch):
    from hpe_core.datasets import open_dataset
    from hpe_core.inference.evaluate import score_prediction
    from hpe_core.inference import Predictor

    monkeypatch.setitem(FAMILIES, "toylift", ToyLifterFamily)
    path = save_checkpoint(tmp_path / "toy.pt", randomise(build_model("toylift", None, num_joints=19), 4))
    ds = open_dataset(Path(__file__).resolve().parents[1] / "fixtures" / "datasets" / "native_v1")
    predictor = Predictor(path, "cpu", batch_size=3)
    frames = []
    run = run_predict(predictor, ds, on_batch=lambda batch: frames.extend(batch.indices.tolist()))
    model, _ = load_checkpoint(path)
    with torch.no_grad():
        want = ToyLifterFamily.predict(model, {"joints_2d": torch.tensor(ds.joints_2d)})
    pred = run.prediction
    assert frames == list(range(len(ds))) and np.array_equal(pred.index, np.arange(len(ds)))
    assert pred.frame == "canonical" and np.allclose(pred.joints_3d, want.joints_3d, atol=1e-6)
    assert score_prediction(pred, ds)["samples"] == len(ds)
    with pytest.raises(InputError, match="has no 2D joints"):
        run_predict(predictor, _no_2d(ds))


def _no_2d(ds):
    """A video-like dataset of ``ds``'s size without 2D joints."""
    from hpe_core.datasets.base import NoImages, PoseDataset

    return PoseDataset(path=ds.path, format="folder", skeleton=ds.skeleton, size=len(ds), columns={},
                       images=NoImages("no images"))
