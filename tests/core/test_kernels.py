"""conv1 filter analysis: the seed's printed kernels, closed-form filters, scale invariance, grids."""

import numpy as np
import pytest

from hpe_core.analysis.kernels import (
    classify_filter, classify_kernel, conv1_kernels, dc_ratio, frequency_response, kernel_grid,
)
from hpe_core.errors import InputError

# Seed 000, section 5.1: red channel of the high-pass filter (the report reads its sum as 0.0071).
SEED_HIGH_PASS = np.array([
    [0.0023, -0.0321, -0.0039, -0.0125, -0.0851, -0.0224, 0.1448],
    [0.0298, 0.0104, -0.0041, -0.0536, -0.3131, -0.3287, 0.0601],
    [0.0111, 0.0092, 0.1226, 0.1340, -0.3704, -0.5951, -0.2644],
    [0.0573, 0.0649, 0.3319, 0.6767, 0.2513, -0.2713, -0.2088],
    [-0.0967, -0.1151, 0.1277, 0.4881, 0.4082, -0.0066, -0.0822],
    [-0.0856, -0.2264, -0.0531, 0.2177, 0.2357, 0.0021, 0.0172],
    [0.0532, -0.1861, -0.1513, 0.0275, 0.1330, -0.0254, -0.0156]])
# Seed 000, section 5.2: red channel of the low-pass filter (sum 2.4751).
SEED_LOW_PASS = np.array([
    [0.0269, -0.0692, -0.0056, 0.0635, -0.0635, -0.0081, 0.0346],
    [0.0040, -0.0071, 0.1616, 0.2279, 0.0785, 0.0396, -0.0044],
    [-0.0517, 0.0185, 0.2755, 0.3411, 0.1082, 0.0609, 0.0029],
    [-0.0407, 0.0345, 0.2471, 0.2760, 0.0752, 0.0241, 0.0355],
    [-0.0399, -0.0210, 0.1453, 0.1981, 0.0657, -0.0254, -0.0307],
    [0.0087, -0.0295, 0.0759, 0.1380, 0.0080, -0.0373, -0.0433],
    [0.0190, -0.0311, 0.0251, 0.1204, 0.0474, -0.0036, -0.0005]])


def _gaussian(size=7, sigma=1.2):
    t = np.arange(size) - size // 2
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()


LAPLACIAN = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], float)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)


def test_seed_kernels_read_as_the_report_reads_them():
    # The printed values are rounded to 4 decimals: 49 entries move the sum by at most 0.00245.
    assert SEED_HIGH_PASS.sum() == pytest.approx(0.0071, abs=0.0025)
    assert SEED_LOW_PASS.sum() == pytest.approx(2.4751, abs=1e-4)
    assert classify_kernel(SEED_HIGH_PASS) == "high-pass"
    assert classify_kernel(SEED_LOW_PASS) == "low-pass"
    assert classify_kernel(-SEED_LOW_PASS) == "inverting"


@pytest.mark.parametrize("kernel, expected", [
    (_gaussian(), "low-pass"),
    (np.ones((5, 5)), "low-pass"),
    (-_gaussian(), "inverting"),
    (LAPLACIAN, "high-pass"),
    (SOBEL_X, "high-pass"),
    (_gaussian() + 0.25 * np.pad(LAPLACIAN, 2), "mixed"),  # DC 1, peak near 2
])
def test_closed_form_kernels(kernel, expected):
    assert classify_kernel(kernel) == expected


@pytest.mark.parametrize("scale", [1e-4, 0.37, 1.0, 250.0])
@pytest.mark.parametrize("kernel", [SEED_HIGH_PASS, SEED_LOW_PASS, -SEED_LOW_PASS, SOBEL_X])
def test_rule_is_scale_invariant(kernel, scale):
    assert classify_kernel(kernel * scale) == classify_kernel(kernel)
    assert dc_ratio(kernel * scale) == pytest.approx(dc_ratio(kernel), rel=1e-9)


def test_dc_ratio_closed_forms():
    assert dc_ratio(np.ones((3, 3))) == pytest.approx(1.0)
    assert dc_ratio(SOBEL_X) == pytest.approx(0.0, abs=1e-12)
    assert dc_ratio(np.zeros((3, 3))) == 0.0


def test_frequency_response_centre_is_the_sum_and_matches_a_direct_dft():
    k = SEED_LOW_PASS
    mag = frequency_response(k, size=16)
    assert mag.shape == (16, 16)
    assert mag[8, 8] == pytest.approx(abs(k.sum()), rel=1e-6)  # zero frequency at the centre
    u, v = 3, 5  # a slow DFT at one frequency
    y, x = np.mgrid[:7, :7]
    direct = abs((k * np.exp(-2j * np.pi * (u * y + v * x) / 16)).sum())
    assert mag[8 + u, 8 + v] == pytest.approx(direct, rel=1e-5)


def test_filters_colour_opponent_and_dead():
    lp = np.stack([SEED_LOW_PASS] * 3)
    assert classify_filter(lp) == "low-pass"
    assert classify_filter(np.stack([SEED_LOW_PASS, -SEED_LOW_PASS, np.zeros((7, 7))])) == "mixed"
    assert classify_filter(np.stack([SEED_HIGH_PASS] * 3)) == "high-pass"
    assert classify_filter(lp * 0.01, reference_energy=np.linalg.norm(lp)) == "dead"
    assert classify_filter(np.zeros((3, 7, 7))) == "dead"


def test_report_of_a_layer():
    weights = np.stack([np.stack([SEED_HIGH_PASS] * 3), np.stack([SEED_LOW_PASS] * 3),
                        -np.stack([SEED_LOW_PASS] * 3), np.zeros((3, 7, 7))]).astype(np.float32)
    report = conv1_kernels(weights)
    assert report.classes == ("high-pass", "low-pass", "inverting", "dead")
    entries = report.to_dict()["filters"]
    assert [e["index"] for e in entries] == [0, 1, 2, 3]
    assert entries[1]["sums"]["r"] == pytest.approx(2.4751, abs=1e-4)
    assert entries[1]["sums"]["total"] == pytest.approx(3 * 2.4751, abs=1e-3)
    assert report.counts() == {"low-pass": 1, "high-pass": 1, "inverting": 1, "mixed": 0, "dead": 1}


def test_report_of_a_real_model_matches_its_weights():
    import torch

    from hpe_core.models import build_model

    torch.manual_seed(0)
    model = build_model("simclr", "resnet18", width=8)
    report = conv1_kernels(model)
    w = model.encoder.conv1.weight.detach().numpy()
    assert report.weights.shape == (8, 3, 7, 7)
    np.testing.assert_allclose(report.sums, w.sum(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    assert all(c in ("low-pass", "high-pass", "inverting", "mixed", "dead") for c in report.classes)


@pytest.mark.parametrize("mode, shape", [("rgb", (2 * 9 + 1, 2 * 9 + 1, 3)), ("channels", (4 * 9 + 1, 3 * 9 + 1, 3))])
def test_kernel_grid_normalises_each_filter(mode, shape):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 4, 4)).astype(np.float32) * np.array([1, 10, 100, 1000])[:, None, None, None]
    img = kernel_grid(w, mode=mode, scale=2, pad=1)
    assert img.shape == shape and img.dtype == np.uint8
    tile = img[1:9, 1:9] if mode == "rgb" else img[1:9, 1:9, 0]
    assert tile.min() == 0 and tile.max() == 255  # each tile spans the full range, whatever its scale


def test_kernel_grid_rgb_needs_three_channels():
    with pytest.raises(InputError, match="needs 3 input channels"):
        kernel_grid(np.zeros((2, 1, 3, 3)), mode="rgb")


# ------------------------------------------------------------------------------ feature maps
def _ramp_image(h=40, w=48):
    y, x = np.mgrid[:h, :w]
    return np.stack([x * 5, y * 6, (x + y) * 2], -1).clip(0, 255).astype(np.uint8)


def test_filter_responses_closed_forms():
    from hpe_core.analysis.feature_maps import filter_responses
    from hpe_core.datasets.transforms import IMAGENET_MEAN, IMAGENET_STD

    box = np.zeros((3, 3, 5, 5), np.float32)
    box[0, 0] = 1 / 25            # red-channel box blur (low-pass)
    box[1, 0] = -1 / 25           # its photographic negative
    box[2, 1, 2, 1:4] = [-1, 0, 1]  # a horizontal derivative of green (high-pass)
    image = _ramp_image()
    out = filter_responses(image, box)
    assert out.shape == (3, 40, 48)
    red = (image[..., 0] / 255.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    green = (image[..., 1] / 255.0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1]
    inner = (slice(2, -2), slice(2, -2))
    blurred = np.mean([np.roll(np.roll(red, dy, 0), dx, 1) for dy in range(-2, 3) for dx in range(-2, 3)], 0)
    np.testing.assert_allclose(out[0][inner], blurred[inner], atol=1e-5)
    np.testing.assert_allclose(out[1], -out[0], atol=1e-6)
    np.testing.assert_allclose(out[2][inner], (green[:, 2:] - green[:, :-2])[2:-2, 1:-1], atol=1e-5)  # cross-correlation
    assert [classify_kernel(k[c]) for k, c in zip(box, (0, 0, 1))] == ["low-pass", "inverting", "high-pass"]


@pytest.mark.parametrize("layer, shape", [("conv1", (8, 32, 32)), ("layer1", (8, 16, 16)), ("layer4", (64, 2, 2))])
def test_feature_maps_are_the_model_maps(layer, shape):
    import torch

    from hpe_core.analysis.feature_maps import feature_map_grid, feature_maps
    from hpe_core.datasets.transforms import to_tensor
    from hpe_core.models import build_model

    torch.manual_seed(0)
    model = build_model("simclr", "resnet18", width=8)
    model.train()
    maps = feature_maps(model, _ramp_image(), layer, image_size=64)
    assert maps.shape == shape and model.training  # the mode is put back
    model.eval()
    with torch.no_grad():
        ref = model.features(to_tensor(_ramp_image(), 64)[None], (layer,), pooled=False)[layer][0].numpy()
    np.testing.assert_allclose(maps, ref, atol=1e-5)
    grid = feature_map_grid(maps)
    assert grid.dtype == np.uint8 and grid.ndim == 3


def test_feature_maps_unknown_layer():
    from hpe_core.analysis.feature_maps import feature_maps

    with pytest.raises(InputError, match="feature maps exist for conv1, layer1, layer2, layer3, layer4"):
        feature_maps(None, _ramp_image(), "encoder")
