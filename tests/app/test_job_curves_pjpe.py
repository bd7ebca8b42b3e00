"""The training panel's PJPE heat strip: a vae_lift run's per-joint error histograms, one column
per validation, drawn from its real event stream; a run without histograms shows no strip."""

import numpy as np
import pytest

from app.views.job_curves import JobCurvesView
from app.model.training_record import RunState


def _events(tmp_path, task: str) -> list[dict]:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training

    synthesize(SynthSpec(tmp_path / "data", poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    raw = {"task": task, "data": {"path": str(tmp_path / "data"), "image_size": 32},
           "train": {"epochs": 3, "batch_size": 8, "threads": 1, "output": str(tmp_path / "run")}}
    if task == "vae_lift":
        raw["vae"] = {"neurons": 16, "latent_dim": 4, "hypotheses": 2}
    else:
        raw.update(model={"width": 4, "options": {"proj_dim": 8}}, train={**raw["train"], "epochs": 1})
    writer = EventWriter(None)
    run_training(config_from_dict(raw), events=writer)
    return writer.events


@pytest.fixture
def curves(qtbot):
    view = JobCurvesView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    return view


def test_a_vae_run_draws_one_column_per_validation(curves, qtbot, tmp_path):
    state = RunState()
    events = _events(tmp_path, "vae_lift")
    for event in events[: next(i for i, e in enumerate(events) if e["type"] == "metric") + 1]:
        state.apply(event)  # up to the first validation
    curves.set_state(state, running=True)
    assert curves.histogram_data().shape == (20, 1) and curves.plots["pjpe"].isVisible()
    state = RunState()
    for event in events:
        state.apply(event)
    curves.set_state(state)
    data = curves.histogram_data()
    assert data.shape == (20, 3)  # 20 error bins x 3 epochs
    assert np.allclose(data.sum(axis=0), 1.0)  # each column: the share of joints per bin
    sent = [e["histograms"]["pjpe"]["counts"] for e in events if e["type"] == "metric" and e["split"] == "val"]
    assert np.allclose(data, (np.asarray(sent).T / np.asarray(sent).sum(axis=1)))
    image = curves.heat.image
    assert image is not None and image.shape == (20, 3)


def test_a_run_without_histograms_shows_no_strip(curves, tmp_path):
    state = RunState()
    for event in _events(tmp_path, "simclr"):
        state.apply(event)
    curves.set_state(state)
    assert curves.histogram_data().size == 0 and not curves.plots["pjpe"].isVisible()
