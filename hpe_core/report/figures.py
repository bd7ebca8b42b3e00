"""Report figures (matplotlib, Agg), each saved as PDF, SVG and PNG at the width of one column
(3.5 in) and of two columns (7.16 in) of a paper, TrueType fonts embedded (``pdf.fonttype 42``),
Okabe-Ito colours (colour-blind safe). Plots: per-joint error, PCK curve 0-150 mm, per-sample
error histogram, error by camera; galleries (two columns only): the 24 worst samples and the
best / median / worst samples of each model, image with the ground-truth and predicted skeleton;
with ``analysis``, the representation figures of :mod:`.analysis_figures`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hpe_core.progress import check_cancelled

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTHS = {"1col": 3.5, "2col": 7.16}  # inches
FORMATS = ("pdf", "svg", "png")
GT_COLOUR = "#009E73"


def _style():
    import matplotlib

    matplotlib.use("Agg", force=False)
    matplotlib.rcParams.update({"pdf.fonttype": 42, "ps.fonttype": 42, "font.size": 8, "axes.titlesize": 8,
                                "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
                                "ytick.labelsize": 7, "svg.hashsalt": "hpe-report", "figure.dpi": 100,
                                "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO)})


def _save(fig, folder: Path, name: str) -> list[Path]:
    from hpe_core.atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in FORMATS:
        path = folder / f"{name}.{ext}"
        meta = {"pdf": {"CreationDate": None, "Producer": None}, "svg": {"Date": None}, "png": {"Software": None}}
        with atomic_path(path, suffix=f".{ext}") as tmp:
            fig.savefig(tmp, format=ext, dpi=300, bbox_inches="tight", metadata=meta[ext])
        out.append(path)
    return out


def scored_arrays(column, dataset):
    """``(pred (n,J,3), gt, visible, rows)`` of the samples ``column`` was scored on."""
    from hpe_core.inference.evaluate import match_rows

    rows = np.asarray(column.overall["rows"], np.int64)
    index = match_rows(column.prediction, dataset, column.source)
    where = {int(r): k for k, r in enumerate(index)}
    pick = np.array([where[int(r)] for r in rows], np.int64)
    pred = column.prediction.joints_3d[pick].astype(np.float64)
    return pred, np.asarray(dataset.joints_3d)[rows].astype(np.float64), np.asarray(dataset.visible)[rows], rows


def _plots(columns, dataset):
    """(name, title, draw(fig, width)) of the plots every report has."""
    from hpe_core.metrics import AUC_THRESHOLDS, pjpe

    names = [c.name for c in columns]
    joint_names = columns[0].overall["per_joint"]["joint_names"]
    errors = {}
    for c in columns:
        pred, gt, vis, rows = scored_arrays(c, dataset)
        errors[c.name] = (pjpe(pred, gt, vis, root="auto", skeleton=dataset.skeleton), rows)

    def per_joint(fig, width):
        ax = fig.add_subplot()
        x = np.arange(len(joint_names))
        w = 0.8 / len(columns)
        for k, c in enumerate(columns):
            ax.bar(x + (k - (len(columns) - 1) / 2) * w, c.overall["per_joint"]["mpjpe"], w, label=c.name)
        ax.set_xticks(x, joint_names, rotation=90)
        ax.set_ylabel("MPJPE (mm)")
        ax.legend(frameon=False)

    def pck_curve(fig, width):
        ax = fig.add_subplot()
        for name in names:
            err = errors[name][0]
            count = np.isfinite(err).sum()
            ax.plot(AUC_THRESHOLDS, [100.0 * (err <= t).sum() / count for t in AUC_THRESHOLDS], label=name)
        ax.set_xlabel("threshold (mm)")
        ax.set_ylabel("3D PCK (%)")
        ax.set_xlim(0, 150)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)

    def histogram(fig, width):
        ax = fig.add_subplot()
        per = [np.asarray(c.overall["per_sample"]["mpjpe"]) for c in columns]
        top = max(float(np.nanmax(p)) for p in per)
        bins = np.linspace(0, top, 30)
        for c, p in zip(columns, per):
            ax.hist(p[np.isfinite(p)], bins=bins, histtype="step", linewidth=1.2, label=c.name)
        ax.set_xlabel("per-sample MPJPE (mm)")
        ax.set_ylabel("samples")
        ax.legend(frameon=False)

    def by_camera(fig, width):
        ax = fig.add_subplot()
        cams, cam_names = dataset.labels("camera") if "camera" in dataset.available_labels() else \
            (np.asarray(dataset.camera_id, np.int64), [])
        for k, c in enumerate(columns):
            per = np.asarray(c.overall["per_sample"]["mpjpe"])
            cam = cams[np.asarray(c.overall["rows"])]
            ids = np.unique(cam)
            w = 0.8 / len(columns)
            ax.bar(np.arange(len(ids)) + (k - (len(columns) - 1) / 2) * w,
                   [np.nanmean(per[cam == i]) for i in ids], w, label=c.name)
        ax.set_xticks(np.arange(len(ids)), [cam_names[i] if i < len(cam_names) else str(i) for i in ids])
        ax.set_xlabel("camera")
        ax.set_ylabel("mean per-sample MPJPE (mm)")
        ax.legend(frameon=False)

    return [("per_joint_error", "MPJPE per joint", per_joint, 0.75),
            ("pck_curve", "3D PCK from 0 to 150 mm", pck_curve, 0.75),
            ("error_histogram", "Per-sample MPJPE", histogram, 0.65),
            ("error_by_camera", "MPJPE by camera", by_camera, 0.65)]


def make_figures(columns, dataset, rows, folder: Path, progress, analysis: bool = False, seed: int = 0,
                 device: str = "cpu") -> list[dict]:
    """Draw and save every figure; returns ``[{"name", "title", "files", "figure"}]`` (the
    two-column figure stays open for report.pdf; :func:`close` it after)."""
    import matplotlib.pyplot as plt

    from hpe_core.report.gallery import galleries

    _style()
    columns = [c for c in columns if c.overall.get("dims") == 3]
    if not columns:
        return []
    out = []
    plots = _plots(columns, dataset) + galleries(columns, dataset)
    if analysis:
        from hpe_core.report.analysis_figures import analysis_plots

        plots += analysis_plots(columns, dataset, rows, seed, device, progress)
    for k, (name, title, draw, aspect) in enumerate(plots):
        check_cancelled(progress)
        progress.set_status(f"figure {name}")
        files, keep = [], None
        widths = ("2col",) if aspect > 1.0 else tuple(WIDTHS)
        for size in widths:
            fig = plt.figure(figsize=(WIDTHS[size], WIDTHS[size] * aspect), layout="constrained")
            draw(fig, WIDTHS[size])
            files += _save(fig, folder / size, name)
            if size == "2col":
                keep = fig
            else:
                plt.close(fig)
        out.append({"name": name, "title": title, "files": files, "figure": keep})
        progress.set_progress((k + 1) / len(plots))
    return out


def close(figures: list[dict]) -> None:
    import matplotlib.pyplot as plt

    for f in figures:
        if f.get("figure") is not None:
            plt.close(f["figure"])
            f["figure"] = None
