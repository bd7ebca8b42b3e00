"""Image galleries of a report: the 24 worst samples (by the first model's per-sample error
measure, its name and error under each image) and best / median / worst samples of every model.
Each image shows the ground-truth skeleton (green) and the predicted one (root placed at the true
root and projected through the sample's camera; a model's own 2D joints when it has them); the
best / median / worst grid shows both poses in 3D too, root-centred. A model read by a
rotation-aligned measure is drawn aligned to the ground truth, as the GUI draws it."""

from __future__ import annotations

import numpy as np

from hpe_core.report.style import GT_COLOUR, PRED_COLOUR


def _image(dataset, row: int):
    from hpe_core.errors import DatasetError

    try:
        return dataset.load_image(int(row))
    except (DatasetError, OSError):
        return None


def _pred_2d(column, dataset, k: int, pred3d: np.ndarray, gt3d: np.ndarray) -> np.ndarray | None:
    from hpe_core.geometry import project

    row = int(column.overall["rows"][k])
    if column.prediction.joints_2d is not None and column.prediction.index is not None:
        at = np.flatnonzero(column.prediction.index == row)
        if at.size and np.isfinite(column.prediction.joints_2d[at[0]]).any():
            return column.prediction.joints_2d[at[0]]
    camera = dataset.camera(row)
    if camera is None:
        return None
    root = dataset.skeleton.root
    placed = pred3d - pred3d[root] + gt3d[root]
    return project(placed, camera.K, camera.dist)


def _draw_pose(ax, joints, parents, colour):
    for child, parent in enumerate(parents):
        if parent >= 0 and np.isfinite(joints[[child, parent]]).all():
            ax.plot(joints[[parent, child], 0], joints[[parent, child], 1], color=colour, linewidth=0.8)


def _panel(ax, column, dataset, arrays, k: int, label: str):
    pred, gt, _, rows = arrays
    row = int(rows[k])
    image = _image(dataset, row)
    if image is not None:
        ax.imshow(image)
        ax.set_xlim(-0.5, image.shape[1] - 0.5)
        ax.set_ylim(image.shape[0] - 0.5, -0.5)
        ax.set_autoscale_on(False)
    gt2d = np.asarray(dataset.joints_2d)[row]
    _draw_pose(ax, gt2d, dataset.skeleton.parents, GT_COLOUR)
    p2d = _pred_2d(column, dataset, k, pred[k], gt[k])
    if p2d is not None:
        _draw_pose(ax, p2d, dataset.skeleton.parents, PRED_COLOUR)
    if image is None:
        ax.invert_yaxis()
        ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(label, fontsize=5)


def galleries(columns, dataset):
    """(name, title, draw(fig, width), aspect) of the gallery figures."""
    arrays = {c.name: _shown_arrays(c, dataset) for c in columns}
    first = columns[0]
    per = np.asarray(first.overall["per_sample"][first.measure.key])
    order = np.argsort(np.where(np.isfinite(per), per, -np.inf))[::-1]
    worst = order[:24]

    def worst_gallery(fig, width):
        cols = 6
        axes = fig.subplots(int(np.ceil(len(worst) / cols)), cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, k in zip(axes.flat, worst):
            ax.axis("on")
            name = dataset.sample_name(int(arrays[first.name][3][k]))
            _panel(ax, first, dataset, arrays[first.name], int(k), f"{name}\n{first.measure.name} {per[k]:.0f} mm")
        fig.suptitle(f"24 worst samples of {first.name} (green: ground truth, orange: prediction)", fontsize=7)

    def best_median_worst(fig, width):
        n = len(columns)
        for r, c in enumerate(columns):
            err = np.asarray(c.overall["per_sample"][c.measure.key])
            ok = np.flatnonzero(np.isfinite(err))
            ranked = ok[np.argsort(err[ok])]
            for col, (what, k) in enumerate((("best", ranked[0]), ("median", ranked[len(ranked) // 2]),
                                             ("worst", ranked[-1]))):
                name = dataset.sample_name(int(arrays[c.name][3][k]))
                ax = fig.add_subplot(n, 6, r * 6 + 2 * col + 1)
                label = f"{c.name} {what}: {name}\n{c.measure.name} {err[k]:.0f} mm"
                _panel(ax, c, dataset, arrays[c.name], int(k), label)
                _pose_3d(fig.add_subplot(n, 6, r * 6 + 2 * col + 2, projection="3d"), dataset,
                         arrays[c.name][0][k], arrays[c.name][1][k])

    rows_needed = int(np.ceil(len(worst) / 6))
    return [("worst_gallery", "The 24 worst samples", worst_gallery, max(rows_needed / 6 * 1.25, 1.01)),
            ("best_median_worst", "Best, median and worst samples", best_median_worst,
             max(len(columns) / 6 * 1.3, 1.01))]


def _shown_arrays(column, dataset):
    """:func:`~hpe_core.report.scoring.scored_arrays`, the poses of a rotation-aligned model aligned
    to the ground truth (the similarity of its PA-MPJPE)."""
    from hpe_core.alignment import align
    from hpe_core.report.scoring import scored_arrays

    pred, gt, visible, rows = scored_arrays(column, dataset)
    if column.measure.rotation_aligned:
        mask = visible & np.isfinite(pred).all(-1) & np.isfinite(gt).all(-1)
        ok = mask.sum(axis=1) >= 3
        pred = pred.copy()
        pred[ok] = align(pred[ok], gt[ok], mask[ok], "similarity")
    return pred, gt, visible, rows


def _pose_3d(ax, dataset, pred, gt):
    """Ground truth and prediction in 3D, both root-centred (camera axes, y down)."""
    root = dataset.skeleton.root
    for pose, colour in ((gt - gt[root], GT_COLOUR), (pred - pred[root], PRED_COLOUR)):
        for child, parent in enumerate(dataset.skeleton.parents):
            if parent >= 0 and np.isfinite(pose[[child, parent]]).all():
                seg = pose[[parent, child]]
                ax.plot(seg[:, 0], seg[:, 2], -seg[:, 1], color=colour, linewidth=0.7)
    span = np.nanmax(np.abs(gt - gt[root])) * 1.2 or 1.0
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_zlim(-span, span)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    ax.view_init(elev=10, azim=-70)
