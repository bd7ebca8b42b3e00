"""The fk pose head: built by config, saved with its bone lengths, trained for real by regress3d
(both losses), and every prediction has exactly the stored bone lengths."""

import json

import numpy as np
import pytest
import torch

from hpe_core import kinematics as K
from hpe_core.datasets import open_dataset
from hpe_core.errors import InputError
from hpe_core.models import build_model
from hpe_core.models.checkpoint import load_checkpoint, save_checkpoint
from hpe_core.models.fk_head import FKPoseHead, canonical_target, prior_lengths
from hpe_core.training.config import config_from_dict
from hpe_core.training.config_data import apply_overrides
from hpe_core.training.loop import run_training


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    from hpe_core.datasets.synthetic import SynthSpec, synthesize

    return synthesize(SynthSpec(tmp_path_factory.mktemp("d") / "tiny", poses=16, cameras=4, size=32, subjects=3,
                                seed=2))


def _config(dataset, out, *overrides):
    raw = {"task": "regress3d", "data": {"path": str(dataset), "image_size": 32},
           "model": {"width": 4}, "optim": {"name": "adam", "lr": 0.002},
           "regression": {"encoder": "random", "head_layers": 2, "pose_head": "fk"},
           "train": {"epochs": 2, "batch_size": 8, "output": str(out), "log_every": 2, "seed": 3, "threads": 1}}
    return config_from_dict(apply_overrides(raw, list(overrides)))


@pytest.mark.parametrize("skeleton", ("panoptic19", "h36m17"))
def test_fk_regressor_builds_saves_and_reloads_with_its_bone_lengths(skeleton, tmp_path):
    lengths = np.array(prior_lengths(skeleton)) * 1.1
    model = build_model("regressor", "resnet18", width=4, skeleton=skeleton, pose_head="fk",
                        bone_lengths=lengths.tolist())
    assert isinstance(model.head, FKPoseHead)
    tree = K.kinematic_tree(skeleton)
    assert model.config["head"][-1][2] == tree.num_outputs
    path = save_checkpoint(tmp_path / "fk.pt", model)
    again, _ = load_checkpoint(path)
    assert again.config["pose_head"] == "fk" and again.config["bone_lengths"] == pytest.approx(lengths.tolist())
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        a, b = model.predict_pose(x), again.predict_pose(x)
    torch.testing.assert_close(a, b)
    assert a[:, tree.skeleton.root].abs().max() == 0  # root-relative like the free head
    got = K.bone_lengths(a.double().numpy(), skeleton)[:, [c for c in range(tree.skeleton.num_joints)
                                                            if c != tree.skeleton.root]]
    want = np.delete(lengths, tree.skeleton.root)
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=2e-6)  # float32 FK


@pytest.mark.parametrize("frames", ("face", "transport"))
def test_the_head_starts_at_the_mean_parameters_of_the_training_poses(tiny_dataset, frames):
    from hpe_core.models.fk_head import init_from_poses

    joints = open_dataset(tiny_dataset).joints_3d[:1].astype(np.float64)
    lengths = K.bone_lengths(joints, "panoptic19")[0]
    model = build_model("regressor", "resnet18", width=4, pose_head="fk", bone_lengths=lengths.tolist(),
                        fk_frames=frames)
    init_from_poses(model.head, np.repeat(joints, 5, axis=0))
    with torch.no_grad():
        model.head.layers[0].bias.zero_()  # a zero hidden layer: the output is the last bias
        pred = model.pose_from_features(torch.zeros(2, 32)).double().numpy()
    want = K.canonicalize(joints, "panoptic19")
    want = want - want[:, :1]
    np.testing.assert_allclose(pred, np.repeat(want, 2, axis=0), atol=0.05)  # mm, float32 FK


def test_bad_fk_configs_are_input_errors():
    with pytest.raises(InputError, match="pose_head 'kinematic'"):
        build_model("regressor", width=4, pose_head="kinematic")
    with pytest.raises(InputError, match="bone_lengths: expected 19"):
        build_model("regressor", width=4, pose_head="fk", bone_lengths=[1.0, 2.0])
    with pytest.raises(InputError, match="coco17"):
        build_model("regressor", width=4, pose_head="fk", skeleton="coco17")


def test_canonical_target_is_the_pose_in_the_fk_frame():
    rng = np.random.default_rng(0)
    tree = K.kinematic_tree("panoptic19", "line")
    angle = torch.tensor(np.abs(rng.normal(size=(4, 2))))
    pose = K.forward_kinematics(angle, torch.tensor(rng.normal(size=(4, len(tree.limbs), 3))),
                                torch.tensor(prior_lengths("panoptic19"), dtype=torch.float64), "panoptic19", "line")
    pose = pose - pose[:, :1]  # root-relative (root = Neck)
    R = torch.tensor(np.linalg.qr(rng.normal(size=(3, 3)))[0])
    R = R * torch.sign(torch.det(R))
    visible = torch.ones(4, 19, dtype=torch.bool)
    visible[1, tree.left_hip] = False
    target, vis = canonical_target(pose @ R.T, visible, "panoptic19")
    torch.testing.assert_close(target[[0, 2, 3]], pose[[0, 2, 3]])
    assert not vis[1].any() and vis[[0, 2, 3]].all()  # a pose without a hip has no frame


@pytest.mark.parametrize("loss", ("rotation_mse", "mse"))
def test_training_an_fk_regressor_keeps_the_training_mean_bone_lengths(tiny_dataset, tmp_path, loss):
    result = run_training(_config(tiny_dataset, tmp_path / loss, f"regression.loss={loss}"))
    assert result.reason == "finished"
    assert np.isfinite([h["train_loss"] for h in result.history]).all()
    model, info = load_checkpoint(result.best_checkpoint)
    ds = open_dataset(tiny_dataset)
    train = ds.split_indices("train")
    mean = K.mean_bone_lengths(ds.joints_3d[train], ds.skeleton)
    np.testing.assert_allclose(model.config["bone_lengths"], mean, rtol=1e-12)
    np.testing.assert_allclose(model.head.bone_lengths.numpy(), mean, rtol=1e-6)
    from hpe_core.datasets.torch_data import PoseImageDataset

    images = PoseImageDataset(ds, np.arange(len(ds)), image_size=32)
    x = torch.stack([images[i]["image"] for i in range(len(ds))])
    with torch.no_grad():
        pred = model.predict_pose(x).double().numpy()
    lengths = np.delete(K.bone_lengths(pred, "panoptic19"), ds.skeleton.root, axis=1)
    prior = np.delete(mean, ds.skeleton.root)
    assert np.abs(lengths - prior).max() < 0.01  # mm, every sample and bone
    assert lengths.std(axis=0).max() < 0.01
    assert np.ptp(pred[:, 5], axis=0).max() > 1.0  # the poses themselves differ (a wrist moves)


def test_a_json_bone_prior_and_its_errors(tiny_dataset, tmp_path):
    prior = {"skeleton": "panoptic19", "bone_lengths": dict(zip(
        open_dataset(tiny_dataset).skeleton.joint_names[1:], np.array(prior_lengths("panoptic19")[1:]) * 0.9))}
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(prior))
    result = run_training(_config(tiny_dataset, tmp_path / "run", f"regression.bone_lengths={path}",
                                  "train.epochs=1", "train.max_steps_per_epoch=2"))
    model, _ = load_checkpoint(result.best_checkpoint)
    np.testing.assert_allclose(model.config["bone_lengths"][1:], np.array(prior_lengths("panoptic19")[1:]) * 0.9)
    del prior["bone_lengths"]["lElbow"]
    path.write_text(json.dumps(prior))
    with pytest.raises(InputError, match="bone into lElbow"):
        run_training(_config(tiny_dataset, tmp_path / "bad", f"regression.bone_lengths={path}"))
    with pytest.raises(InputError, match="regression.bone_lengths .*missing.json: no such file"):
        run_training(_config(tiny_dataset, tmp_path / "bad", f"regression.bone_lengths={tmp_path / 'missing.json'}"))
