"""The embedding explorer's job offers a VAE lifter's latent space (seed 003, Fig. 2.3.3): the
layer is listed for a vae_lifter checkpoint and embeds, coloured by action, from 2D joints."""

from pathlib import Path

import numpy as np
import pytest

from hpe_core.progress import RecordingProgress


@pytest.fixture(scope="module")
def lifter_run(tmp_path_factory):
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.loop import run_training

    root = tmp_path_factory.mktemp("vae")
    synthesize(SynthSpec(root / "data", poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    cfg = config_from_dict({"task": "vae_lift", "data": {"path": str(root / "data")},
                            "vae": {"neurons": 16, "latent_dim": 4, "hypotheses": 2},
                            "train": {"epochs": 1, "batch_size": 8, "threads": 1, "output": str(root / "run")}})
    return Path(run_training(cfg).last_checkpoint), root / "data"


def test_the_latent_is_offered_and_embeds_coloured_by_action(lifter_run, tmp_path, monkeypatch):
    from app.workers.analysis_jobs import EmbedRequest, embed_job, offered_layers

    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path))
    checkpoint, dataset = lifter_run
    assert offered_layers(checkpoint) == ("latent",)
    request = EmbedRequest(str(checkpoint), str(dataset), layer="latent", method="pca", clusters=3,
                           color_by="action", max_samples=None, device="cpu")
    progress = RecordingProgress()
    bundle = embed_job(request)(progress)
    assert bundle.result.coords.shape == (80, 2) and np.isfinite(bundle.result.coords).all()
    assert set(bundle.result.silhouette) >= {"clusters"}
    assert "--layer latent" in request.command() and progress.partials
