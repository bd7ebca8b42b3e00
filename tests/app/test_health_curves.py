"""The training panel's health curves and alarms, from the recorded events of a real collapsing
SimSiam run (no stop-gradient, ``tests/fixtures/events/simsiam_collapse.jsonl``): its own plots,
the values of the events, a red mark per alarm, the alarm on the job's row, and in the message bar
when a followed run raises it."""

from __future__ import annotations

import json

import numpy as np
from training_helpers import EVENTS, make_manager, training_panel  # noqa: F401

from app.model.messages import ALARM_MESSAGE
from app.views.health_curves import HEALTH_PLOTS, MEASURE_PLOT

STREAM = EVENTS / "simsiam_collapse.jsonl"


def events() -> list[dict]:
    return [json.loads(line) for line in STREAM.read_text().splitlines() if line.strip()]


def test_a_replayed_collapsing_run_draws_its_health_curves_and_alarms(qtbot, make_manager):
    recorded = events()
    vals = [e for e in recorded if e["type"] == "metric" and e["split"] == "val"]
    alarms = [e["alarm"] for e in recorded if e["type"] == "log" and e.get("alarm")]
    assert alarms and alarms[0]["rule"] == "collapse" and alarms[0]["epoch"] == 1  # what the README shows
    with training_panel(qtbot, make_manager()) as panel:
        job = panel.manager.follow(STREAM)
        panel.jobs_view.select_job(job.id)
        curves = panel.jobs_view.curves
        qtbot.waitUntil(lambda: curves.state is job.state and job.state.ended, timeout=5000)
        curves.refresh()
        for key in HEALTH_PLOTS:
            assert curves.health.plots[key].isVisible()
        for name in ("health.encoder.rankme", "health.projection.spread", "health.encoder.knn"):
            x, y = curves.curve_data(f"metric:{name}")
            np.testing.assert_array_equal(x, [e["epoch"] + 1 for e in vals])
            np.testing.assert_array_equal(y, [e["metrics"][name] for e in vals])
            assert name not in curves.metric_curves  # in the health plots, not among the validation metrics
        marks = [(plot, mark.value()) for plot, mark in curves.health.marks]
        assert marks == [(curves.health.plots[MEASURE_PLOT[a["measure"]]], a["epoch"]) for a in alarms]
        assert curves.health.lines["spread"].value() == recorded[0]["config"]["health"]["spread_min"]
        panel.jobs_view._flush_updates()
        row = panel.jobs_view._item(job.id)
        assert row.text(2).endswith("· alarm") and row.text(5).startswith(f"{len(alarms)} health alarm(s)")


def test_an_alarm_raised_while_a_followed_run_goes_on_reaches_the_message_bar(qtbot, make_manager, tmp_path):
    lines = STREAM.read_text().splitlines()
    first_alarm = next(k for k, line in enumerate(lines) if '"alarm"' in line)
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines[:first_alarm]) + "\n")
    with training_panel(qtbot, make_manager()) as panel:
        job = panel.manager.follow(path)
        qtbot.wait(300)
        assert not any(level == "warning" for level, _ in panel.messages)
        with open(path, "a") as fh:
            fh.write(lines[first_alarm] + "\n")
        alarm = json.loads(lines[first_alarm])
        want = ("warning", ALARM_MESSAGE.format(name=job.record.name, message=alarm["message"]))
        qtbot.waitUntil(lambda: want in panel.messages, timeout=5000)
        assert panel.messages.count(want) == 1
        panel.jobs_view.cancel.click()  # stop following
