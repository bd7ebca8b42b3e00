"""Seed 001's heatmap2d family: Gaussian targets, argmax / sub-pixel / soft-argmax decoding,
the block layout and its variants, block A from a SimCLR checkpoint, and the checkpoint round trip."""

import numpy as np
import pytest
import torch

from hpe_core.errors import InputError
from hpe_core.models import build_model, load_checkpoint, save_checkpoint
from hpe_core.models.families import FAMILIES
from hpe_core.models.families.heatmap2d import init_block_a
from hpe_core.models.heatmap import (PEAK, argmax_decode, deconv_padding, gaussian_targets, soft_argmax, to_heatmap,
                                     to_image)


def _joints(n=64, j=17, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 2.0 + (size - 4.0) * torch.rand(n, j, 2, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("ratio", [64.0, 12.8, 6.4])
def test_gaussian_targets_peak_255_at_the_joint_with_the_ratio_variance(ratio):
    size = 64
    joints = torch.tensor([[[10.0, 20.0], [33.0, 7.0]]])
    maps = gaussian_targets(joints, size, size / ratio)
    assert maps.shape == (1, 2, size, size)
    assert float(maps[0, 0, 20, 10]) == pytest.approx(PEAK) and float(maps[0, 1, 7, 33]) == pytest.approx(PEAK)
    # one pixel away the value is 255 exp(-1 / (2 var)), var = HMSize / ratio
    assert float(maps[0, 0, 20, 11]) == pytest.approx(PEAK * np.exp(-ratio / (2 * size)), rel=1e-5)
    # the spread: the empirical variance of the map along x equals the variance asked for
    centred = gaussian_targets(torch.tensor([[[32.0, 32.0]]]), size, size / ratio)  # away from the border
    row = centred[0, 0].sum(0).double()
    xs = torch.arange(size, dtype=torch.float64)
    mean = (row * xs).sum() / row.sum()
    assert float(((xs - mean) ** 2 * row).sum() / row.sum()) == pytest.approx(size / ratio, rel=1e-3)


def test_invisible_and_nan_joints_get_empty_maps():
    joints = torch.tensor([[[10.0, 20.0], [float("nan"), 3.0], [5.0, 5.0]]])
    maps = gaussian_targets(joints, 32, 5.0, visible=torch.tensor([[True, True, False]]))
    assert maps[0, 0].max() == pytest.approx(PEAK) and maps[0, 1].abs().max() == 0 and maps[0, 2].abs().max() == 0


def test_argmax_decoding_is_the_integer_peak_and_refinement_is_subpixel_within_a_tenth():
    size = 64
    joints = _joints(size=size)
    maps = gaussian_targets(joints.float(), size, size / 12.8)
    coarse, score = argmax_decode(maps)
    assert torch.equal(coarse, joints.float().round())  # the nearest pixel
    assert float((coarse - joints).abs().max()) <= 0.5 + 1e-6
    fine, _ = argmax_decode(maps, refine=True)
    err = (fine.double() - joints).abs()
    assert float(err.max()) < 0.1  # the must-show bound, in heatmap px
    assert float(err.mean()) < 0.01  # exact for a Gaussian up to float32 rounding
    assert float(score.min()) > PEAK * 0.8


def test_refinement_is_skipped_at_the_border_and_never_moves_more_than_half_a_pixel():
    maps = gaussian_targets(torch.tensor([[[0.0, 31.0], [1.3, 5.0]]]), 32, 5.0)
    fine, _ = argmax_decode(maps, refine=True)
    assert fine[0, 0].tolist() == [0.0, 31.0]
    assert abs(float(fine[0, 1, 0]) - 1.3) < 0.1
    noisy = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1)) - 0.5
    coarse, _ = argmax_decode(noisy)
    assert float((argmax_decode(noisy, refine=True)[0] - coarse).abs().max()) <= 0.5


def test_soft_argmax_finds_the_joint_and_passes_gradients_that_match_finite_differences():
    size = 32
    joints = _joints(n=4, j=3, size=size, seed=2).float().clamp(6, size - 7)
    maps = gaussian_targets(joints, size, size / 12.8)
    # beta 0.1 on a 255 peak is nearly an argmax: within the half pixel of the nearest one
    assert float((soft_argmax(maps, beta=0.1) - joints).abs().max()) < 0.5
    # gradient of the decoded x of one joint with respect to the heatmap, against finite differences
    hm = (maps[:1, :1] / PEAK * 20.0).double().requires_grad_(True)
    coords = soft_argmax(hm.double(), beta=1.0)
    assert coords.dtype == torch.float32 or coords.dtype == torch.float64
    torch.autograd.gradcheck(lambda h: _soft64(h), (hm,), eps=1e-6, atol=1e-6)
    coords = _soft64(hm)
    coords[0, 0, 0].backward()
    assert hm.grad.abs().sum() > 0
    # moving mass to the right moves the estimate right
    assert float(hm.grad[0, 0, :, -1].sum()) > 0 > float(hm.grad[0, 0, :, 0].sum())


def _soft64(h):
    n, j, hh, ww = h.shape
    p = torch.softmax(h.reshape(n, j, -1), -1).reshape(n, j, hh, ww)
    xs = torch.arange(ww, dtype=h.dtype)
    ys = torch.arange(hh, dtype=h.dtype)
    want = torch.stack([(p.sum(2) * xs).sum(-1), (p.sum(3) * ys).sum(-1)], -1)
    got = soft_argmax(h, beta=1.0)
    assert torch.allclose(got.double(), want, atol=1e-4)  # the library function, float32 inside
    return want


def test_image_and_heatmap_coordinates_invert_each_other():
    x = torch.tensor([[0.0, 0.0], [95.0, 47.5]])
    assert torch.allclose(to_image(to_heatmap(x, 96, 24), 96, 24), x)
    assert to_heatmap(torch.tensor([-0.5]), 96, 24).item() == pytest.approx(-0.5)  # the image edge is the map edge


@pytest.mark.parametrize("kernel,stride", [(4, 4), (3, 4), (6, 4), (4, 2), (3, 2), (6, 2)])
def test_every_deconvolution_variant_upscales_exactly(kernel, stride):
    pad, out_pad = deconv_padding(kernel, stride)
    deconv = torch.nn.ConvTranspose2d(1, 1, kernel, stride, pad, out_pad)
    assert deconv(torch.zeros(1, 1, 7, 7)).shape[-1] == 7 * stride


@pytest.mark.parametrize("options,size", [({}, 64), ({"deconv_strides": [4, 2]}, 128), ({"deconv_strides": [2, 2]}, 64),
                                          ({"deconv_strides": [2, 2, 2], "batch_norm": "layer"}, 128),
                                          ({"layer4_stride1": True, "batch_norm": "block"}, 64),
                                          ({"deconv_kernel": 6, "block_b": False}, 64)])
def test_block_a_is_1024x16x16_at_256px_for_resnet50_and_the_heatmap_size_follows_block_d(options, size):
    model = build_model("heatmap2d", "resnet50", width=8, skeleton="h36m17", **options)
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        a = model.block_a(x)
        maps = model(x)
    c = 8 * 8 * 4 if options.get("layer4_stride1") else 8 * 4 * 4  # layer4 / layer3 channels at width 8
    assert tuple(a.shape) == (1, c, 16, 16) and tuple(maps.shape) == (1, 17, size, size)
    assert model.heatmap_size(256) == size
    full = build_model("heatmap2d", "resnet50")  # the report's network: 1024 channels after block A
    assert full.encoder.stage_channels()["layer3"] == 1024


def test_bad_options_are_refused_with_the_option_named():
    with pytest.raises(InputError, match="batch_norm 'sometimes'"):
        build_model("heatmap2d", "resnet18", batch_norm="sometimes")
    with pytest.raises(InputError, match="deconvolution kernel 4 with stride 1"):
        build_model("heatmap2d", "resnet18", deconv_kernel=4, deconv_strides=[1])
    with pytest.raises(InputError, match="unknown option"):
        build_model("heatmap2d", "resnet18", hmsize=64)


def test_predict_gives_2d_in_input_pixels_heatmaps_and_scores_and_the_checkpoint_round_trips(tmp_path):
    torch.manual_seed(0)
    model = build_model("heatmap2d", "resnet18", width=4, skeleton="h36m17")
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        pred = FAMILIES["heatmap2d"].predict(model, {"image": x})
    assert pred.joints_2d.shape == (2, 17, 2) and pred.heatmaps.shape == (2, 17, 16, 16)
    assert pred.scores.shape == (2, 17) and pred.meta["heatmap_size"] == 16
    assert (pred.joints_2d >= -0.5).all() and (pred.joints_2d <= 63.5).all()
    path = save_checkpoint(tmp_path / "hm.pt", model)
    loaded, info = load_checkpoint(path, expect_family="heatmap2d", expect_joints=17)
    assert info.family == "heatmap2d" and info.joints == 17
    with torch.no_grad():
        again = FAMILIES["heatmap2d"].predict(loaded, {"image": x})
    assert np.array_equal(again.joints_2d, pred.joints_2d)


def test_block_a_starts_from_a_simclr_encoder_and_refuses_one_that_does_not_fit(tmp_path):
    simclr = build_model("simclr", "resnet18", width=4, proj_dim=8)
    with torch.no_grad():
        for p in simclr.parameters():
            p.uniform_(-1, 1)
    path = save_checkpoint(tmp_path / "simclr.pt", simclr)
    model = build_model("heatmap2d", "resnet18", width=4)
    keys = init_block_a(model, load_checkpoint(path)[0], str(path))
    assert keys and all(torch.equal(model.encoder.state_dict()[k], simclr.encoder.state_dict()[k]) for k in keys)
    assert not any(k.startswith("layer4") for k in keys)  # block A stops at layer3
    with pytest.raises(InputError, match="does not fit block A"):
        init_block_a(build_model("heatmap2d", "resnet18", width=8), load_checkpoint(path)[0], str(path))
