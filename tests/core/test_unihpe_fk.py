"""UniHPE's 3D decoder with seed 004's forward-kinematics head (``pose_head: fk``): gradients
reach the decoder, every decoded pose has exactly the configured bone lengths, the checkpoint
keeps them, a real stage-3 run trains it and scores it in the canonical frame."""

import numpy as np
import pytest
import torch

from hpe_core import kinematics as K
from hpe_core.errors import InputError
from hpe_core.models import build_model
from hpe_core.models.checkpoint import load_checkpoint, save_checkpoint
from hpe_core.models.families import FAMILIES
from hpe_core.models.fk_head import FKDecoder, prior_lengths, to_fk_frame

SMALL = dict(width=4, image_size=64, dim=16, pose_width=16, pose_depth=1, pose_heads=2, decoder_hidden=32)
SK = "panoptic19"
ROOT = 0  # Neck


def _model(**kw):
    torch.manual_seed(0)
    return build_model("unihpe", "resnet18", **{**SMALL, "pose_head": "fk", **kw})


def _lengths_of(poses: torch.Tensor) -> np.ndarray:
    return np.delete(K.bone_lengths(poses.detach().double().numpy(), SK), ROOT, axis=1)


def _poses(n=6, seed=0) -> torch.Tensor:
    """Plausible poses: the FK of random parameters with 1.05 x the prior, randomly rotated."""
    g = torch.Generator().manual_seed(seed)
    tree = K.kinematic_tree(SK)
    angle = torch.randn((n, 2), generator=g, dtype=torch.float64)
    vec = torch.randn((n, len(tree.limbs), 3), generator=g, dtype=torch.float64)
    canon = K.forward_kinematics(angle, vec, np.array(prior_lengths(SK)) * 1.05, SK)
    q = torch.linalg.qr(torch.randn((n, 3, 3), generator=g, dtype=torch.float64)).Q
    q = q * torch.linalg.det(q)[:, None, None].sign()
    return (canon @ q + torch.tensor([0.0, 0.0, 4000.0], dtype=torch.float64)).float()


@pytest.mark.parametrize("decoder", ["mlp", "diffusion"])
def test_gradients_reach_the_fk_decoder_and_bone_lengths_are_exact(decoder):
    m = _model(decoder=decoder, diffusion_steps=6).train()
    assert isinstance(m.decoder3d, FKDecoder)
    assert m.decoder3d.net.out[-1].out_features == K.kinematic_tree(SK).num_outputs
    j3 = _poses()
    e = torch.nn.functional.normalize(torch.randn(6, 16), dim=1).requires_grad_(True)
    loss = m.loss3d(e, "pose2d", j3)
    loss.backward()
    grads = [p.grad for p in m.decoder3d.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0 and float(e.grad.abs().sum()) > 0
    m.eval()
    with torch.no_grad():
        pose = m.decode3d(torch.nn.functional.normalize(torch.randn(32, 16), dim=1), "image",
                          torch.Generator().manual_seed(1))
    assert pose.shape == (32, 19, 3) and torch.all(pose[:, ROOT] == 0)
    got = _lengths_of(pose)
    want = np.delete(np.array(prior_lengths(SK)), ROOT)
    # float32 FK of ~1 m poses: a few micrometres
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=2e-6, atol=2e-3)
    assert got.std(0).max() < 5e-3  # constant across samples


def test_checkpoint_round_trip_keeps_the_head_and_its_lengths(tmp_path):
    lengths = (np.array(prior_lengths(SK)) * 0.9).tolist()
    m = _model(bone_lengths=lengths).eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        p = FAMILIES["unihpe"].predict(m, {"image": x})
    assert p.frame == "canonical"
    back, info = load_checkpoint(save_checkpoint(tmp_path / "fk.pt", m))
    assert info.family == "unihpe" and back.config == m.config
    assert back.config["pose_head"] == "fk" and back.config["bone_lengths"] == pytest.approx(lengths)
    torch.testing.assert_close(back.decoder3d.bone_lengths, torch.tensor(lengths, dtype=torch.float32))
    with torch.no_grad():
        again = FAMILIES["unihpe"].predict(back, {"image": x})
    np.testing.assert_array_equal(again.joints_3d, p.joints_3d)
    np.testing.assert_array_equal(again.joints_2d, p.joints_2d)
    for name in ("image", ):
        np.testing.assert_array_equal(again.embeddings[name], p.embeddings[name])
    got = _lengths_of(torch.from_numpy(p.joints_3d))
    np.testing.assert_allclose(got, np.broadcast_to(np.delete(lengths, ROOT), got.shape), rtol=2e-6, atol=2e-3)


def test_the_target_frame_is_the_canonical_pose_and_a_fit_decoder_reaches_it():
    j3 = _poses(n=4, seed=2)
    canon = to_fk_frame(j3, SK)
    want = K.canonicalize(j3.double(), SK).float()
    torch.testing.assert_close(canon, want - want[:, ROOT:ROOT + 1], atol=1e-3, rtol=0)  # mm, float32
    hidden = j3.clone()
    hidden[1, 2] = float("nan")  # BodyCenter (the pelvis) missing: that pose has no frame
    out = to_fk_frame(hidden.numpy(), SK)
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2, 3]]).all()
    # the MLP decoder, trained on one pose with its own bone lengths, lands on it in the canonical frame
    lengths = K.bone_lengths(j3[:1].double().numpy(), SK)[0].tolist()
    m = _model(bone_lengths=lengths).train()
    e = torch.nn.functional.normalize(torch.randn(1, 16), dim=1)
    opt = torch.optim.Adam(m.decoder3d.parameters(), lr=3e-3)
    for _ in range(300):
        loss = m.loss3d(e, "pose2d", j3[:1])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pose = m.eval().decode3d(e, "pose2d")
    err = (pose - m.pose3d_target(j3[:1])).norm(dim=-1).mean()
    assert float(err) < 30.0, float(err)  # mm, from ~500 mm at the start


def test_a_fresh_decoder_starts_at_the_mean_pose_of_the_training_poses(tmp_path):
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.models.fk_head import init_from_poses
    from hpe_core.progress import NullProgress

    synthesize(SynthSpec(tmp_path / "d", poses=16, cameras=2, size=32, subjects=2, seed=3), NullProgress())
    j3 = torch.tensor(np.asarray(open_dataset(tmp_path / "d").joints_3d, np.float32))  # real people
    e = torch.nn.functional.normalize(torch.randn(len(j3), 16, generator=torch.Generator().manual_seed(1)), dim=1)
    target = to_fk_frame(j3, SK)

    def error(m):
        with torch.no_grad():
            return float((m.decode3d(e, "pose2d") - target).norm(dim=-1).mean())

    m = _model().eval()
    before = error(m)
    init_from_poses(m.decoder3d, j3.numpy())
    after = error(m)
    assert after < 0.7 * before, (before, after)  # mm: random directions vs the mean pose
    diffusion = _model(decoder="diffusion", diffusion_steps=4)
    state = {k: v.clone() for k, v in diffusion.decoder3d.state_dict().items()}
    init_from_poses(diffusion.decoder3d, j3.numpy())  # left as it is
    assert all(torch.equal(v, diffusion.decoder3d.state_dict()[k]) for k, v in state.items())


def test_bad_fk_options_are_input_errors():
    with pytest.raises(InputError, match="pose_head 'bogus'"):
        _model(pose_head="bogus")
    with pytest.raises(InputError, match="bone_lengths: expected 19"):
        _model(bone_lengths=[100.0] * 5)
    with pytest.raises(InputError, match="coco17"):
        _model(skeleton="coco17")
    assert build_model("unihpe", "resnet18", **SMALL).config["bone_lengths"] is None  # the free head


def test_a_real_stage3_run_switches_to_the_fk_decoder_and_scores_it_canonically(tmp_path):
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.loop import run_training
    from hpe_core.inference import Predictor
    from hpe_core.studies.unihpe_eval import evaluate_paths

    data = tmp_path / "tiny"
    synthesize(SynthSpec(data, poses=12, cameras=4, size=32, subjects=2, seed=4), NullProgress())

    def config(stage, out, init=None, **options):
        opts = {"dim": 16, "pose_width": 16, "pose_depth": 1, "pose_heads": 2, "decoder_hidden": 32, **options}
        return config_from_dict({
            "task": "unihpe", "data": {"path": str(data), "image_size": 32},
            "model": {"width": 4, "init": str(init) if init else None, "options": opts},
            "unihpe": {"stage": stage}, "optim": {"name": "adam", "lr": 0.01},
            "train": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 3, "output": str(out), "threads": 1}})

    s1 = run_training(config(1, tmp_path / "s1"))
    s3 = run_training(config(3, tmp_path / "s3", s1.best_checkpoint, pose_head="fk"))
    model, _ = load_checkpoint(s3.best_checkpoint)
    assert model.config["pose_head"] == "fk" and isinstance(model.decoder3d, FKDecoder)
    ds = open_dataset(data)
    report = evaluate_paths(Predictor(model, "cpu", batch_size=8), ds, np.arange(len(ds.joints_3d))[:16])
    model.pose3d_target = lambda joints: joints  # scored against the camera-frame poses instead
    wrong = evaluate_paths(Predictor(model, "cpu", batch_size=8), ds, np.arange(len(ds.joints_3d))[:16])
    del model.pose3d_target
    for path in ("image_to_3d", "pose2d_to_3d"):
        m, w = report["paths"][path], wrong["paths"][path]
        assert np.isfinite(m["mpjpe"]) and m["pa_mpjpe"] > 0
        assert m["pa_mpjpe"] == pytest.approx(w["pa_mpjpe"], rel=1e-6)  # rotation-free: the frame is moot
        assert m["mpjpe"] < 0.8 * w["mpjpe"], (m, w)  # the canonical pose is compared in its own frame
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        p = FAMILIES["unihpe"].predict(model, {"image": x})
    got = _lengths_of(torch.from_numpy(p.joints_3d))
    want = np.delete(np.array(model.config["bone_lengths"]), ROOT)
    np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), rtol=2e-6, atol=2e-3)
