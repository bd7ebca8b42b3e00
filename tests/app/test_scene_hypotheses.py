"""The 3D view draws a VAE lifter's K sampled hypotheses (seed 003) faintly around the opaque mean:
K thin translucent skeletons whose coordinates are hpe_core's ``predict`` hypotheses for
the same seed, placed as the mean is; K follows its control; another sample gets its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.model.hypotheses import DEFAULT_SEED, HypothesisSet, place_hypotheses
from app.views.scene_view import SceneView
from app.visuals.layers import HYPOTHESIS_ALPHA, _to_world
from app.workspace import Workspace

DEMO_VAE = Path(__file__).resolve().parents[2] / "resources" / "demo" / "vae_lifter.pt"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    return Path(synthesize(SynthSpec(tmp_path_factory.mktemp("hyp") / "ds", poses=4, cameras=2, size=32, seed=2),
                           NullProgress()))


@pytest.fixture
def scene(qtbot, synth):
    ws = Workspace()
    view = SceneView(ws.catalog, ws.feed, ws.options, ws.hypotheses)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    ws.open_paths([str(synth), str(DEMO_VAE)])
    qtbot.waitUntil(lambda: ws.catalog.checkpoint is not None and ws.feed.sample is not None
                    and ws.feed.sample.pred_3d is not None, timeout=60_000)
    yield ws, view
    view.close()
    ws.close()


def expected(ws, view, index: int, k: int) -> tuple[np.ndarray, HypothesisSet]:
    """hpe_core's hypotheses of row ``index`` for the view's seed, in the view's display frame."""
    from hpe_core.inference import Predictor, collect, predict

    ds = ws.catalog.dataset
    predictor = Predictor(ws.catalog.checkpoint.model, "cpu")
    pred = collect(predict(predictor, ds, np.array([index]), hypotheses=k, seed=DEFAULT_SEED), predictor).prediction
    hyps = HypothesisSet("", "", index, DEFAULT_SEED, pred.hypotheses[0], pred.joints_3d[0])
    cam = ds.cameras[int(ds.camera_id[index])]
    placed = place_hypotheses(hyps, np.asarray(ds.joints_3d[index], np.float64), ds.skeleton.root, ws.options.align)
    return np.stack([view.hypotheses.frame.to_display(_to_world(p, cam)) for p in placed]), hyps


def wait_drawn(qtbot, ws, view, index: int, k: int) -> None:
    qtbot.waitUntil(lambda: ws.hypotheses.current is not None and ws.hypotheses.current.index == index
                    and ws.hypotheses.current.k == k and len(view.hypotheses.drawn) == k
                    and ws.feed.sample is not None and ws.feed.sample.index == index, timeout=60_000)


def test_k_faint_hypotheses_equal_hpe_cores_around_the_opaque_mean(qtbot, scene):
    ws, view = scene
    assert view.k.isVisibleTo(view) and view.k.value() == 10 == ws.options.hypotheses
    wait_drawn(qtbot, ws, view, 0, 10)
    want, _ = expected(ws, view, 0, 10)
    got = np.stack([v.joints for v in view.hypotheses.drawn])
    np.testing.assert_allclose(got, want, atol=0.05)  # float32 display coordinates of metre-sized poses
    assert np.ptp(got, axis=0).max() > 1.0  # K distinct samples, not K copies of the mean
    for v in view.hypotheses.drawn:  # faint and thin
        assert v.alpha == HYPOTHESIS_ALPHA < 0.5
        assert np.allclose(v._lines.color[:, 3], HYPOTHESIS_ALPHA) and v._lines.width < view.skeletons.pred._lines.width
    mean = view.skeletons.pred
    assert mean.alpha == 1.0 and np.allclose(mean._lines.color[:, 3], 1.0)  # the mean is opaque
    with_k = view.render(size=(320, 240))
    view.k.setValue(0)
    qtbot.waitUntil(lambda: not view.hypotheses.drawn, timeout=10_000)
    assert np.abs(with_k.astype(int) - view.render(size=(320, 240)).astype(int)).sum() > 1000
    view.k.setValue(3)  # the control sets K
    wait_drawn(qtbot, ws, view, 0, 3)
    want, _ = expected(ws, view, 0, 3)
    np.testing.assert_allclose(np.stack([v.joints for v in view.hypotheses.drawn]), want, atol=0.05)


def test_aligned_mean_moves_its_hypotheses_and_another_sample_gets_its_own(qtbot, scene):
    ws, view = scene
    ws.options.align = "similarity"
    ws.select(3)
    wait_drawn(qtbot, ws, view, 3, 10)
    qtbot.waitUntil(lambda: ws.feed.sample.pred_3d is not None, timeout=60_000)
    want, hyps = expected(ws, view, 3, 10)
    np.testing.assert_allclose(np.stack([v.joints for v in view.hypotheses.drawn]), want, atol=0.05)
    # the transform fitted on the mean moves the mean onto the drawn (aligned) prediction
    ds = ws.catalog.dataset
    with_mean = HypothesisSet("", "", 3, 0, hyps.mean[None], hyps.mean)
    mean_placed = place_hypotheses(with_mean, np.asarray(ds.joints_3d[3], np.float64), ds.skeleton.root, "similarity")
    np.testing.assert_allclose(mean_placed[0], ws.feed.sample.pred_3d, atol=0.5)
    ws.options.show_pred = False  # no prediction shown: no hypotheses either
    qtbot.waitUntil(lambda: not view.hypotheses.drawn, timeout=10_000)
