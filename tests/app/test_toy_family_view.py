"""Issue 26: a family defined only in a test (tests/toy_families.py) is opened, predicted and drawn
by the GUI like a shipped one: the GUI reads the family's declared inputs and outputs."""

import numpy as np

from hpe_core.datasets.synthetic import SynthSpec, synthesize
from hpe_core.progress import NullProgress
from toy_families import save_toys


def test_the_gui_predicts_and_draws_a_toy_family(qtbot, window, tmp_path, monkeypatch):
    from app.model.catalog import path_key
    from hpe_core.inference import Predictor, collect, predict

    data = synthesize(SynthSpec(tmp_path / "ds", poses=3, cameras=2, size=64, seed=2, subjects=2), NullProgress())
    image, _ = save_toys(tmp_path, monkeypatch)
    ws = window.workspace
    ws.open_paths([str(data), str(image)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and ws.catalog.active_key == path_key(image), timeout=60_000)
    ws.select(2)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == 2
                    and ws.feed.sample.pred_3d is not None and window.scene_view.skeletons.pred.joints.size > 0,
                    timeout=60_000)
    predictor = Predictor(image, "cpu")
    want = collect(predict(predictor, ws.catalog.dataset, [2]), predictor).prediction
    store = ws.predictions()
    np.testing.assert_allclose(store.joints[2], want.joints_3d[0], atol=1e-3)  # the toy's own pose, in mm
    assert window.scene_view.skeletons.pred.joints.shape == (19, 3)
    detected = ws.feed.sample.detected_2d  # its 2D, in the image's px, for the image view
    np.testing.assert_allclose(detected, want.joints_2d[0], atol=1e-3)
