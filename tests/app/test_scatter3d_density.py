"""The 3D cloud on software OpenGL past its point limit: a density image of the canvas, redrawn
as the camera turns, hover still finds points; axis labels and an on-canvas legend."""

from __future__ import annotations

import numpy as np

from analysis_helpers import shown
from app.views.scatter3d import Scatter3D
from app.visuals.palettes import categorical


def cloud(n=6000, k=17, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % k
    return rng.normal(0, 0.3, (n, 3)) + rng.normal(0, 2, (k, 3))[codes], codes


def test_past_the_limit_on_software_gl_the_cloud_is_a_density_image(qtbot):
    w = Scatter3D(points_limit=1000, software_gl=True)
    w.resize(500, 400)
    shown(w, qtbot)
    xyz, codes = cloud()
    w.set_data(xyz, np.arange(len(xyz)) + 100)
    names = [f"action {i}" for i in range(17)]
    palette = categorical(17)
    w.set_colours(codes, palette, [(n, tuple(int(v) for v in palette[i])) for i, n in enumerate(names)])
    assert w.mode == "density" and w.density.visible and not w.markers.visible
    before = w.density._data.copy()
    assert (before[..., 3] > 0).sum() > 500  # the points' pixels
    w.view.camera.azimuth += 60  # turning the camera redraws the image
    qtbot.waitUntil(lambda: not np.array_equal(w.density._data, before), timeout=3000)
    pos = w.screen_positions()
    row = int(np.argmax(pos[:, 0]))  # the right-most point on the canvas
    assert w.row_at(*pos[row]) == row
    assert len(set(w.legend_text.text)) == 17 and "- action 16" in w.legend_text.text
    w.set_axis_labels("UMAP 1", "UMAP 2", "UMAP 3")
    assert [t.text for t in w.axis_labels] == ["UMAP 1", "UMAP 2", "UMAP 3"]


def test_under_the_limit_or_on_a_fast_gl_it_draws_points(qtbot):
    for limit, software in ((100_000, True), (1000, False)):
        w = Scatter3D(points_limit=limit, software_gl=software)
        shown(w, qtbot)
        xyz, codes = cloud()
        w.set_data(xyz, np.arange(len(xyz)))
        assert w.mode == "points" and w.markers.visible and not w.density.visible
