"""Seed 001's lifter family: shapes, normalisation round trip, max-norm, Kaiming init, and the
checkpoints of the public PyTorch port (3d_pose_baseline_pytorch), built here from its key names."""

import json

import numpy as np
import pytest
import torch

from hpe_core.errors import InputError
from hpe_core.models import build_model, load_checkpoint, save_checkpoint
from hpe_core.models.families import FAMILIES
from hpe_core.models.families.lifter import NORMALISED_NOTE, apply_stats
from hpe_core.models.lifter import PORT_INPUT, PORT_OUTPUT


def test_shapes_root_zero_and_the_layers_of_martinez():
    model = build_model("lifter", skeleton="h36m17")
    assert model.inp.weight.shape == (1024, 34) and model.out.weight.shape == (48, 1024)
    assert len(model.blocks) == 2 and model.drop.p == 0.5 and model.blocks[0].drop.p == 0.5
    out = model(torch.randn(5, 17, 2))
    assert out.shape == (5, 17, 3) and torch.all(out[:, 0] == 0)  # the pelvis is the root
    # Kaiming-normal: weight std sqrt(2 / fan_in)
    assert float(model.blocks[0].fc1.weight.detach().std()) == pytest.approx(np.sqrt(2 / 1024), rel=0.02)


def test_normalisation_round_trip_and_the_statistics_live_in_the_checkpoint(tmp_path):
    g = torch.Generator().manual_seed(0)
    model = build_model("lifter", skeleton="h36m17", linear_size=32)
    mean_3d, std_3d = torch.randn(48, generator=g) * 100, torch.rand(48, generator=g) * 50 + 10
    model.set_stats(torch.randn(34, generator=g) * 300, torch.rand(34, generator=g) * 80 + 5, mean_3d, std_3d)
    pose = torch.randn(6, 17, 3, generator=g, dtype=torch.float64).float() * 200
    pose[:, 0] = 0
    back = model.denormalise(model.normalise_3d(pose))
    assert torch.allclose(back, pose, atol=1e-3)  # float32 at 200 mm: ~1e-5 relative
    # the normalised output of an all-zero network is the mean pose
    with torch.no_grad():
        model.out.weight.zero_(), model.out.bias.zero_()
    assert torch.allclose(model(torch.randn(2, 17, 2))[:, 1:].reshape(2, -1), mean_3d.expand(2, -1), atol=1e-4)
    path = save_checkpoint(tmp_path / "lift.pt", model)
    loaded, info = load_checkpoint(path, expect_family="lifter", expect_joints=17)
    assert torch.equal(loaded.std_3d, model.std_3d) and torch.equal(loaded.mean_2d, model.mean_2d)
    assert info.family == "lifter" and info.joints == 17 and not loaded.normalised_output


def test_max_norm_projects_every_linear_row_during_training_only():
    model = build_model("lifter", skeleton="h36m17", linear_size=16, max_norm=1.0)
    with torch.no_grad():
        model.inp.weight.mul_(100)
    model.eval()
    model(torch.randn(4, 17, 2))
    assert float(model.inp.weight.detach().norm(dim=1).max()) > 1.5  # eval leaves the weights alone
    model.train()
    model(torch.randn(4, 17, 2))
    for lin in (model.inp, model.blocks[0].fc1, model.out):
        assert float(lin.weight.detach().norm(dim=1).max()) <= 1.0 + 1e-5


def test_predict_returns_a_prediction_and_refuses_nan_joints():
    model = build_model("lifter", skeleton="panoptic19", linear_size=16)
    x = np.random.default_rng(0).normal(size=(3, 19, 2)).astype(np.float32)
    with torch.no_grad():
        pred = FAMILIES["lifter"].predict(model, {"joints_2d": x})
    assert pred.joints_3d.shape == (3, 19, 3) and pred.frame == "root_relative" and pred.skeleton == "panoptic19"
    x[1, 4] = np.nan
    with pytest.raises(InputError, match="sample 1 has a NaN"):
        FAMILIES["lifter"].predict(model, {"joints_2d": x})


# --------------------------------------------------------------- 3d_pose_baseline_pytorch files
def _port_state(size=64, stages=2, seed=0):
    """A ``LinearModel`` state dict by the port's public key names (src/model.py)."""
    g = torch.Generator().manual_seed(seed)
    state = {}

    def linear(name, i, o):
        state[f"{name}.weight"] = torch.randn(o, i, generator=g) * 0.1
        state[f"{name}.bias"] = torch.randn(o, generator=g) * 0.1

    def bn(name, n):
        state[f"{name}.weight"] = 1 + 0.1 * torch.randn(n, generator=g)
        state[f"{name}.bias"] = 0.1 * torch.randn(n, generator=g)
        state[f"{name}.running_mean"] = 0.1 * torch.randn(n, generator=g)
        state[f"{name}.running_var"] = 1 + torch.rand(n, generator=g)
        state[f"{name}.num_batches_tracked"] = torch.tensor(100)

    linear("w1", 32, size)
    bn("batch_norm1", size)
    for s in range(stages):
        linear(f"linear_stages.{s}.w1", size, size)
        bn(f"linear_stages.{s}.batch_norm1", size)
        linear(f"linear_stages.{s}.w2", size, size)
        bn(f"linear_stages.{s}.batch_norm2", size)
    linear("w2", size, 48)
    return state


def _port_forward(state, x, stages=2):
    """The port's forward in eval mode, written from its structure: (N, 32) -> (N, 48)."""
    def lin(name, y):
        return y @ state[f"{name}.weight"].T + state[f"{name}.bias"]

    def bn(name, y):
        return ((y - state[f"{name}.running_mean"]) / torch.sqrt(state[f"{name}.running_var"] + 1e-5)
                * state[f"{name}.weight"] + state[f"{name}.bias"])

    y = torch.relu(bn("batch_norm1", lin("w1", x)))
    for s in range(stages):
        p = f"linear_stages.{s}"
        z = torch.relu(bn(f"{p}.batch_norm1", lin(f"{p}.w1", y)))
        y = y + torch.relu(bn(f"{p}.batch_norm2", lin(f"{p}.w2", z)))
    return lin("w2", y)


def test_a_3d_pose_baseline_pytorch_checkpoint_is_recognised_and_computes_what_the_port_computes(tmp_path):
    state = _port_state()
    path = tmp_path / "ckpt_best.pth.tar"
    torch.save({"epoch": 12, "lr": 1e-3, "step": 5000, "err": 45.2, "state_dict": state,
                "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3, "params": [0, 1]}]}}, path)
    model, info = load_checkpoint(path)
    assert info.family == "lifter" and info.layout == "3d_pose_baseline_pytorch" and info.skeleton == "h36m17"
    assert info.training.get("epoch") == 12 and NORMALISED_NOTE in info.notes
    assert model.normalised_output and model.config["linear_size"] == 64 and len(model.blocks) == 2
    x17 = torch.randn(4, 17, 2)
    with torch.no_grad():
        got = model(x17)
    want = _port_forward(state, x17[:, list(PORT_INPUT)].reshape(4, 32)).reshape(4, 16, 3)
    assert torch.allclose(got[:, list(PORT_OUTPUT)], want, atol=1e-4) and torch.all(got[:, 0] == 0)
    # statistics given afterwards (the 32-joint vectors of Martinez's files): 3D in mm
    rng = np.random.default_rng(1)
    stats = {"mean_2d": rng.normal(500, 50, 64), "std_2d": rng.uniform(50, 100, 64),
             "mean_3d": rng.normal(0, 100, 96), "std_3d": rng.uniform(100, 300, 96)}
    np.savez(tmp_path / "stats.npz", **stats)
    apply_stats(model, tmp_path / "stats.npz")
    assert not model.normalised_output
    dims_2d = [k * 2 + d for k in (0, 1, 2, 3, 6, 7, 8, 12, 13, 15, 17, 18, 19, 25, 26, 27) for d in range(2)]
    assert np.allclose(model.mean_2d.numpy(), stats["mean_2d"][dims_2d])
    with torch.no_grad():
        mm = model(x17)
    xn = (x17[:, list(PORT_INPUT)].reshape(4, 32) - model.mean_2d) / model.std_2d
    want_mm = _port_forward(state, xn) * model.std_3d + model.mean_3d
    assert torch.allclose(mm[:, list(PORT_OUTPUT)].reshape(4, 48), want_mm, atol=1e-2)


def test_a_port_file_of_another_joint_count_and_bad_statistics_are_refused(tmp_path):
    state = _port_state()
    state["w2.weight"] = torch.zeros(51, 64)
    state["w2.bias"] = torch.zeros(51)
    torch.save({"state_dict": state, "epoch": 1}, tmp_path / "odd.pth.tar")
    from hpe_core.errors import CheckpointError

    with pytest.raises(CheckpointError, match="only its Human3.6M 16-joint layout"):
        load_checkpoint(tmp_path / "odd.pth.tar")
    model = build_model("lifter", skeleton="h36m17", linear_size=8)
    (tmp_path / "s.json").write_text(json.dumps({"mean_2d": [0] * 5, "std_2d": [1] * 34, "mean_3d": [0] * 48,
                                                  "std_3d": [1] * 48}))
    with pytest.raises(InputError, match="mean_2d has 5 values"):
        apply_stats(model, tmp_path / "s.json")
    with pytest.raises(InputError, match="no such file"):
        apply_stats(model, tmp_path / "none.npz")
