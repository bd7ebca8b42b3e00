"""Issue 26: with a heatmap network as the lift source of the VAE lifter (the demo's heatmap2d.pt and
vae_lifter.pt), the K faint hypotheses the 3D view draws are sampled around the same lift as the
opaque mean drawn beside them. Today the hypotheses task lifts the dataset's ground-truth 2D while
the prediction job lifts the heatmap network's 2D, so the hypotheses sit 160-300 mm per joint away
from the mean they surround (they did until the hypotheses followed the lift source)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
HEATMAP, VAE = DEMO / "heatmap2d.pt", DEMO / "vae_lifter.pt"
ROW, K = 1, 10


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """4 poses x 2 cameras at the demo's 96 px."""
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    return Path(synthesize(SynthSpec(tmp_path_factory.mktemp("lift") / "ds", poses=4, cameras=2, size=96,
                                     subjects=2, seed=5), NullProgress()))


@pytest.fixture
def scene(qtbot, window, synth):
    """The main window's 3D view, its workspace's active VAE lifter lifting the heatmap network's 2D."""
    from app.model.catalog import path_key

    ws = window.workspace
    ws.open_paths([str(synth), str(HEATMAP), str(VAE)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and len(ws.catalog.checkpoints) == 2, timeout=60_000)
    ws.set_active_checkpoint(path_key(VAE))
    ws.set_lift_source(path_key(HEATMAP))
    ws.select(ROW)
    return ws, window.scene_view


def _drawn(ws, view) -> bool:
    s, h = ws.feed.sample, ws.hypotheses.current
    return (s is not None and s.index == ROW and s.pred_3d is not None and s.detected_2d is not None
            and h is not None and h.index == ROW and h.k == K and len(view.hypotheses.drawn) == K
            and view.skeletons.pred.joints.size > 0)


def test_hypotheses_are_sampled_around_the_mean_lifted_from_the_heatmap_2d(qtbot, scene):
    from app.model.hypotheses import HypothesisSet, place_hypotheses

    ws, view = scene
    assert ws.lift.key is not None and ws.options.hypotheses == K
    qtbot.waitUntil(lambda: _drawn(ws, view), timeout=60_000)
    sample, hyps, ds = ws.feed.sample, ws.hypotheses.current, ws.catalog.dataset
    assert not np.allclose(sample.detected_2d, ds.joints_2d[ROW], atol=1.0)  # the heatmap's 2D, not the truth's

    # The mean the hypotheses task lifted, placed as the view places the set, is the mean drawn: both
    # are the same VAE forward of the same 2D in float32 (a few 1e-3 mm apart at most); 0.5 mm, as in
    # test_scene_hypotheses, is far below the 160-300 mm between the lifts of the two 2D sources.
    own = HypothesisSet("", "", ROW, hyps.seed, hyps.mean[None], hyps.mean)
    own_mean = place_hypotheses(own, np.asarray(ds.joints_3d[ROW], np.float64), ds.skeleton.root, ws.options.align)[0]
    gap = np.linalg.norm(own_mean - sample.pred_3d, axis=-1).mean()
    assert gap < 0.5, f"the hypotheses' own mean is {gap:.0f} mm per joint from the mean drawn beside them"

    # What is drawn: the K faint skeletons centre on the opaque mean. Their centroid lies about
    # spread / sqrt(K) from the posterior's centre, and the decoder's curvature moves the mean
    # hypothesis a little more. Demo VAE on this set: 20-55 mm per joint against a spread of 60-75 mm
    # over its 8 rows from the ground-truth 2D; this row lifted from the heatmap 2D (the fix simulated
    # in a scratch test) 35 against 69. So the centroid must lie within one spread of the drawn mean
    # (a ratio: the display's units cancel). Today it lies about 3.6 spreads away.
    drawn = np.stack([v.joints for v in view.hypotheses.drawn]).astype(np.float64)  # (K, J, 3)
    centre = drawn.mean(axis=0)
    spread = np.linalg.norm(drawn - centre, axis=-1).mean()
    off = np.linalg.norm(centre - view.skeletons.pred.joints, axis=-1).mean()
    assert off < spread, f"the hypotheses' centroid is {off / spread:.1f} spreads from the mean drawn beside them"
