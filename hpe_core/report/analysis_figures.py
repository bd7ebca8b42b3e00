"""Representation figures of the checkpoints of a report: the t-SNE of each model's encoder
features coloured by action with the silhouette (by action) of every layer, the conv1 filter
grid with each filter's class, and the linear CKA heatmap between the first two checkpoints.
Features come from :func:`hpe_core.analysis.features.compute_embeddings` on the report's samples;
the silhouette, projection, conv1 classes and CKA from :mod:`hpe_core.analysis`."""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import check_cancelled


def analysis_plots(columns, dataset, rows: np.ndarray, seed: int, device: str, progress) -> list[tuple]:
    """(name, title, draw(fig, width), aspect) of the representation figures (none without checkpoints)."""
    from hpe_core.analysis.compare import _layers_of
    from hpe_core.analysis.features import EmbedSpec, compute_embeddings
    from hpe_core.analysis.projections import project
    from hpe_core.analysis.silhouette import silhouette_score

    ckpts = [c for c in columns if c.kind == "checkpoint"]
    if not ckpts:
        return []
    feats, sil, coords = {}, {}, {}
    actions, action_names = dataset.labels("action") if dataset.has("action") else (None, [])
    for c in ckpts:
        check_cancelled(progress)
        progress.set_status(f"{c.name}: features of every layer")
        emb = compute_embeddings(EmbedSpec(c.source, str(dataset.path), _layers_of(c.source, None),
                                           indices=tuple(int(r) for r in rows), device=device, use_cache=False))
        feats[c.name] = (emb.indices, {k: np.asarray(v, np.float32) for k, v in emb.features.items()})
        if actions is not None and len(np.unique(actions[emb.indices])) >= 2:
            labels = actions[emb.indices]
            sil[c.name] = {k: silhouette_score(x, labels) for k, x in feats[c.name][1].items()}
            layer = "encoder" if "encoder" in feats[c.name][1] else list(feats[c.name][1])[-1]
            x = feats[c.name][1][layer]
            method = "tsne" if len(x) > 30 else "pca"
            coords[c.name] = (layer, method, project(x, method, 2, seed=seed).coords, labels)
    out = []
    if coords:
        out.append(("embedding", "Encoder features by action, silhouette per layer",
                    _embedding(coords, sil, action_names), 0.5 * len(coords)))
    out.append(("conv1_filters", "conv1 filters and their classes", _conv1(ckpts), 0.5 * len(ckpts)))
    if len(ckpts) >= 2:
        out.append(("cka", f"Linear CKA, {ckpts[0].name} vs {ckpts[1].name}",
                    _cka(feats[ckpts[0].name], feats[ckpts[1].name], ckpts[0].name, ckpts[1].name), 0.8))
    return out


def _embedding(coords, sil, action_names):
    from hpe_core.report.style import OKABE_ITO

    def draw(fig, width):
        axes = fig.subplots(len(coords), 2, squeeze=False)
        for r, (name, (layer, method, xy, labels)) in enumerate(coords.items()):
            ax = axes[r, 0]
            for k, a in enumerate(np.unique(labels)):
                m = labels == a
                ax.scatter(xy[m, 0], xy[m, 1], s=3, color=OKABE_ITO[k % len(OKABE_ITO)],
                           marker="os^Dv"[k // len(OKABE_ITO) % 5],
                           label=action_names[a] if a < len(action_names) else str(a))
            ax.set_title(f"{name}: {layer} ({method})")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.legend(fontsize=4, markerscale=1.5, frameon=False, ncol=2, loc="best")
            bx = axes[r, 1]
            layers = list(sil[name])
            bx.bar(range(len(layers)), [sil[name][k] for k in layers], color=OKABE_ITO[0])
            bx.set_xticks(range(len(layers)), layers, rotation=45)
            bx.set_ylabel("silhouette by action")
            bx.axhline(0, color="black", linewidth=0.5)
    return draw


def _conv1(ckpts):
    from hpe_core.analysis.kernels import CLASSES, conv1_kernels, kernel_grid
    from hpe_core.models import load_checkpoint

    reports = []
    for c in ckpts:
        model, _ = load_checkpoint(c.source)
        try:
            reports.append((c.name, conv1_kernels(model)))
        except InputError:
            continue

    def draw(fig, width):
        axes = fig.subplots(max(len(reports), 1), 2, squeeze=False, width_ratios=[2, 1])
        for r, (name, rep) in enumerate(reports):
            mode = "rgb" if rep.weights.shape[1] == 3 else "channels"
            axes[r, 0].imshow(kernel_grid(rep.weights, mode, scale=4), interpolation="nearest")
            axes[r, 0].set_title(f"{name}: conv1 ({rep.weights.shape[0]} filters)")
            axes[r, 0].axis("off")
            counts = rep.counts()
            axes[r, 1].barh(range(len(CLASSES)), [counts[k] for k in CLASSES])
            axes[r, 1].set_yticks(range(len(CLASSES)), CLASSES)
            axes[r, 1].invert_yaxis()
            axes[r, 1].set_xlabel("filters")
    return draw


def _cka(a, b, name_a, name_b):
    from hpe_core.analysis.similarity import cka_matrix

    common = np.intersect1d(a[0], b[0])
    fa = {k: v[np.searchsorted(a[0], common)] for k, v in a[1].items()}
    fb = {k: v[np.searchsorted(b[0], common)] for k, v in b[1].items()}
    la, lb, cka = cka_matrix(fa, fb)

    def draw(fig, width):
        ax = fig.add_subplot()
        im = ax.imshow(cka, vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(lb)), lb, rotation=45)
        ax.set_yticks(range(len(la)), la)
        ax.set_xlabel(name_b)
        ax.set_ylabel(name_a)
        for i in range(len(la)):
            for j in range(len(lb)):
                ax.text(j, i, f"{cka[i, j]:.2f}", ha="center", va="center", fontsize=5,
                        color="white" if cka[i, j] < 0.6 else "black")
        fig.colorbar(im, ax=ax, label="linear CKA")
    return draw
