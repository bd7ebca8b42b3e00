"""The first convolution's filters: image grids, sums, frequency responses and a classification.

Classification rule (seed 000, section 5), scale-invariant: for a 2D kernel ``k`` let
``S = sum(k)`` (its response to a flat image, the DC gain), ``F = |FFT2(k)|`` on a 32 x 32 grid,
and ``r = |S| / max(F)`` (in 0..1, since ``F`` at frequency zero is ``|S|``).

- ``low-pass`` (smoothing): ``r >= 0.7`` and ``S > 0``: no frequency passes better than a flat area;
- ``inverting`` (photographic negative): ``r >= 0.7`` and ``S < 0``: a smoothing filter with its
  sign flipped, dark becomes bright;
- ``high-pass`` (edges, detail): ``r <= 0.3``: flat areas are nearly cancelled;
- ``mixed``: anything in between (band-pass, oriented, part smoothing part edge);
- ``dead``: a filter whose energy (L2 norm over all its channels) is under 5% of the largest
  filter's in the layer.
A colour filter (C channels) is classified on the sum of its channels (its response to a grey
image); if its channels include both a low-pass and an inverting one (colour opponent) it is
``mixed``. Ratios do not change when weights are scaled, so the rule is scale-invariant. The two
red-channel kernels printed in seed 000 give r = 0.0014 (high-pass, sum 0.0071) and r = 1.0
(low-pass, sum 2.4751).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError

CLASSES = ("low-pass", "high-pass", "inverting", "mixed", "dead")
LOW_RATIO, HIGH_RATIO, DEAD_ENERGY, FFT_SIZE = 0.7, 0.3, 0.05, 32
CHANNELS = ("r", "g", "b")


def dc_ratio(kernel: np.ndarray, size: int = FFT_SIZE) -> float:
    """``|sum| / max |FFT|`` of a (kh, kw) kernel, in 0..1 (0 for an all-zero kernel)."""
    peak = float(np.abs(np.fft.fft2(np.asarray(kernel, np.float64), s=(size, size))).max())
    return abs(float(np.sum(kernel, dtype=np.float64))) / peak if peak > 0 else 0.0


def classify_kernel(kernel: np.ndarray) -> str:
    """Class of one (kh, kw) kernel by the rule of the module docstring (never "dead")."""
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2:
        raise InputError(f"kernel: expected a (kh, kw) array, got shape {k.shape}")
    r, s = dc_ratio(k), float(k.sum())
    if r >= LOW_RATIO:
        return "low-pass" if s > 0 else "inverting"
    return "high-pass" if r <= HIGH_RATIO else "mixed"


def classify_filter(weights: np.ndarray, reference_energy: float | None = None) -> str:
    """Class of one (C, kh, kw) filter; ``reference_energy`` is the layer's largest filter norm."""
    w = np.asarray(weights, np.float64)
    energy = float(np.sqrt((w ** 2).sum()))
    ref = energy if reference_energy is None else float(reference_energy)
    if energy == 0.0 or energy < DEAD_ENERGY * ref:
        return "dead"
    channel = {classify_kernel(k) for k in w}
    if {"low-pass", "inverting"} <= channel:
        return "mixed"
    return classify_kernel(w.sum(0))


def frequency_response(weights: np.ndarray, size: int = FFT_SIZE) -> np.ndarray:
    """(..., kh, kw) kernels -> (..., size, size) FFT magnitudes, zero frequency at the centre."""
    w = np.asarray(weights, np.float64)
    mag = np.abs(np.fft.fft2(w, s=(size, size), axes=(-2, -1)))
    return np.fft.fftshift(mag, axes=(-2, -1)).astype(np.float32)


@dataclass(frozen=True)
class KernelReport:
    """conv1 analysis: weights (O, C, kh, kw), sums (O, C), classes and ratios per filter."""

    weights: np.ndarray
    sums: np.ndarray            # (O, C) per-channel sums
    classes: tuple[str, ...]    # (O,) filter classes
    channel_classes: tuple[tuple[str, ...], ...]  # (O, C)
    ratios: np.ndarray          # (O,) dc ratio of the channel-summed kernel
    energies: np.ndarray        # (O,) L2 norm of each filter

    def counts(self) -> dict[str, int]:
        return {c: sum(1 for k in self.classes if k == c) for c in CLASSES}

    def entries(self) -> list[dict]:
        names = CHANNELS if self.weights.shape[1] == 3 else tuple(str(c) for c in range(self.weights.shape[1]))
        out = []
        for i, cls in enumerate(self.classes):
            sums = {n: round(float(v), 6) for n, v in zip(names, self.sums[i])}
            sums["total"] = round(float(self.sums[i].sum()), 6)
            out.append({"index": i, "class": cls, "sums": sums,
                        "channel_classes": dict(zip(names, self.channel_classes[i])),
                        "dc_ratio": round(float(self.ratios[i]), 6), "energy": round(float(self.energies[i]), 6)})
        return out

    def to_dict(self) -> dict:
        return {"filters": self.entries(), "counts": self.counts(), "shape": list(self.weights.shape),
                "rule": {"low_ratio": LOW_RATIO, "high_ratio": HIGH_RATIO, "dead_energy": DEAD_ENERGY,
                         "fft_size": FFT_SIZE}}


def conv1_weight(model) -> np.ndarray:
    """(O, C, kh, kw) float32 conv1 weights of an HPEModel, a ResNet, or an array given directly."""
    if isinstance(model, np.ndarray):
        w = model
    else:
        module = getattr(model, "encoder", model)
        conv = getattr(module, "conv1", None)
        if conv is None or not hasattr(conv, "weight"):
            raise InputError(f"{type(model).__name__} has no conv1 layer")
        w = conv.weight.detach().float().cpu().numpy()
    if w.ndim != 4:
        raise InputError(f"conv1 weights: expected (O, C, kh, kw), got shape {w.shape}")
    return np.asarray(w, np.float32)


def conv1_kernels(model) -> KernelReport:
    """Analyse the conv1 filters of ``model`` (or an (O, C, kh, kw) array)."""
    w = conv1_weight(model).astype(np.float64)
    energies = np.sqrt((w ** 2).sum(axis=(1, 2, 3)))
    ref = float(energies.max()) if len(energies) else 0.0
    classes = tuple(classify_filter(f, ref) for f in w)
    channel_classes = tuple(tuple(classify_kernel(k) for k in f) for f in w)
    ratios = np.array([dc_ratio(f.sum(0)) for f in w])
    return KernelReport(w.astype(np.float32), w.sum(axis=(2, 3)), classes, channel_classes, ratios, energies)


def kernel_grid(weights: np.ndarray, mode: str = "rgb", columns: int | None = None, scale: int = 4,
                pad: int = 1) -> np.ndarray:
    """An (H, W, 3) uint8 image of (O, C, kh, kw) filters, each normalised on its own.

    mode "rgb": one tile per filter, its channels as RGB (needs C == 3), scaled to 0..255 over
    the filter's min..max. mode "channels": one grey tile per (filter, channel), filters in rows.
    Tiles are enlarged ``scale`` times (nearest neighbour) and separated by ``pad`` pixels.
    """
    w = conv1_weight(np.asarray(weights))
    o, c, kh, kw = w.shape
    if mode == "rgb":
        if c != 3:
            raise InputError(f"kernel grid: mode 'rgb' needs 3 input channels, the filters have {c}")
        tiles = [_normalise(f).transpose(1, 2, 0) for f in w]
        columns = columns or int(np.ceil(np.sqrt(o)))
    elif mode == "channels":
        tiles = [np.repeat(_normalise(k)[:, :, None], 3, axis=2) for f in w for k in f]
        columns = c
    else:
        raise InputError(f"kernel grid: mode {mode!r}; valid: rgb, channels")
    return tile_images(tiles, columns, scale, pad)


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)


def tile_images(tiles: list[np.ndarray], columns: int, scale: int = 1, pad: int = 1) -> np.ndarray:
    """Lay (h, w, 3) float tiles in 0..1 on a grid; returns (H, W, 3) uint8."""
    if not tiles:
        raise InputError("nothing to draw: no tiles")
    h, w = tiles[0].shape[0] * scale, tiles[0].shape[1] * scale
    rows = int(np.ceil(len(tiles) / columns))
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        big = np.kron(np.clip(tile, 0, 1), np.ones((scale, scale, 1)))
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = np.round(big * 255).astype(np.uint8)
    return out


def initial_conv1(model, seed: int = 0) -> np.ndarray:
    """(O, C, kh, kw) conv1 of a fresh model of ``model``'s family and config built after
    ``torch.manual_seed(seed)``: the start of a training run with ``train.seed = seed`` (the loop
    seeds, then builds). The global torch generator is left as it was."""
    import torch

    from hpe_core.models import build_model

    config = {k: v for k, v in dict(getattr(model, "config", {}) or {}).items() if k not in ("family", "backbone")}
    family, backbone = getattr(model, "family", None), getattr(model, "backbone_name", None)
    if family is None or backbone is None:
        raise InputError(f"{type(model).__name__}: no family/backbone to rebuild its initialisation from")
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        fresh = build_model(family, backbone, **config)
    finally:
        torch.random.set_rng_state(state)
    return conv1_weight(fresh)


def init_difference(report: KernelReport, initial: np.ndarray) -> dict:
    """How far the filters of ``report`` moved from ``initial`` (same shape): the mean absolute
    difference over all weights and per class, the mean absolute initial weight (its scale), their
    ratio, and the classes the initial filters themselves get (what an untrained layer shows)."""
    w, w0 = np.asarray(report.weights, np.float64), np.asarray(initial, np.float64)
    if w.shape != w0.shape:
        raise InputError(f"conv1 {tuple(w.shape)} vs initialisation {tuple(w0.shape)}: shapes differ")
    diff = np.abs(w - w0).mean(axis=(1, 2, 3))
    scale = float(np.abs(w0).mean())
    per_class = {c: round(float(diff[[k == c for k in report.classes]].mean()), 6)
                 for c in CLASSES if c in report.classes}
    return {"mean_abs_diff": round(float(diff.mean()), 6), "mean_abs_init": round(scale, 6),
            "relative": round(float(diff.mean()) / scale, 4) if scale > 0 else None,
            "per_class": per_class, "init_counts": conv1_kernels(w0.astype(np.float32)).counts()}
