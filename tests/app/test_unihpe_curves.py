"""The training panel's cross-modal cosine curves of a UniHPE run (image–2D, image–3D, 2D–3D; the
paper's Fig. 5): replayed from the recorded events file of a real stage-3 run, and drawn live,
validation by validation, from a real run's event stream."""

from __future__ import annotations

import json

import numpy as np
import pytest
from training_helpers import EVENTS, make_manager  # noqa: F401

from app.model.training_record import COSINE_METRICS, RunState
from app.views import training_view as tv
from app.views.job_curves import JobCurvesView
from app.workers import training_jobs as tj

STREAM = "unihpe_stage3.jsonl"


def _val_metrics(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "metric" and e["split"] == "val"]


@pytest.fixture
def view(qtbot, make_manager):
    from app.workspace import Workspace

    workspace = Workspace()
    manager = make_manager()
    tj.connect_workspace(manager, workspace)
    panel = tv.TrainingView(manager, workspace)
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    yield panel
    workspace.close()


def test_a_replayed_unihpe_run_shows_the_three_cosine_curves(qtbot, view):
    events = [json.loads(line) for line in (EVENTS / STREAM).read_text().splitlines() if line.strip()]
    assert events[0]["config"]["task"] == "unihpe" and events[0]["config"]["unihpe"]["stage"] == 3
    job = view.manager.follow(EVENTS / STREAM)
    view.jobs_view.select_job(job.id)
    curves = view.jobs_view.curves
    qtbot.waitUntil(lambda: curves.state is job.state and job.state.ended, timeout=5000)
    curves.refresh()
    assert curves.plots["cosine"].isVisible()
    vals = _val_metrics(events)
    assert len(vals) == 3
    for name in COSINE_METRICS:
        x, y = curves.curve_data(f"metric:{name}")
        np.testing.assert_array_equal(x, [e["epoch"] + 1 for e in vals])
        np.testing.assert_array_equal(y, [e["metrics"][name] for e in vals])
        assert name not in curves.metric_curves  # in their own plot, not among the other metrics
    legend = [label.text for _sample, label in curves.plots["cosine"].legend.items]
    assert legend == list(COSINE_METRICS.values())
    # this real run aligned its modalities: every pair ends more similar than it started
    for name in COSINE_METRICS:
        assert vals[-1]["metrics"][name] > vals[0]["metrics"][name]


def test_the_cosine_curves_grow_live_with_each_validation_and_stay_away_for_other_tasks(qtbot, tmp_path):
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training

    synthesize(SynthSpec(tmp_path / "data", poses=12, cameras=4, size=32, subjects=2, seed=1), NullProgress())
    writer = EventWriter(None)
    run_training(config_from_dict({
        "task": "unihpe", "data": {"path": str(tmp_path / "data"), "image_size": 32},
        "model": {"width": 4, "options": {"dim": 16, "pose_width": 16, "pose_depth": 1, "pose_heads": 2,
                                          "decoder_hidden": 32}},
        "unihpe": {"stage": 1}, "optim": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 2, "batch_size": 8, "max_steps_per_epoch": 2, "threads": 1,
                  "output": str(tmp_path / "run")}}), events=writer)
    view = JobCurvesView()
    qtbot.addWidget(view)
    view.resize(900, 800)
    view.show()
    state = RunState()
    view.set_state(state, running=True)
    assert not view.plots["cosine"].isVisible()
    seen = 0
    for event in writer.events:
        state.apply(event)
        view.refresh()
        if event["type"] == "metric" and event["split"] == "val":
            seen += 1
            x, y = view.curve_data("metric:cos_pose2d_pose3d")
            assert len(x) == seen and y[-1] == event["metrics"]["cos_pose2d_pose3d"]
            assert view.plots["cosine"].isVisible()
    assert seen == 2
    # stage 1 aligns 2D and 3D only: no image curve
    assert view.curve_data("metric:cos_image_pose2d")[0].size == 0
    other = RunState()
    for line in (EVENTS / "simclr_done.jsonl").read_text().splitlines():
        other.apply(json.loads(line))
    view.set_state(other)
    assert not view.plots["cosine"].isVisible()
    assert all(view.curve_data(f"metric:{n}")[0].size == 0 for n in COSINE_METRICS)
