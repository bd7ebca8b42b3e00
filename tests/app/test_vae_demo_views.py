"""The demo VAE lifter (resources/demo/vae_lifter.pt) in the app: it opens (a lifter takes 2D
poses, not images), its poses fill the browser's errors, and the embedding explorer embeds its
latent space coloured by action with the numbers of ``hpe embed --layer latent``."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest

from analysis_helpers import blank, grab_array, run_cli, shown, wait_done
from app.views.embedding_view import EmbeddingView
from app.workspace import Workspace

DEMO_VAE = Path(__file__).resolve().parents[2] / "resources" / "demo" / "vae_lifter.pt"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("vae_demo")
    return Path(synthesize(SynthSpec(root / "ds", poses=12, cameras=2, size=32, seed=6, subjects=2),
                           NullProgress())), root


def test_the_demo_lifter_opens_predicts_and_its_latent_embeds_by_action(qtbot, synth, capsys, monkeypatch):
    from hpe_core.inference import Predictor, collect, predict

    ds_path, root = synth
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(root / "cache"))
    ws = Workspace()
    view = EmbeddingView(ws)
    view.resize(1000, 600)
    shown(view, qtbot)
    try:
        ws.open_paths([str(ds_path), str(DEMO_VAE)])
        qtbot.waitUntil(lambda: ws.catalog.checkpoint is not None and ws.predictions() is not None
                        and ws.predictions().complete, timeout=60_000)
        assert not [m for m in ws.tasks.tasks if not m.hidden]
        predictor, ds = Predictor(DEMO_VAE, "cpu"), ws.catalog.dataset
        mean = collect(predict(predictor, ds), predictor).joints_3d  # the mean hypothesis
        np.testing.assert_allclose(ws.predictions().joints, mean, atol=1e-2)
        assert np.isfinite(ws.predictions().ranking).all()
        for name, value in (("layer", "latent"), ("method", "pca"), ("colour", "action")):
            combo = getattr(view, name)
            combo.setCurrentIndex(combo.findData(value))
        view.samples.setValue(0)
        view.clusters.setValue(3)
        view.run()
        wait_done(qtbot, view.runner)
        bundle = view.bundle
        assert bundle is not None and view.runner.last_error is None, view.strip.message.text()
        assert bundle.request.layer == "latent" and len(view.plot.xy) == len(ds)
        assert not blank(grab_array(view.plot))
        cli = run_cli(shlex.split(bundle.request.command())[1:] + ["--out", str(root / "latent.npz")], capsys)
        assert "action" in cli["silhouette"]
        np.testing.assert_allclose(np.load(root / "latent.npz")["coords"], bundle.result.coords, atol=1e-5)
    finally:
        view.shutdown()
        ws.close()
