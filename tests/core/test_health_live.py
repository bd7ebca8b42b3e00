"""The live health measures: the alarm rules, the validation's collector, and a real (tiny) run
whose events carry the measures and whose alarm ``hpe train``'s event hook prints."""

from pathlib import Path

import numpy as np
import pytest

from hpe_core.analysis.health_alarms import HealthOptions, alarms_at, health_series, new_alarms
from hpe_core.analysis.health_live import HealthCollector
from hpe_core.errors import InputError


def history(**series):
    """One entry per epoch of ``health.encoder.<measure>`` values."""
    n = len(next(iter(series.values())))
    return [{"epoch": k, **{f"health.encoder.{m}": v[k] for m, v in series.items()}} for k in range(n)]


def test_each_rule_fires_at_its_threshold():
    h = history(spread=[0.5, 0.09], rankme=[40.0, 19.0], uniform=[-1.0, -0.05], knn=[0.3, 0.05],
                knn_chance=[0.06, 0.06])
    assert alarms_at(h, at=0) == []
    fired = {a.rule: a for a in alarms_at(h)}
    assert set(fired) == {"collapse", "rank", "uniformity", "knn"}
    assert fired["collapse"].threshold == 0.1 and fired["collapse"].epoch == 2 and fired["collapse"].layer == "encoder"
    assert fired["rank"].threshold == pytest.approx(20.0)  # half of its best, 40
    assert "spread 0.090 < 0.100" in fired["collapse"].message
    loose = HealthOptions(spread_min=0.05, rankme_drop=0.6, uniform_max=0.0, knn_margin=-0.02)
    assert alarms_at(h, loose) == []


def test_collapse_also_fires_on_a_rank_far_below_its_maximum():
    h = history(spread=[0.9], rankme=[3.0], rank_max=[128.0])  # dimensional collapse: spread, yet 3 directions
    [alarm] = alarms_at(h)
    assert (alarm.rule, alarm.measure, alarm.threshold) == ("collapse", "rankme", pytest.approx(0.05 * 128))
    assert alarms_at(h, HealthOptions(rank_min=0.02)) == []


def test_an_alarm_is_new_only_the_epoch_it_starts_to_hold():
    h = history(spread=[0.5, 0.05, 0.04, 0.6, 0.03])
    assert [len(new_alarms(h[:k])) for k in range(1, 6)] == [0, 1, 0, 0, 1]


def test_health_series_reads_layers_and_measures():
    h = [{"epoch": 0, "health.encoder.rankme": 3.0, "health.seconds": 0.1, "loss": 1.0},
         {"epoch": 1, "health.projection.rankme": 2.0}]
    assert health_series(h) == {"encoder": {"rankme": [3.0, None]}, "projection": {"rankme": [None, 2.0]}}


def test_the_options_refuse_nonsense():
    with pytest.raises(InputError, match="health.rankme_drop"):
        HealthOptions(rankme_drop=1.5).validate()
    with pytest.raises(InputError, match="health.samples"):
        HealthOptions(samples=-1).validate()


class Toy:
    """A dataset of 12 poses x 3 cameras whose 3D joints the features copy."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.pose_id = np.repeat(np.arange(12), 3)
        self.camera_id = np.tile(np.arange(3), 12)
        self.joints_3d = np.repeat(rng.normal(scale=100, size=(12, 4, 3)), 3, axis=0)
        self.visible = np.ones((36, 4), bool)
        self.skeleton = type("S", (), {"root": 0})()

    def available_labels(self):
        return ["action", "pose_id"]

    def labels(self, name):
        return (self.pose_id % 3 if name == "action" else self.pose_id), []


def test_the_collector_keeps_the_first_distinct_samples_up_to_its_limit():
    data, c = Toy(), HealthCollector(limit=20)
    feats = data.joints_3d.reshape(36, -1)
    c.add({"encoder": feats[:10]}, np.arange(10))
    c.add({"encoder": feats[5:30]}, np.arange(5, 30))  # 5..9 again: kept once
    assert c.count == 20 and np.concatenate(c.indices).tolist() == list(range(20))
    out = c.measures(data)
    assert out["health.encoder.xview_top1"] == 1.0 and out["health.encoder.rank_max"] == 12  # min(20 rows, 12 dims)
    assert out == c.measures(data)  # a function of the features: a resumed run logs the same history
    assert HealthCollector(0).measures(data) == {}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("data") / "tiny"
    synthesize(SynthSpec(out, poses=16, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return out


def test_a_run_logs_the_measures_and_hpe_train_prints_its_alarm(tiny_dataset, tmp_path, capsys):
    from hpe_core.commands.train import _print_alarm
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.events import EventWriter, read_events
    from hpe_core.training.loop import run_training

    events = tmp_path / "events.jsonl"
    # the spread of L2-normalised rows is at most 1 (each dimension's std is at most its RMS, and the
    # squared RMS sum to 1): with spread_min 2 the collapse alarm must fire at the first validation
    config = config_from_dict({"task": "simsiam", "data": {"path": str(tiny_dataset), "image_size": 32},
                               "model": {"width": 4, "options": {"proj_dim": 16}}, "health": {"spread_min": 2.0},
                               "contrastive": {"stop_gradient": False},
                               "train": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 2, "threads": 1,
                                         "output": str(tmp_path / "run")}})
    with EventWriter(events, on_event=_print_alarm) as writer:  # what hpe train does
        run_training(config, events=writer)
    logged = read_events(events)
    metrics = next(e["metrics"] for e in logged if e["type"] == "metric" and e["split"] == "val")
    for layer in ("encoder", "projection"):
        assert metrics[f"health.{layer}.rankme"] >= 1.0 and 0 <= metrics[f"health.{layer}.spread"] <= 1
    alarms = [e for e in logged if e["type"] == "log" and e.get("alarm")]
    assert {(a["alarm"]["rule"], a["alarm"]["layer"]) for a in alarms} >= {("collapse", "encoder")}
    assert "ALARM alarm at epoch 1: collapse: encoder spread" in capsys.readouterr().err


def test_only_simsiam_has_a_stop_gradient_to_remove():
    from hpe_core.training.config import config_from_dict, validate

    raw = {"data": {"path": "demo"}, "contrastive": {"stop_gradient": False}}
    with pytest.raises(InputError, match="contrastive.stop_gradient: only SimSiam"):
        validate(config_from_dict({"task": "simclr", **raw}))
    assert validate(config_from_dict({"task": "simsiam", **raw})).contrastive.stop_gradient is False


def test_unihpe_validations_measure_each_modality(tiny_dataset, tmp_path):
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training

    writer = EventWriter(None)
    run_training(config_from_dict({
        "task": "unihpe", "data": {"path": str(tiny_dataset), "image_size": 32},
        "model": {"width": 4, "options": {"dim": 16, "pose_width": 16, "pose_depth": 1, "pose_heads": 2,
                                          "decoder_hidden": 32}},
        "unihpe": {"stage": 1}, "train": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 1, "threads": 1,
                                          "output": str(tmp_path / "run")}}), events=writer)
    metrics = next(e["metrics"] for e in writer.events if e["type"] == "metric" and e["split"] == "val")
    for modality in ("pose2d", "pose3d"):  # stage 1 reads no image
        assert 1.0 <= metrics[f"health.{modality}.rankme"] <= 16 and metrics[f"health.{modality}.rank_max"] <= 16
    assert not any(k.startswith("health.image.") for k in metrics)
