"""The image view's "Part maps" toggle: seed 004's part maps over the image, from ground truth or
prediction, in a real window."""

from __future__ import annotations

import numpy as np

from analysis_helpers import grab_array
from helpers import wait_for_prediction


def _pixels(canvas) -> np.ndarray:
    canvas.repaint()
    return grab_array(canvas).astype(int)


def test_part_maps_toggle_draws_gt_and_prediction_parts(qtbot, window, files):
    ws, view = window.workspace, window.image_view
    ws.open_paths([str(files.dataset), str(files.checkpoint)])
    wait_for_prediction(qtbot, ws)
    canvas = view.canvas
    plain = _pixels(canvas)
    assert not canvas.parts_drawn and not view.parts_from.isEnabled()
    view.parts_box.setChecked(True)
    assert canvas.part_source == "gt" and view.parts_from.isEnabled()
    gt = _pixels(canvas)
    assert canvas.parts_drawn
    changed = np.abs(gt - plain).sum(-1) > 30
    assert changed.mean() > 0.01  # the parts cover the person, not the frame
    assert changed.mean() < 0.6
    # the coloured pixels sit around the ground-truth joints
    rect = canvas.image_rect()
    sample = canvas.sample
    sx = rect.width() / sample.image.shape[1]
    elbow = sample.gt_2d[sample.skeleton.index("lElbow")]
    x, y = int(rect.left() + elbow[0] * sx), int(rect.top() + elbow[1] * sx)
    assert changed[max(0, y - 4):y + 5, max(0, x - 4):x + 5].any()
    view.parts_from.setCurrentText("prediction")
    assert canvas.part_source == "pred"
    pred = _pixels(canvas)
    assert canvas.parts_drawn == (sample.pred_2d is not None)
    assert np.abs(pred - gt).sum() > 0  # other joints, other maps
    view.parts_box.setChecked(False)
    assert canvas.part_source is None
    off = _pixels(canvas)
    assert not canvas.parts_drawn and np.abs(off - plain).max() == 0
