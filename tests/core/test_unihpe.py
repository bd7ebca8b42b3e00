"""UniHPE (seed 002): the pose transformers, the decoders and their modality token, the shared
temperature, and the family's predict paths."""

import math

import numpy as np
import pytest
import torch

from hpe_core.errors import InputError
from hpe_core.models import build_model
from hpe_core.models.families import FAMILIES
from hpe_core.models.families.unihpe import predict_paths
from hpe_core.models.unihpe import normalise_2d

SMALL = dict(width=4, image_size=64, dim=16, pose_width=16, pose_depth=2, pose_heads=2, decoder_hidden=32)
J = 19  # panoptic19


def _model(**kw):
    torch.manual_seed(0)
    return build_model("unihpe", "resnet18", **{**SMALL, **kw}).eval()


def _poses(n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    j2 = 10 + torch.rand((n, J, 2), generator=g) * 40
    j3 = torch.randn((n, J, 3), generator=g) * 300
    return j2, j3


def test_pose_transformers_give_unit_embeddings_of_the_shared_width():
    m = _model()
    j2, j3 = _poses()
    with torch.no_grad():
        e2, e3 = m.embed_pose2d(j2), m.embed_pose3d(j3)
        ei = m.embed_image(torch.randn(5, 3, 64, 64))
    for e in (e2, e3, ei):
        assert e.shape == (5, 16)
        torch.testing.assert_close(e.norm(dim=1), torch.ones(5), atol=1e-5, rtol=0)
    # tokens: [CLS] + box + J keypoints in 2D, [CLS] + J in 3D
    kp, box, vis = normalise_2d(j2, 64)
    assert len(m.pose2d_encoder.tokens(kp, box)) == 3 and len(m.pose3d_encoder.tokens(kp[..., :1].expand(-1, -1, 3), None)) == 2
    with pytest.raises(InputError, match=r"joints_2d: expected \(N, 19, 2\)"):
        m.embed_pose2d(torch.zeros(2, 17, 2))


def test_keypoint_order_matters_only_through_the_position_embedding():
    m = _model()
    _, j3 = _poses()
    perm = torch.randperm(J, generator=torch.Generator().manual_seed(3))
    assert not torch.equal(perm, torch.arange(J))
    enc = m.pose3d_encoder
    with torch.no_grad():
        rel = j3 / 1000.0
        vis = torch.ones(5, J, dtype=torch.bool)
        base = enc(rel, vis)
        shuffled = enc(rel[:, perm], vis)  # joints moved, positions not: a different pose
        assert (base - shuffled).abs().max() > 1e-3
        enc.pos.data = enc.pos.data[:, perm]  # moving the position embeddings with them: the same pose
        torch.testing.assert_close(enc(rel[:, perm], vis[:, perm]), base, atol=2e-5, rtol=1e-4)
        enc.pos.data.zero_()  # no position embedding: a set of tokens, order-blind
        torch.testing.assert_close(enc(rel[:, perm], vis), enc(rel, vis), atol=2e-5, rtol=1e-4)


def test_2d_keypoints_are_box_normalised_and_the_box_token_carries_place_and_size():
    m = _model()
    j2, _ = _poses()
    moved = j2 * 0.5 + 7.0  # the same pose, smaller and elsewhere in the image
    a, b = normalise_2d(j2, 64), normalise_2d(moved, 64)
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=0)
    assert (a[1] - b[1]).abs().min() > 1e-3
    with torch.no_grad():
        assert (m.embed_pose2d(j2) - m.embed_pose2d(moved)).abs().max() > 1e-4
        m.pose2d_encoder.box.weight.zero_()
        m.pose2d_encoder.box.bias.zero_()
        torch.testing.assert_close(m.embed_pose2d(j2), m.embed_pose2d(moved), atol=2e-5, rtol=1e-4)


def test_missing_joints_are_masked_out_of_the_attention():
    m = _model()
    j2, _ = _poses()
    hidden = j2.clone()
    hidden[:, 4] = float("nan")
    other = hidden.clone()
    other[:, 4] = 1e4  # whatever a missing joint holds, it is never seen ...
    with torch.no_grad():
        e = m.embed_pose2d(hidden)
        assert torch.isfinite(e).all()
        j2b = j2.clone()
        j2b[:, 4] = j2[:, 4] + 5
        other = j2b.clone()
        other[:, 4] = float("nan")
        torch.testing.assert_close(m.embed_pose2d(other), e, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("decoder", ["mlp", "diffusion"])
def test_the_modality_token_changes_the_decoders_output_and_can_be_switched_off(decoder):
    on, off = _model(decoder=decoder, diffusion_steps=8), _model(decoder=decoder, diffusion_steps=8, modality_token=False)
    e = torch.nn.functional.normalize(torch.randn(4, 16), dim=1)
    with torch.no_grad():
        for m, differs in ((on, True), (off, False)):
            outs = {}
            for mod in ("image", "pose2d"):
                outs[mod] = (m.decode3d(e, mod, torch.Generator().manual_seed(0)),
                             m.decode2d(e, mod, torch.Generator().manual_seed(0)))
            gap3 = (outs["image"][0] - outs["pose2d"][0]).abs().max()
            gap2 = (outs["image"][1] - outs["pose2d"][1]).abs().max()
            if differs:
                assert gap3 > 1e-2 and gap2 > 1e-3
            else:
                assert gap3 == 0 and gap2 == 0
    with pytest.raises(InputError, match="modality 'pose3d'"):
        on.decode3d(e, "pose3d")


def test_decoded_3d_poses_are_root_relative_mm_and_2d_poses_are_input_pixels():
    m = _model()
    j2, j3 = _poses()
    with torch.no_grad():
        out = predict_paths(m, torch.randn(5, 3, 64, 64), j2, j3)
    for key in ("image_to_3d", "pose2d_to_3d"):
        assert out[key].shape == (5, J, 3) and torch.all(out[key][:, m.root_index] == 0)
    assert out["image_to_2d"].shape == (5, J, 2)
    assert set(out) >= {"image", "pose2d", "pose3d"}


def test_the_diffusion_decoder_trains_on_score_matching_and_samples_finite_poses():
    torch.manual_seed(0)
    m = _model(decoder="diffusion", diffusion_steps=10)
    _, j3 = _poses(n=1)
    target = j3.expand(64, -1, -1)
    e = torch.nn.functional.normalize(torch.randn(1, 16), dim=1).expand(64, -1)
    opt = torch.optim.Adam(m.decoder3d.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = m.loss3d(e, "pose2d", target)
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])  # the preconditioned target has unit variance
    with torch.no_grad():
        pose = m.decode3d(e[:3], "pose2d", torch.Generator().manual_seed(1))
        again = m.decode3d(e[:3], "pose2d", torch.Generator().manual_seed(1))
    assert pose.shape == (3, J, 3) and torch.isfinite(pose).all()
    torch.testing.assert_close(pose, again)  # seeded noise: a reproducible sample


def test_the_temperature_stays_clamped_while_the_optimizer_pushes_it_out():
    from hpe_core.losses import info_nce

    for tau0, lo, hi, maximize in ((1 / 14, 1 / 100, 1e4, False), (1 / 5, 1 / 10, 1e4, True), (0.2, 0.2, 0.3, True)):
        m = _model(tau0=tau0, tau_min=lo, tau_max=hi)
        j2, j3 = _poses(n=8)
        opt = torch.optim.SGD([m.temperature.log_tau], lr=1e3, maximize=maximize)
        seen = []
        for _ in range(6):
            with torch.no_grad():
                e2, e3 = m.embed_pose2d(j2), m.embed_pose3d(j3)
            tau = m.temperature()
            seen.append(float(tau.detach()))
            loss = info_nce(e2, e3, tau)
            opt.zero_grad()
            loss.backward()
            opt.step()
        seen.append(float(m.temperature()))
        assert all(lo * (1 - 1e-6) <= t <= hi * (1 + 1e-6) for t in seen), seen
        assert math.isclose(seen[-1], lo, rel_tol=1e-5) or math.isclose(seen[-1], hi, rel_tol=1e-5), seen
        assert lo * (1 - 1e-6) <= float(m.temperature.log_tau.exp()) <= hi * (1 + 1e-6)  # the stored value too


def test_family_predict_and_the_checkpoint_round_trip(tmp_path):
    from hpe_core.models.checkpoint import load_checkpoint, save_checkpoint

    m = _model(decoder="diffusion", diffusion_steps=4)
    j2, j3 = _poses()
    x = torch.randn(5, 3, 64, 64)
    with torch.no_grad():
        p = FAMILIES["unihpe"].predict(m, {"image": x})
        lifted = FAMILIES["unihpe"].predict(m, {"joints_2d": j2, "joints_3d": j3})
    assert p.joints_2d.shape == (5, J, 2) and p.joints_3d.shape == (5, J, 3) and p.frame == "root_relative"
    assert set(p.embeddings) == {"image"} and set(lifted.embeddings) == {"pose2d", "pose3d"}
    assert lifted.joints_2d is None and lifted.meta["source"] == "pose2d"
    path = save_checkpoint(tmp_path / "u.pt", m)
    back, info = load_checkpoint(path)
    assert info.family == "unihpe" and back.config == m.config
    with torch.no_grad():
        again = FAMILIES["unihpe"].predict(back, {"image": x})
    np.testing.assert_array_equal(again.joints_3d, p.joints_3d)
    with pytest.raises(InputError, match="unknown option"):
        build_model("unihpe", "resnet18", depth=3)
    with pytest.raises(InputError, match="tau_min <= tau0"):
        build_model("unihpe", "resnet18", tau0=0.001)
