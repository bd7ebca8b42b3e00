"""The GUI opens the benchmark layouts (mmpose body3d, MPI-INF-3DHP's test set, 3DPW) as the core
reads them: the browser lists their samples and the image view shows each with its image, its
2D ground truth and its person box (the files' own; MPI-INF-3DHP's test set has none, so a
detector's, opened with File ▸ Open Person Boxes…). Fixtures: tests/benchmark_layouts.py, in the
datasets' own schemas."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark_layouts import write_3dhp_test, write_detections, write_mmpose_h36m, write_pw3d
from helpers import wait_idle


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    root = tmp_path_factory.mktemp("layouts")
    made = write_mmpose_h36m(root / "h36m")
    write_3dhp_test(root / "3dhp", "v5")
    write_pw3d(root / "3dpw")
    return {"mmpose": (made["npz"], 12, 16), "mpi3dhp": (root / "3dhp" / "TS1" / "annot_data.mat", 4, 16),
            "pw3d": (root / "3dpw", 10, 23)}


def _show(qtbot, window, row: int):
    """Select ``row`` in the browser; the image view's sample once its image is drawn."""
    ws = window.workspace
    with qtbot.waitSignal(ws.feed.sample_changed, timeout=10_000, check_params_cb=lambda s: s.index == row):
        window.browser_view.list.setCurrentIndex(window.browser_view.model.index(row))
    qtbot.waitUntil(lambda: window.image_view.canvas.sample is not None and window.image_view.canvas.sample.index
                    == row and window.image_view.canvas.sample.image is not None, timeout=10_000)
    window.image_view.canvas.repaint()
    return window.image_view.canvas.sample


@pytest.mark.parametrize("fmt", ["mmpose", "mpi3dhp", "pw3d"])
def test_each_layout_opens_with_its_images_its_skeleton_and_its_box_drawn(qtbot, window, layouts, fmt, tmp_path):
    path, samples, bones = layouts[fmt]
    ws = window.workspace
    ws.open_paths([str(path)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None, timeout=30_000)
    wait_idle(qtbot, ws)
    ds = ws.catalog.dataset
    assert ds.format == fmt and len(ds) == samples and window.browser_view.model.rowCount() == samples
    shown = _show(qtbot, window, 2)
    assert np.array_equal(shown.image, ds.load_image(2))
    assert window.image_view.canvas.bones_drawn == bones  # the ground truth's every bone, on the image
    if fmt == "mpi3dhp":  # no box in its files: a detector's
        assert not ds.has("boxes") and shown.box is None
        ws.open_boxes(write_detections(ds, tmp_path / "detections.json"))
        qtbot.waitUntil(lambda: ws.catalog.dataset is not ds, timeout=30_000)
        wait_idle(qtbot, ws)
        ds = ws.catalog.dataset
        shown = _show(qtbot, window, 2)
    np.testing.assert_allclose(shown.box, ds.boxes[2])
    assert window.image_view.canvas.boxes_drawn >= 2  # its box and the square crop a model sees
