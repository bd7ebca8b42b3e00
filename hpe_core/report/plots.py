"""The plots every report has, one function each, of each model's error measure (MPJPE, or
PA-MPJPE for a rotation-aligned head): the error per joint, the 3D PCK curve from 0 to 150 mm, the
histogram of per-sample errors and the error by camera."""

from __future__ import annotations

from functools import partial

import numpy as np

from hpe_core.report.scoring import scored_arrays


def standard_plots(columns, dataset) -> list[tuple]:
    """(name, title, draw(fig, width), aspect) of the plots every report has, each model drawn by
    its error measure (:mod:`hpe_core.error_measure`, the GUI's): a rotation-aligned head's
    per-joint error, PCK curve, histogram and camera means come from its aligned errors."""
    from hpe_core.report.scoring import measure_errors, measure_label

    errors = {}
    for c in columns:
        pred, gt, vis, _ = scored_arrays(c, dataset)
        errors[c.name] = measure_errors(c, pred, gt, vis, dataset.skeleton)
    shared = measure_label(columns)
    each = "" if shared else " (each model by its error measure)"
    measure = shared or "error"
    return [("per_joint_error", f"{shared or 'Error'} per joint{each}", partial(_per_joint, columns, measure), 0.75),
            ("pck_curve", f"3D PCK from 0 to 150 mm of {measure}{each}", partial(_pck_curve, columns, errors), 0.75),
            ("error_histogram", f"Per-sample {measure}{each}", partial(_histogram, columns, measure), 0.65),
            ("error_by_camera", f"{shared or 'Error'} by camera{each}", partial(_by_camera, columns, dataset, measure),
             0.65)]


def legend_name(column) -> str:
    """A model's name in a legend, with its error measure when that is not MPJPE."""
    return column.name if not column.measure.rotation_aligned else f"{column.name} ({column.measure.name})"


def _bar_offsets(k: int, n: int) -> tuple[float, float]:
    """Where the ``k``-th of ``n`` side-by-side bars sits about its tick, and the bars' width."""
    width = 0.8 / n
    return (k - (n - 1) / 2) * width, width


def _per_joint(columns, measure: str, fig, width) -> None:
    ax = fig.add_subplot()
    joint_names = columns[0].overall["per_joint"]["joint_names"]
    x = np.arange(len(joint_names))
    for k, c in enumerate(columns):
        shift, w = _bar_offsets(k, len(columns))
        ax.bar(x + shift, c.overall["per_joint"][c.measure.key], w, label=legend_name(c))
    ax.set_xticks(x, joint_names, rotation=90)
    ax.set_ylabel(f"{measure} (mm)")
    ax.legend(frameon=False)


def _pck_curve(columns, errors: dict, fig, width) -> None:
    from hpe_core.metrics import AUC_THRESHOLDS
    from hpe_core.report.scoring import pck_curve

    ax = fig.add_subplot()
    for c in columns:
        ax.plot(AUC_THRESHOLDS, 100.0 * pck_curve(errors[c.name], AUC_THRESHOLDS), label=legend_name(c))
    ax.set_xlabel("threshold (mm)")
    ax.set_ylabel("3D PCK (%)")
    ax.set_xlim(0, 150)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)


def _histogram(columns, measure: str, fig, width) -> None:
    ax = fig.add_subplot()
    per = [np.asarray(c.overall["per_sample"][c.measure.key]) for c in columns]
    bins = np.linspace(0, max(float(np.nanmax(p)) for p in per), 30)
    for c, p in zip(columns, per):
        ax.hist(p[np.isfinite(p)], bins=bins, histtype="step", linewidth=1.2, label=legend_name(c))
    ax.set_xlabel(f"per-sample {measure} (mm)")
    ax.set_ylabel("samples")
    ax.legend(frameon=False)


def _by_camera(columns, dataset, measure: str, fig, width) -> None:
    ax = fig.add_subplot()
    cams, cam_names = dataset.labels("camera") if "camera" in dataset.available_labels() else \
        (np.asarray(dataset.camera_id, np.int64), [])
    for k, c in enumerate(columns):
        per = np.asarray(c.overall["per_sample"][c.measure.key])
        cam = cams[np.asarray(c.overall["rows"])]
        ids = np.unique(cam)
        shift, w = _bar_offsets(k, len(columns))
        ax.bar(np.arange(len(ids)) + shift, [np.nanmean(per[cam == i]) for i in ids], w, label=legend_name(c))
    ax.set_xticks(np.arange(len(ids)), [cam_names[i] if i < len(cam_names) else str(i) for i in ids])
    ax.set_xlabel("camera")
    ax.set_ylabel(f"mean per-sample {measure} (mm)")
    ax.legend(frameon=False)
