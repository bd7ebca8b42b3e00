"""Seed 003's VAE lifter: layer lists, reparameterisation and KL, beta schedule, rotations and
projections, batched hypotheses, and the HPE3D part-file layout built here from its public key names."""

import math

import numpy as np
import pytest
import torch

from hpe_core.errors import CheckpointError, InputError
from hpe_core.losses import vae_kl
from hpe_core.models.hpe3d import load_hpe3d, recognise_part, run_files
from hpe_core.models.vae_lifter import VAELifter, normalise_2d, reparameterise, resolve_config
from hpe_core.skeleton import get_skeleton
from hpe_core.training import vae_objective as V


def lifter(**kw) -> VAELifter:
    torch.manual_seed(0)
    return VAELifter(resolve_config(skeleton="h36m17", **kw))


# ----------------------------------------------------------------------------- layers
def test_layer_sizes_follow_the_thesis_appendix():
    m = lifter()
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert count(m.encoder.enc_inp_block[0]) == 33792  # Linear(32, 1024)
    assert count(m.encoder.enc_inp_block[1]) == 2048
    assert count(m.encoder.features.BB_1.w1) == 1048576  # Linear(1024, 1024, bias=False)
    assert count(m.encoder.fc_mean) == count(m.encoder.fc_logvar) == 52275  # Linear(1024, 51)
    assert count(m.decoder.dec_inp_block[0]) == 53248  # Linear(51, 1024)
    assert count(m.decoder.dec_out_block[0]) == 49200  # Linear(1024, 48)
    assert isinstance(m.decoder.dec_out_block[1], torch.nn.Tanh)
    assert count(m.discriminator.inp_block[0]) == 33792
    assert count(m.discriminator.out_block[0]) == 1025
    assert isinstance(m.discriminator.out_block[1], torch.nn.Sigmoid)
    assert m.discriminator.features.BB_1.use_bn is False and m.encoder.features.BB_1.use_bn is True
    assert m.discriminator.features.BB_1.dropout.p == 0.5 and m.encoder.features.BB_1.dropout.p == 0.2
    biased = lifter(disc_bias=True)  # the appendix's discriminator has biases (HPE3D's later code does not)
    assert count(biased.discriminator.features.BB_1.w1) == 1049600


def test_decoder_puts_the_root_at_the_origin_and_stays_in_range():
    m = lifter(neurons=32, latent_dim=8)
    pose = m.decode(torch.randn(5, 8) * 10)
    assert pose.shape == (5, 17, 3)
    assert torch.equal(pose[:, 0], torch.zeros(5, 3))
    assert pose.abs().max() <= m.config["tanh_scale"]


def test_unknown_options_and_heads_are_refused():
    with pytest.raises(InputError, match="unknown option"):
        resolve_config(skeleton="h36m17", width=3)
    with pytest.raises(InputError, match="pose_head 'mlp': valid heads are free, fk"):
        resolve_config(skeleton="h36m17", pose_head="mlp")
    with pytest.raises(InputError, match="fk needs a skeleton"):
        resolve_config(num_joints=17, pose_head="fk")


# ----------------------------------------------------------------------------- VAE maths
def test_reparameterisation_is_mu_plus_eps_sigma():
    mu, logvar, eps = torch.randn(4, 6), torch.randn(4, 6), torch.randn(4, 6)
    assert torch.allclose(reparameterise(mu, logvar, eps), mu + eps * torch.sqrt(torch.exp(logvar)), atol=1e-6)


def test_reparameterised_samples_have_the_posterior_moments():
    torch.manual_seed(1)
    mu = torch.tensor([[0.5, -2.0, 3.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(0.25), math.log(4.0)]], dtype=torch.float64)
    n = 200_000
    z = reparameterise(mu, logvar, torch.randn(n, 1, 3, dtype=torch.float64))[:, 0]
    sd = torch.exp(0.5 * logvar)[0]
    # mean within 5 standard errors, variance within 5 standard errors of a normal sample variance
    assert torch.all((z.mean(0) - mu[0]).abs() < 5 * sd / math.sqrt(n))
    assert torch.all((z.var(0) - sd ** 2).abs() < 5 * sd ** 2 * math.sqrt(2 / n))


@pytest.mark.parametrize("m,s", [(0.0, 1.0), (1.5, 1.0), (0.0, 0.3), (-2.0, 2.5)])
def test_kl_matches_the_closed_form(m, s):
    mu = torch.full((1, 1), m, dtype=torch.float64)
    logvar = torch.full((1, 1), 2 * math.log(s), dtype=torch.float64)
    closed = 0.5 * (s ** 2 + m ** 2 - 1 - math.log(s ** 2))
    assert float(vae_kl(mu, logvar)) == pytest.approx(closed, rel=1e-12, abs=1e-15)


def test_kl_sums_dimensions_and_averages_the_batch():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    logvar = torch.zeros(2, 2, dtype=torch.float64)
    assert float(vae_kl(mu, logvar)) == pytest.approx(0.25)  # (0.5 + 0) / 2


def test_log_variance_is_clamped_at_the_prior():
    m = lifter(neurons=16, latent_dim=4)
    with torch.no_grad():
        m.encoder.fc_logvar.bias.fill_(50.0)
    _, logvar = m.encode(torch.randn(3, 17, 2))
    assert float(logvar.detach().max()) == 0.0


# ----------------------------------------------------------------------------- beta schedule
@pytest.mark.parametrize("epoch,fraction", [
    (0, 0.0), (9, 0.0),            # warm-up: no KL
    (10, 0.0), (25, 0.5), (39, 29 / 30),  # the ramp over the first 30 epochs of a cycle
    (40, 1.0), (49, 1.0),          # held for the cycle's last 10
    (50, 0.0), (65, 0.5), (89, 1.0), (90, 0.0), (410, 0.0),
])
def test_cyclic_beta_at_chosen_epochs(epoch, fraction):
    assert V.cyclic_beta(epoch, 0.001) == pytest.approx(0.001 * fraction, abs=1e-15)


def test_cyclic_beta_refuses_a_hold_as_long_as_the_cycle():
    with pytest.raises(InputError, match="hold"):
        V.cyclic_beta(3, 0.001, cycle=10, hold=10)


# ----------------------------------------------------------------------------- geometry
def _poses(n=64, j=17, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, j, 3, generator=g, dtype=torch.float64)
    return p - p[:, :1]


def test_random_vertical_rotation_keeps_bone_lengths_root_and_heights():
    sk = get_skeleton("h36m17")
    pose = _poses()
    rotated, angles = V.random_vertical_rotation(pose, torch.Generator().manual_seed(3))
    bones = np.array(sk.bones)
    length = lambda p: (p[:, bones[:, 0]] - p[:, bones[:, 1]]).norm(dim=-1)  # noqa: E731
    assert torch.allclose(length(rotated), length(pose), atol=1e-12)
    assert torch.equal(rotated[:, 0], torch.zeros(64, 3, dtype=torch.float64))
    assert torch.allclose(rotated[..., 1], pose[..., 1], atol=1e-12)  # about the vertical (y) axis
    assert float(angles.min()) >= -math.pi and float(angles.max()) < math.pi and float(angles.std()) > 1.0
    R = V.rotation_about_vertical(angles)
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(64, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(64, dtype=torch.float64), atol=1e-12)


def test_projection_keeps_the_root_at_the_origin_and_a_flat_pose_unchanged():
    pose = _poses()
    flat = pose.clone()
    flat[..., 2] = 0
    assert torch.allclose(V.project(flat, 10.0), flat[..., :2], atol=1e-12)
    assert torch.equal(V.project(pose, 10.0)[:, 0], torch.zeros(64, 2, dtype=torch.float64))
    # a joint nearer the camera looks larger
    near = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, -5.0]]], dtype=torch.float64)
    assert float(V.project(near, 10.0)[0, 1, 0]) == pytest.approx(2.0)


def test_flip_swaps_left_and_right_and_is_its_own_inverse():
    sk = get_skeleton("h36m17")
    perm = torch.from_numpy(sk.flip_permutation)
    x = _poses()[..., :2]
    once = V.flip_2d(x, perm)
    a, b = sk.flip_pairs[0]
    assert torch.equal(once[:, a, 0], -x[:, b, 0]) and torch.equal(once[:, a, 1], x[:, b, 1])
    assert torch.equal(V.flip_2d(once, perm), x)
    assert torch.equal(V.flip_3d(V.flip_3d(_poses(), perm), perm), _poses())


def test_normalise_2d_is_root_relative_with_unit_rms():
    j2 = torch.rand(8, 17, 2, dtype=torch.float64) * 100 + 50
    vis = torch.ones(8, 17, dtype=torch.bool)
    vis[0, 5] = False
    x, scale = normalise_2d(j2, vis, 0)
    assert torch.equal(x[:, 0], torch.zeros(8, 2, dtype=torch.float64)) and float(x[0, 5].abs().sum()) == 0
    rms = (x.pow(2).sum(dim=(1, 2)) / vis.sum(1)).sqrt()
    assert torch.allclose(rms, torch.ones(8, dtype=torch.float64))
    x2, scale2 = normalise_2d(j2 * 3 + 7, vis, 0)
    assert torch.allclose(x2, x) and torch.allclose(scale2, 3 * scale)


# ----------------------------------------------------------------------------- hypotheses
def test_k_hypotheses_in_one_pass_equal_k_separate_passes():
    m = lifter(neurons=64, latent_dim=8).double().eval()
    x = torch.randn(10, 17, 2, dtype=torch.float64)
    eps = torch.randn(10, 5, 8, dtype=torch.float64)
    out = m(x, hypotheses=5, eps=eps)
    assert out["hypotheses"].shape == (10, 5, 17, 3)
    mu, logvar = m.encode(x)
    for k in range(5):
        one = m.decode(reparameterise(mu, logvar, eps[:, k]))
        assert torch.allclose(out["hypotheses"][:, k], one, atol=1e-12)
    assert torch.allclose(out["pose"], m.decode(mu), atol=1e-12)


# ----------------------------------------------------------------------------- HPE3D layout
def _hpe3d_state(part: str, joints: int = 16, neurons: int = 24, latent: int = 5, seed: int = 0) -> dict:
    """A state dict with the key names and shapes HPE3D's Encoder2D / Decoder3D / Discriminator save."""
    g = torch.Generator().manual_seed(seed)
    t = lambda *shape: torch.randn(*shape, generator=g) * 0.2  # noqa: E731

    def bn(prefix):
        return {f"{prefix}.weight": 1 + t(neurons), f"{prefix}.bias": t(neurons),
                f"{prefix}.running_mean": t(neurons), f"{prefix}.running_var": 1 + t(neurons).abs(),
                f"{prefix}.num_batches_tracked": torch.tensor(7)}

    def resblock(bias):
        out = {}
        for i in range(1, 5):
            out[f"features.BB_{i}.w1.weight"] = t(neurons, neurons)
            if bias:
                out[f"features.BB_{i}.w1.bias"] = t(neurons)
            out.update(bn(f"features.BB_{i}.bn1"))
        return out

    if part == "Encoder2D":
        return {"enc_inp_block.0.weight": t(neurons, 2 * joints), "enc_inp_block.0.bias": t(neurons),
                **bn("enc_inp_block.1"), **resblock(False), "fc_mean.weight": t(latent, neurons),
                "fc_mean.bias": t(latent), "fc_logvar.weight": t(latent, neurons), "fc_logvar.bias": t(latent)}
    if part == "Decoder3D":
        return {"dec_inp_block.0.weight": t(neurons, latent), "dec_inp_block.0.bias": t(neurons),
                **bn("dec_inp_block.1"), **resblock(False), "dec_out_block.0.weight": t(3 * joints, neurons),
                "dec_out_block.0.bias": t(3 * joints)}
    return {"inp_block.0.weight": t(neurons, 2 * joints), "inp_block.0.bias": t(neurons), **resblock(False),
            "out_block.0.weight": t(1, neurons), "out_block.0.bias": t(1)}


def _save_run(folder, run="wandering-sky-7", parts=("Encoder2D", "Decoder3D", "Discriminator")):
    for i, part in enumerate(parts):
        state = {"epoch": 120 + i, "val_loss": 0.5 + i, "model_state_dict": _hpe3d_state(part, seed=i),
                 "optimizer_state_dict": {"state": {}, "param_groups": [{"lr": 2e-4, "params": [0, 1]}]}}
        torch.save(state, folder / f"{run}_{part}.pt")
    return folder / f"{run}_{parts[-1]}.pt"


def test_hpe3d_parts_are_recognised_from_their_public_key_names():
    for part in ("Encoder2D", "Decoder3D", "Discriminator"):
        assert recognise_part(_hpe3d_state(part)) == part
        assert recognise_part(f"module.{k}" for k in _hpe3d_state(part)) == part
    assert recognise_part(["conv1.weight", "fc.weight"]) is None


def _reference_lift(enc: dict, dec: dict, x: torch.Tensor) -> torch.Tensor:
    """The HPE3D forward pass in eval mode written out from the tensors (mean of the latent)."""
    mish = lambda v: v * torch.tanh(torch.nn.functional.softplus(v))  # noqa: E731

    def bn(s, p, v):
        return (v - s[f"{p}.running_mean"]) / torch.sqrt(s[f"{p}.running_var"] + 1e-5) * s[f"{p}.weight"] + s[f"{p}.bias"]

    def res(s, v):
        layer = lambda i, u: mish(bn(s, f"features.BB_{i}.bn1", u @ s[f"features.BB_{i}.w1.weight"].T))  # noqa: E731
        v = layer(2, layer(1, v)) + v
        return layer(4, layer(3, v)) + v

    h = mish(bn(enc, "enc_inp_block.1", x @ enc["enc_inp_block.0.weight"].T + enc["enc_inp_block.0.bias"]))
    mu = res(enc, h) @ enc["fc_mean.weight"].T + enc["fc_mean.bias"]
    h = mish(bn(dec, "dec_inp_block.1", mu @ dec["dec_inp_block.0.weight"].T + dec["dec_inp_block.0.bias"]))
    return torch.tanh(res(dec, h) @ dec["dec_out_block.0.weight"].T + dec["dec_out_block.0.bias"])


def test_hpe3d_run_opens_from_any_part_and_lifts_like_the_reference(tmp_path):
    path = _save_run(tmp_path)
    assert set(run_files(path)[1]) == {"Encoder2D", "Decoder3D", "Discriminator"}
    model, info = load_hpe3d(tmp_path / "wandering-sky-7_Encoder2D.pt")
    assert info["run"] == "wandering-sky-7" and info["epochs"]["Decoder3D"] == 121
    c = model.config
    assert (c["num_joints"], c["skeleton"], c["neurons"], c["latent_dim"], c["disc_bias"]) == (17, "h36m17", 24, 5, False)
    x = torch.randn(6, 17, 2)
    x[:, 0] = 0
    got = model(x)["pose"]
    want = _reference_lift(_hpe3d_state("Encoder2D", seed=0), _hpe3d_state("Decoder3D", seed=1),
                           x[:, 1:].reshape(6, -1)).reshape(6, 16, 3) * c["tanh_scale"]
    assert torch.allclose(got[:, 1:], want, atol=1e-5)
    disc = _hpe3d_state("Discriminator", seed=2)
    assert torch.equal(model.discriminator.out_block[0].weight, disc["out_block.0.weight"])


def test_hpe3d_run_without_a_decoder_is_a_clear_error(tmp_path):
    path = _save_run(tmp_path, parts=("Encoder2D", "Discriminator"))
    with pytest.raises(CheckpointError, match="no decoder file .*wandering-sky-7_Decoder3D.pt"):
        load_hpe3d(path)


def test_hpe3d_without_a_discriminator_still_lifts(tmp_path):
    path = _save_run(tmp_path, parts=("Encoder2D", "Decoder3D"))
    model, info = load_hpe3d(path)
    assert any("no discriminator" in n for n in info["notes"])
    assert model(torch.randn(2, 17, 2))["pose"].shape == (2, 17, 3)


def test_hpe3d_part_that_needs_code_to_unpickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("never run",))

    _save_run(tmp_path)
    torch.save({"epoch": 1, "val_loss": 0.0, "model_state_dict": _hpe3d_state("Decoder3D"), "x": Evil()},
               tmp_path / "wandering-sky-7_Decoder3D.pt")
    with pytest.raises(CheckpointError, match="arbitrary code"):
        load_hpe3d(tmp_path / "wandering-sky-7_Encoder2D.pt")


def test_the_checkpoint_reader_opens_an_hpe3d_part_as_a_vae_lifter(tmp_path):
    from hpe_core.models.checkpoint import inspect_checkpoint, load_checkpoint

    path = _save_run(tmp_path)
    model, info = load_checkpoint(tmp_path / "wandering-sky-7_Decoder3D.pt")
    assert (info.family, info.layout, info.joints, info.skeleton) == ("vae_lifter", "hpe3d", 17, "h36m17")
    direct, _ = load_hpe3d(path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), direct.state_dict().values()))
    assert inspect_checkpoint(path).family == "vae_lifter"
    (tmp_path / "wandering-sky-7_Decoder3D.pt").unlink()
    with pytest.raises(CheckpointError, match="no decoder file"):
        load_checkpoint(path)


def test_an_unsafe_sibling_is_refused_through_the_checkpoint_reader_too(tmp_path):
    from hpe_core.models.checkpoint import load_checkpoint

    class Evil:
        def __reduce__(self):
            return (print, ("never run",))

    path = _save_run(tmp_path)
    torch.save({"epoch": 1, "val_loss": 0.0, "model_state_dict": _hpe3d_state("Encoder2D"), "x": Evil()},
               tmp_path / "wandering-sky-7_Encoder2D.pt")
    with pytest.raises(CheckpointError, match="Encoder2D.pt: refused: unpickling it needs arbitrary code"):
        load_checkpoint(path)


# ----------------------------------------------------------------------------- fk decoder (seed 004)
def test_fk_decoder_keeps_the_prior_bone_lengths_exactly_in_any_orientation(tmp_path):
    from hpe_core.kinematics import bone_lengths
    from hpe_core.models.checkpoint import load_checkpoint, save_checkpoint
    from hpe_core.models.fk_head import prior_lengths

    torch.manual_seed(0)
    m = VAELifter(resolve_config(skeleton="panoptic19", neurons=32, latent_dim=4, pose_head="fk")).double().eval()
    with torch.no_grad():
        pose = m.decode(torch.randn(64, 4, dtype=torch.float64) * 3)
    assert torch.equal(pose[:, 0], torch.zeros(64, 3, dtype=torch.float64))
    lengths = bone_lengths(pose.numpy() * m.config["unit_mm"], "panoptic19")  # (N, J) mm
    assert np.allclose(lengths, np.asarray(prior_lengths("panoptic19"))[None], atol=1e-6)
    heading = pose[:, 1] / pose[:, 1].norm(dim=1, keepdim=True)  # the poses are not all turned alike
    assert float(heading.std(dim=0).norm()) > 0.1
    save_checkpoint(tmp_path / "fk.pt", m.float())
    again, info = load_checkpoint(tmp_path / "fk.pt")
    assert again.config["pose_head"] == "fk" and again.config["bone_lengths"] == m.config["bone_lengths"]
    z = torch.randn(3, 4)
    assert torch.allclose(again.decode(z), m.decode(z), atol=1e-6)


def test_rotation_6d_gives_proper_rotations():
    from hpe_core.models.vae_lifter import rotation_6d

    R = rotation_6d(torch.randn(50, 6, dtype=torch.float64))
    assert torch.allclose(R.transpose(1, 2) @ R, torch.eye(3, dtype=torch.float64).expand(50, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(50, dtype=torch.float64), atol=1e-12)
