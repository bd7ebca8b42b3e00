"""Seed 000's findings on the demo: heads, controls, silhouettes, conv1 filters, orderings.

``hpe demo build`` trains (:mod:`hpe_core.studies.demo`) SimCLR, SimSiam and the section-6 retrained
SimCLR, then 1-, 2- and 3-layer heads on SimCLR and on an untrained encoder of the same shape (the
control), and 2-layer heads on SimSiam and on the retrained SimCLR. This module turns those runs
into the ``heads``, ``silhouette``, ``kernels`` and ``orderings`` entries of ``metrics.json``,
and ``markdown(metrics)`` into the README's demo tables (``hpe demo table``).

Orderings (each recorded as holding or not, with its numbers; test split, PA-MPJPE in mm):

- ``pretraining_matters``: SimCLR's 2-layer head at least 10 % better than the same head on the
  untrained encoder;
- ``simclr_beats_simsiam``: SimCLR's 2-layer head better than SimSiam's;
- ``both_beat_mean_pose``: both better than always predicting the training set's mean pose;
- ``two_layers_not_worse``: SimCLR's 2-layer head no worse than its 1-layer head;
- ``three_layers_no_better``: SimCLR's 3-layer head not better than its 2-layer head;
- ``projection_silhouette_higher``: SimCLR's projection-head features have a higher silhouette
  (k-means clusters) than its encoder features;
- ``retrained_better``: the 2-layer head on the section-6 retrained SimCLR beats the first one's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: required gain of SimCLR over the untrained control with the same head (the issue's 10 %)
MIN_GAIN = 0.10
SILHOUETTE_LAYERS = ("encoder", "projection")
CLUSTERS = 8


def head_errors(final: dict) -> dict:
    """The test-split figures of a head's final evaluation (mm)."""
    test = final.get("test", {})
    return {"mpjpe": test.get("mpjpe"), "pa_mpjpe": test.get("pa_mpjpe"), "mean_distance": test.get("mean_distance"),
            "pa_mpjpe_gain_over_baseline": final.get("pa_mpjpe_gain_over_baseline")}


def heads_table(figures: dict, heads: dict) -> dict:
    """``{encoder: {layers: errors}}`` from the runs' figures (``heads``: run -> (encoder, layers))."""
    out: dict = {}
    for name, (encoder, layers) in heads.items():
        if name in figures:
            out.setdefault(encoder, {})[str(layers)] = head_errors(figures[name]["final"])
    return out


def silhouettes(checkpoints: dict, dataset: Path, cache: Path, max_samples: int, seed: int = 0) -> dict:
    """``{encoder: {layer: silhouette}}``: k-means (``CLUSTERS``) on each layer's test-split features."""
    from hpe_core.analysis.clustering import kmeans
    from hpe_core.analysis.features import EmbedSpec, compute_embeddings
    from hpe_core.analysis.silhouette import silhouette_score

    out = {}
    for name, path in checkpoints.items():
        emb = compute_embeddings(EmbedSpec(path, dataset, SILHOUETTE_LAYERS, "test", max_samples, seed,
                                           device="cpu", cache_dir=cache))
        out[name] = {}
        for layer, x in emb.features.items():
            x = np.asarray(x, np.float32)
            k = min(CLUSTERS, len(x) - 1)
            labels = kmeans(x, k, seed=seed).labels if k >= 2 else None
            ok = labels is not None and 2 <= len(np.unique(labels)) <= len(x) - 1
            out[name][layer] = round(float(silhouette_score(x, labels)), 4) if ok else None
    return out


def kernels_summary(checkpoint: Path) -> dict:
    """conv1 classes of ``checkpoint`` and how far its filters moved from their initialisation."""
    from hpe_core.analysis.kernels import conv1_kernels, init_difference, initial_conv1
    from hpe_core.models import load_checkpoint

    model, info = load_checkpoint(checkpoint, device="cpu")
    report = conv1_kernels(model)
    seed = int(info.training.get("config", {}).get("train", {}).get("seed", 0) or 0)
    return {"counts": report.counts(), "init": {"seed": seed, **init_difference(report, initial_conv1(model, seed))}}


def _pa(heads: dict, encoder: str, layers: int):
    return heads.get(encoder, {}).get(str(layers), {}).get("pa_mpjpe")


def _check(name: str, holds, text: str) -> dict:
    return {"name": name, "holds": None if holds is None else bool(holds), "numbers": text}


def orderings(heads: dict, baseline_pa: float | None, silhouette: dict) -> list[dict]:
    """The seed's orderings as ``{"name", "holds" (True/False/None when a figure is missing), "numbers"}``."""
    c1, c2, c3 = (_pa(heads, "simclr", k) for k in (1, 2, 3))
    r2, s2, t2 = _pa(heads, "random", 2), _pa(heads, "simsiam", 2), _pa(heads, "simclr_retrained", 2)
    out = []
    gain = None if c2 is None or r2 is None else 1 - c2 / r2
    out.append(_check("pretraining_matters", None if gain is None else gain >= MIN_GAIN,
                      f"SimCLR {_mm(c2)} vs untrained {_mm(r2)} (2-layer heads): {_pct(gain)} better, "
                      f"{MIN_GAIN:.0%} needed"))
    out.append(_check("simclr_beats_simsiam", None if None in (c2, s2) else c2 < s2, f"SimCLR {_mm(c2)} vs SimSiam {_mm(s2)}"))
    out.append(_check("both_beat_mean_pose", None if None in (c2, s2, baseline_pa) else max(c2, s2) < baseline_pa,
                      f"SimCLR {_mm(c2)}, SimSiam {_mm(s2)} vs mean pose {_mm(baseline_pa)}"))
    out.append(_check("two_layers_not_worse", None if None in (c1, c2) else c2 <= c1, f"2 layers {_mm(c2)} vs 1 layer {_mm(c1)}"))
    out.append(_check("three_layers_no_better", None if None in (c2, c3) else c3 >= c2,
                      f"3 layers {_mm(c3)} vs 2 layers {_mm(c2)}"))
    sil = silhouette.get("simclr", {})
    enc, proj = sil.get("encoder"), sil.get("projection")
    out.append(_check("projection_silhouette_higher", None if None in (enc, proj) else proj > enc,
                      f"projection {_num(proj)} vs encoder {_num(enc)} ({CLUSTERS} k-means clusters)"))
    out.append(_check("retrained_better", None if None in (c2, t2) else t2 < c2,
                      f"retrained {_mm(t2)} vs first {_mm(c2)} (2-layer heads)"))
    return out


LABELS = {"simclr": "SimCLR", "simsiam": "SimSiam", "simclr_retrained": "SimCLR, retrained (section 6)",
          "random": "Untrained encoder (control)"}
TITLES = {"pretraining_matters": "SimCLR ≥ 10 % better than the untrained encoder, same head",
          "simclr_beats_simsiam": "SimCLR better than SimSiam",
          "both_beat_mean_pose": "SimCLR and SimSiam better than the mean pose",
          "two_layers_not_worse": "2 layers ≤ 1 layer", "three_layers_no_better": "3 layers not better than 2",
          "projection_silhouette_higher": "projection-head silhouette > encoder silhouette",
          "retrained_better": "section-6 retraining better"}


def markdown(metrics: dict) -> str:
    """The README's demo tables: every head (test split, mm) and the seed's orderings."""
    heads = metrics.get("heads", {})
    control = heads.get("random", {})
    rows = ["| Encoder | Head layers | PA-MPJPE | Mean distance (seed 000) | Gain over the untrained encoder |",
            "|---|---|---|---|---|"]
    for encoder in ("simclr", "simsiam", "simclr_retrained", "random"):
        for layers, e in sorted(heads.get(encoder, {}).items()):
            ref = control.get(layers, {}).get("pa_mpjpe")
            gain = "—" if encoder == "random" or ref is None or e["pa_mpjpe"] is None else _pct(1 - e["pa_mpjpe"] / ref)
            rows.append(f"| {LABELS.get(encoder, encoder)} | {layers} | {_num(e['pa_mpjpe'], 1)} | "
                        f"{_num(e['mean_distance'], 1)} | {gain} |")
    base = metrics.get("summary", {}).get("simclr", {})
    rows.append(f"| Mean-pose baseline | — | {_num(base.get('baseline_pa_mpjpe'), 1)} | "
                f"{_num(base.get('baseline_mean_distance'), 1)} | — |")
    found = ["", "| Seed 000's finding | Holds on the demo | Numbers |", "|---|---|---|"]
    for o in metrics.get("orderings", []):
        mark = {True: "yes", False: "**no**", None: "n/a"}[o["holds"]]
        found.append(f"| {TITLES.get(o['name'], o['name'])} | {mark} | {o['numbers']} |")
    k = metrics.get("kernels")
    if k:
        counts = ", ".join(f"{v} {c}" for c, v in k["counts"].items() if v)
        init = k["init"]
        found += ["", f"SimCLR conv1: {counts}; mean |w − w₀| from its initialisation {init['mean_abs_diff']:.4f} "
                      f"({init['relative']:.2f} × the initial mean |w₀|); the untrained filters: "
                  + ", ".join(f"{v} {c}" for c, v in init["init_counts"].items() if v) + "."]
    if not heads:
        found.append("\n(this metrics.json records no heads: it predates the seed-000 step of issue 19; "
                     "rerun `hpe demo build --only contrastive`)")
    return "\n".join(rows + found) + "\n"


def _mm(v) -> str:
    return "n/a" if v is None else f"{v:.1f} mm"


def _num(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"
