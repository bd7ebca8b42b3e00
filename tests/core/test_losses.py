"""Losses against slow loops written from their papers, closed forms, invariances, gradients
and real optimisation steps."""

import math

import numpy as np
import pytest
import torch

from hpe_core import losses as L
from hpe_core.geometry import random_rotations


def emb(b=6, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g, dtype=torch.float64)


# ------------------------------------------------------------------------------- NT-Xent
def nt_xent_loop(z1, z2, tau):
    """SimCLR eq. 1: l(i, j) = -log exp(sim(i,j)/tau) / sum_{k != i} exp(sim(i,k)/tau), mean over 2N."""
    z = torch.cat([z1, z2])
    n = len(z1)
    sim = lambda a, b: float(a @ b / (a.norm() * b.norm()))  # noqa: E731
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        denom = sum(math.exp(sim(z[i], z[k]) / tau) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(sim(z[i], z[j]) / tau) / denom)
    return total / (2 * n)


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_nt_xent_matches_paper_loop(tau):
    z1, z2 = emb(seed=1), emb(seed=2)
    assert float(L.nt_xent(z1, z2, tau)) == pytest.approx(nt_xent_loop(z1, z2, tau), rel=1e-10)


@pytest.mark.parametrize("n, tau", [(2, 0.5), (4, 0.1), (8, 1.0)])
def test_nt_xent_closed_form_for_aligned_orthogonal_pairs(n, tau):
    z = torch.eye(16, dtype=torch.float64)[:n] * 3.0  # scale is normalised away
    expected = math.log(1 + (2 * n - 2) * math.exp(-1 / tau))
    assert float(L.nt_xent(z, z.clone(), tau)) == pytest.approx(expected, rel=1e-12)


def test_nt_xent_is_invariant_to_batch_order_and_lower_when_aligned():
    z1, z2 = emb(8, seed=3), emb(8, seed=4)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    assert float(L.nt_xent(z1[perm], z2[perm])) == pytest.approx(float(L.nt_xent(z1, z2)))
    assert float(L.nt_xent(z1, z1 + 0.01 * z2)) < float(L.nt_xent(z1, z2))


# ------------------------------------------------------------------------------ SimSiam
def test_simsiam_matches_definition_and_stops_gradient():
    p1, p2 = emb(seed=5).requires_grad_(), emb(seed=6).requires_grad_()
    z1, z2 = emb(seed=7).requires_grad_(), emb(seed=8).requires_grad_()
    loss = L.simsiam_loss(p1, p2, z1, z2)
    cos = lambda a, b: float(a @ b / (a.norm() * b.norm()))  # noqa: E731
    with torch.no_grad():
        ref = np.mean([-0.5 * cos(p1[i], z2[i]) - 0.5 * cos(p2[i], z1[i]) for i in range(6)])
    assert loss.item() == pytest.approx(ref, rel=1e-12)
    loss.backward()
    assert z1.grad is None and z2.grad is None  # stop-gradient on the targets
    assert p1.grad.abs().sum() > 0 and p2.grad.abs().sum() > 0


def test_simsiam_is_minus_one_when_aligned():
    z = emb(seed=9)
    assert float(L.simsiam_loss(2 * z, 3 * z, z, z)) == pytest.approx(-1.0)


# ---------------------------------------------------------------------- pair InfoNCE
def info_nce_loop(xs, xt, tau):
    xs = [x / x.norm() for x in xs]
    xt = [x / x.norm() for x in xt]
    return np.mean([-math.log(math.exp(float(xs[i] @ xt[i]) / tau)
                              / sum(math.exp(float(xs[i] @ xt[k]) / tau) for k in range(len(xt))))
                    for i in range(len(xs))])


@pytest.mark.parametrize("tau", [1 / 14, 0.2, 1.0])
def test_info_nce_matches_eq_1(tau):
    xs, xt = emb(seed=10), emb(seed=11)
    assert float(L.info_nce(xs, xt, tau)) == pytest.approx(info_nce_loop(xs, xt, tau), rel=1e-10)
    both = 0.5 * (info_nce_loop(xs, xt, tau) + info_nce_loop(xt, xs, tau))
    assert float(L.info_nce(xs, xt, tau, symmetric=True)) == pytest.approx(both, rel=1e-10)


def test_info_nce_closed_form_for_orthogonal_pairs():
    x = torch.eye(8, dtype=torch.float64)[:5]
    assert float(L.info_nce(x, x, 0.2)) == pytest.approx(math.log(1 + 4 * math.exp(-5)), rel=1e-12)


def test_learnable_temperature_is_clamped_and_learns():
    loss_fn = L.PairInfoNCE(tau0=0.5, tau_min=0.05, tau_max=2.0)
    with torch.no_grad():
        loss_fn.temperature.log_tau.fill_(10.0)
    assert loss_fn.temperature().item() == pytest.approx(2.0)
    xs = emb(8, seed=12).float().requires_grad_()
    xt = (xs.detach() + 0.1 * emb(8, seed=13).float())
    opt = torch.optim.Adam([xs, *loss_fn.parameters()], lr=0.05)
    first = None
    for _ in range(30):  # three uses of one temperature per step, as UniHPE does
        loss = loss_fn(xs, xt) + loss_fn(xt, xs) + loss_fn(xs, xs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        assert 0.05 - 1e-6 <= loss_fn.temperature().item() <= 2.0 + 1e-6
    assert loss.item() < first
    assert loss_fn.temperature().item() < 2.0  # a lower temperature sharpens aligned pairs


# --------------------------------------------------------------- singular-value triplet
def triplet_loop(xi, x2, x3, tau, index):
    """UniHPE Alg. 2 literally: M (3, D) per triplet, lambda_1 = sigma_1(M)^2, InfoNCE over B."""
    xs = [x / x.norm(dim=1, keepdim=True) for x in (xi, x2, x3)]
    b = len(xi)
    total = 0.0
    for a in range(b):
        logits = []
        for k in range(b):
            M = torch.stack([xs[m][index[a, k, m]] for m in range(3)])
            logits.append(float(torch.linalg.svdvals(M)[0]) ** 2 / tau)
        total += -logits[0] + math.log(sum(math.exp(v) for v in logits))
    return total / b


def test_triplet_indices_follow_algorithm_1():
    b = 7
    idx = L.triplet_indices(b, torch.Generator().manual_seed(3))
    assert idx.shape == (b, b, 3)
    assert (idx[:, 0] == torch.arange(b)[:, None]).all()  # positive triplet (b, b, b)
    assert (idx[:, :, 0] == torch.arange(b)[:, None]).all()  # the image is always the anchor
    for i in range(1, b):
        for j in (1, 2):
            assert sorted(idx[:, i, j].tolist()) == list(range(b))  # a permutation per slot
    again = L.triplet_indices(b, torch.Generator().manual_seed(3))
    assert torch.equal(idx, again)


@pytest.mark.parametrize("tau", [0.1, 0.2, 1.0])
def test_triplet_loss_matches_svd_loop(tau):
    xi, x2, x3 = emb(5, 12, seed=14), emb(5, 12, seed=15), emb(5, 12, seed=16)
    idx = L.triplet_indices(5, torch.Generator().manual_seed(1))
    got = float(L.svd_triplet_info_nce(xi, x2, x3, tau, index=idx))
    assert got == pytest.approx(triplet_loop(xi, x2, x3, tau, idx), rel=1e-9)


def test_triplet_loss_is_lower_for_aligned_triplets_than_shuffled():
    x = emb(16, 32, seed=17)
    g = torch.Generator().manual_seed(0)
    aligned = float(L.svd_triplet_info_nce(x, x + 0.05 * emb(16, 32, seed=18), x, 0.2, generator=g))
    perm = torch.randperm(16, generator=g)
    shuffled = float(L.svd_triplet_info_nce(x, x[perm], x[torch.roll(perm, 1)], 0.2, generator=g))
    assert aligned < shuffled - 1.0
    positive = torch.linalg.svdvals(torch.stack([x[0], x[0], x[0]]) / x[0].norm())[0] ** 2
    assert float(positive) == pytest.approx(3.0)  # lambda_1 of three equal unit rows


def test_triplet_loss_trains_three_encoders_together():
    torch.manual_seed(0)
    data = torch.randn(32, 10)
    heads = [torch.nn.Linear(10, 8) for _ in range(3)]
    opt = torch.optim.Adam([p for h in heads for p in h.parameters()], lr=0.02)
    loss_fn = L.TripletInfoNCE()
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        loss = loss_fn(*(h(data) for h in heads), generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])


# ---------------------------------------------------------------- rotation-aligned loss
def rotation_loss_loop(pred, gt, root=0):
    """Seed 000 sec. 3.1 per pose: centre on the root, Kabsch (SVD, det fix), then MSE."""
    out = []
    for p, g in zip(pred.double().numpy(), gt.double().numpy()):
        p, g = p - p[root], g - g[root]
        U, _, Vt = np.linalg.svd(p.T @ g)
        d = np.sign(np.linalg.det(Vt.T @ U.T))
        R = Vt.T @ np.diag([1.0, 1.0, d]) @ U.T
        out.append(((p @ R.T - g) ** 2).mean())
    return np.mean(out)


def pose_batch(b=6, j=19, seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=300.0, size=(b, j, 3))
    return torch.tensor(gt + rng.normal(scale=40.0, size=gt.shape)), torch.tensor(gt)


def test_rotation_aligned_loss_matches_seed_loop():
    pred, gt = pose_batch(seed=1)
    assert float(L.rotation_aligned_pose_loss(pred, gt)) == pytest.approx(rotation_loss_loop(pred, gt),
                                                                          rel=1e-9)


def test_rotation_aligned_loss_is_zero_for_rotated_copy_but_not_for_mirror():
    _, gt = pose_batch(seed=2)
    R = torch.tensor(random_rotations(6, np.random.default_rng(0)))
    rotated = torch.einsum("nab,njb->nja", R, gt - gt[:, :1]) + 123.0
    assert float(L.rotation_aligned_pose_loss(rotated, gt)) == pytest.approx(0.0, abs=1e-12)
    mirror = (gt - gt[:, :1]) * torch.tensor([1.0, -1.0, 1.0], dtype=gt.dtype)
    mirrored_loss = float(L.rotation_aligned_pose_loss(mirror, gt))
    assert mirrored_loss > 1000.0
    assert mirrored_loss == pytest.approx(rotation_loss_loop(mirror, gt), rel=1e-9)


def test_rotation_fitted_without_grad_gives_the_exact_gradient():
    """Envelope theorem: fixing the optimal rotation does not change the gradient."""
    from hpe_core.geometry import procrustes

    pred, gt = pose_batch(seed=3)
    a = pred.clone().requires_grad_()
    L.rotation_aligned_pose_loss(a, gt).backward()
    b = pred.clone().requires_grad_()
    centred = b - b[:, :1]
    aligned = procrustes(centred, gt - gt[:, :1], "rotation")  # differentiable through the SVD
    ((aligned - (gt - gt[:, :1])) ** 2).mean().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-7, atol=1e-10)


def test_rotation_aligned_loss_skips_invalid_nan_joints():
    pred, gt = pose_batch(seed=4)
    holey = gt.clone()
    holey[:, 7] = float("nan")
    valid = torch.ones(6, 19, dtype=torch.bool)
    valid[:, 7] = False
    keep = [j for j in range(19) if j != 7]
    got = L.rotation_aligned_pose_loss(pred, holey, valid=valid)
    assert torch.isfinite(got)
    assert float(got) == pytest.approx(float(L.rotation_aligned_pose_loss(pred[:, keep], gt[:, keep])))


def test_rotation_aligned_loss_trains_a_regressor():
    torch.manual_seed(0)
    _, gt = pose_batch(b=32, j=19, seed=5)
    gt = (gt - gt[:, :1]).float() / 100
    features = torch.randn(32, 20)
    head = torch.nn.Linear(20, 19 * 3)
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        loss = L.rotation_aligned_pose_loss(head(features).view(32, 19, 3), gt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.3 * first


# ------------------------------------------------------------------- heatmaps and KL
def test_heatmap_mse_matches_mse_and_drops_zero_weight_joints():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(2, 4, 8, 8, generator=g), torch.rand(2, 4, 8, 8, generator=g)
    assert float(L.heatmap_mse(pred, target)) == pytest.approx(float(torch.nn.functional.mse_loss(pred, target)))
    w = torch.ones(2, 4)
    w[:, 1] = 0
    moved = pred.clone()
    moved[:, 1] += 5.0
    assert float(L.heatmap_mse(moved, target, w)) == pytest.approx(float(L.heatmap_mse(pred, target, w)))


def test_vae_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(5, 7, generator=g, dtype=torch.float64), torch.randn(5, 7, generator=g,
                                                                                  dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    want = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert float(L.vae_kl(mu, logvar)) == pytest.approx(float(want), rel=1e-12)
    assert float(L.vae_kl(torch.zeros(3, 4), torch.zeros(3, 4))) == 0.0


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, argument", [
    (lambda: L.nt_xent(torch.zeros(4, 3), torch.zeros(5, 3)), "z2, z1"),
    (lambda: L.nt_xent(torch.zeros(4, 3), torch.zeros(4, 3), temperature=0), "temperature"),
    (lambda: L.simsiam_loss(torch.zeros(4, 3), torch.zeros(4, 3), torch.zeros(4, 2), torch.zeros(4, 3)),
     "z1, p1"),
    (lambda: L.info_nce(torch.zeros(0, 3), torch.zeros(0, 3), 0.1), "x_s"),
    (lambda: L.svd_triplet_info_nce(torch.zeros(4, 3), torch.zeros(4, 3), torch.zeros(3, 3), 0.1), "x_3d, x_img"),
    (lambda: L.svd_triplet_info_nce(torch.ones(4, 3), torch.ones(4, 3), torch.ones(4, 3), 0.1,
                                    index=torch.zeros(3, 3, 3, dtype=torch.long)), "index"),
    (lambda: L.rotation_aligned_pose_loss(torch.zeros(2, 5, 3), torch.zeros(2, 6, 3)), "gt, pred"),
    (lambda: L.rotation_aligned_pose_loss(torch.zeros(2, 5, 2), torch.zeros(2, 5, 2)), "pred"),
    (lambda: L.rotation_aligned_pose_loss(torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), root=9), "root"),
    (lambda: L.heatmap_mse(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 4), torch.ones(2, 4)), "weight"),
    (lambda: L.vae_kl(torch.zeros(3, 4), torch.zeros(3, 5)), "logvar, mu"),
    (lambda: L.nt_xent(np.zeros((4, 3)), np.zeros((4, 3))), "z1"),
    (lambda: L.LearnableTemperature(tau0=0.001, tau_min=0.01), "temperature"),
])
def test_bad_input_raises_value_error_naming_argument(call, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        call()


def test_losses_run_under_bfloat16_autocast():
    torch.manual_seed(0)
    x = torch.randn(8, 16)
    gt = torch.randn(8, 19, 3) * 3
    enc, head = torch.nn.Linear(16, 16), torch.nn.Linear(16, 57)
    idx = L.triplet_indices(8, torch.Generator().manual_seed(0))
    with torch.no_grad():
        exact = [L.svd_triplet_info_nce(enc(x), enc(x), enc(x), 0.2, index=idx),
                 L.rotation_aligned_pose_loss(head(x).view(8, 19, 3), gt)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z, pose = enc(x), head(x).view(8, 19, 3)
        assert z.dtype == torch.bfloat16
        got = [L.svd_triplet_info_nce(z, z, z, 0.2, index=idx), L.rotation_aligned_pose_loss(pose, gt)]
    sum(got).backward()
    for a, b in zip(got, exact):
        assert a.dtype == torch.float32 and a.item() == pytest.approx(b.item(), rel=0.05)
    assert torch.isfinite(head.weight.grad).all()
