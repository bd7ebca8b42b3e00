"""The plots every report has, one function each: MPJPE per joint, the 3D PCK curve from 0 to
150 mm, the histogram of per-sample MPJPE and MPJPE by camera; and :func:`scored_arrays`, the
arrays of the samples a column was scored on (the galleries read them too)."""

from __future__ import annotations

from functools import partial

import numpy as np


def scored_arrays(column, dataset):
    """``(pred (n,J,3), gt, visible, rows)`` of the samples ``column`` was scored on."""
    from hpe_core.inference.evaluate import match_rows

    rows = np.asarray(column.overall["rows"], np.int64)
    index = match_rows(column.prediction, dataset, column.source)
    where = {int(r): k for k, r in enumerate(index)}
    pick = np.array([where[int(r)] for r in rows], np.int64)
    pred = column.prediction.joints_3d[pick].astype(np.float64)
    return pred, np.asarray(dataset.joints_3d)[rows].astype(np.float64), np.asarray(dataset.visible)[rows], rows


def standard_plots(columns, dataset) -> list[tuple]:
    """(name, title, draw(fig, width), aspect) of the plots every report has."""
    from hpe_core.metrics import pjpe

    errors = {}
    for c in columns:
        pred, gt, vis, _ = scored_arrays(c, dataset)
        errors[c.name] = pjpe(pred, gt, vis, root="auto", skeleton=dataset.skeleton)
    return [("per_joint_error", "MPJPE per joint", partial(_per_joint, columns), 0.75),
            ("pck_curve", "3D PCK from 0 to 150 mm", partial(_pck_curve, errors), 0.75),
            ("error_histogram", "Per-sample MPJPE", partial(_histogram, columns), 0.65),
            ("error_by_camera", "MPJPE by camera", partial(_by_camera, columns, dataset), 0.65)]


def _bar_offsets(k: int, n: int) -> tuple[float, float]:
    """Where the ``k``-th of ``n`` side-by-side bars sits about its tick, and the bars' width."""
    width = 0.8 / n
    return (k - (n - 1) / 2) * width, width


def _per_joint(columns, fig, width) -> None:
    ax = fig.add_subplot()
    joint_names = columns[0].overall["per_joint"]["joint_names"]
    x = np.arange(len(joint_names))
    for k, c in enumerate(columns):
        shift, w = _bar_offsets(k, len(columns))
        ax.bar(x + shift, c.overall["per_joint"]["mpjpe"], w, label=c.name)
    ax.set_xticks(x, joint_names, rotation=90)
    ax.set_ylabel("MPJPE (mm)")
    ax.legend(frameon=False)


def _pck_curve(errors: dict, fig, width) -> None:
    from hpe_core.metrics import AUC_THRESHOLDS

    ax = fig.add_subplot()
    for name, err in errors.items():
        count = np.isfinite(err).sum()
        ax.plot(AUC_THRESHOLDS, [100.0 * (err <= t).sum() / count for t in AUC_THRESHOLDS], label=name)
    ax.set_xlabel("threshold (mm)")
    ax.set_ylabel("3D PCK (%)")
    ax.set_xlim(0, 150)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)


def _histogram(columns, fig, width) -> None:
    ax = fig.add_subplot()
    per = [np.asarray(c.overall["per_sample"]["mpjpe"]) for c in columns]
    bins = np.linspace(0, max(float(np.nanmax(p)) for p in per), 30)
    for c, p in zip(columns, per):
        ax.hist(p[np.isfinite(p)], bins=bins, histtype="step", linewidth=1.2, label=c.name)
    ax.set_xlabel("per-sample MPJPE (mm)")
    ax.set_ylabel("samples")
    ax.legend(frameon=False)


def _by_camera(columns, dataset, fig, width) -> None:
    ax = fig.add_subplot()
    cams, cam_names = dataset.labels("camera") if "camera" in dataset.available_labels() else \
        (np.asarray(dataset.camera_id, np.int64), [])
    for k, c in enumerate(columns):
        per = np.asarray(c.overall["per_sample"]["mpjpe"])
        cam = cams[np.asarray(c.overall["rows"])]
        ids = np.unique(cam)
        shift, w = _bar_offsets(k, len(columns))
        ax.bar(np.arange(len(ids)) + shift, [np.nanmean(per[cam == i]) for i in ids], w, label=c.name)
    ax.set_xticks(np.arange(len(ids)), [cam_names[i] if i < len(cam_names) else str(i) for i in ids])
    ax.set_xlabel("camera")
    ax.set_ylabel("mean per-sample MPJPE (mm)")
    ax.legend(frameon=False)
