"""Trackers written from our events: TensorBoard's own reader and an MLflow client read back the
scalars, histograms and hyper-parameters of a real (tiny) run, equal to its events."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hpe_core.errors import InputError
from hpe_core.training.events import read_events
from hpe_core.training.runs import trackers
from runs_helpers import hpe, make_tiny_dataset

# TensorBoard stores scalars as float32: a value read back is the event's rounded to 24 bits, so
# |read - ours| <= 2^-24 |ours| (half an ulp of float32, relative).
F32 = 2.0 ** -24


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    """A vae_lift run (it logs per-joint error histograms) written to both trackers as it trains."""
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training

    root = tmp_path_factory.mktemp("trackers")
    data = make_tiny_dataset(root / "tiny")
    raw = {"task": "vae_lift", "data": {"path": str(data)}, "vae": {"neurons": 16, "latent_dim": 4, "hypotheses": 2},
           "train": {"epochs": 2, "batch_size": 16, "threads": 1, "device": "cpu", "output": str(root / "runs" / "vae"),
                     "log_every": 1, "trackers": ["tensorboard", "mlflow"]}}
    (root / "runs" / "vae").mkdir(parents=True)
    with EventWriter(root / "runs" / "vae" / "events.jsonl") as writer:
        run_training(config_from_dict(raw), events=writer)
    return root / "runs" / "vae"


def _ours(run: Path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list] = {}
    for event in read_events(run / "events.jsonl"):
        for tag, value, step in trackers.scalars(event):
            out.setdefault(tag, []).append((step, value))
    return out


def _assert_close(read: dict, ours: dict, tolerance: float) -> None:
    assert read.keys() == ours.keys()
    for tag in ours:
        assert [s for s, _ in read[tag]] == [s for s, _ in ours[tag]], tag
        for (_, a), (_, b) in zip(read[tag], ours[tag]):
            assert abs(a - b) <= tolerance * abs(b) + 1e-300, (tag, a, b)


def test_tensorboard_reads_back_every_scalar_and_the_histograms(vae_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(vae_run / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    read = {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    ours = _ours(vae_run)
    assert "val/mpjpe" in ours and "train/loss" in ours and len(ours["train/loss"]) >= 4
    _assert_close(read, ours, F32)
    hist = [e for e in read_events(vae_run / "events.jsonl") if e["type"] == "metric" and e.get("histograms")]
    shown = acc.Histograms("val/pjpe")
    assert [h.step for h in shown] == [e["step"] for e in hist]
    assert list(shown[-1].histogram_value.bucket) == [float(c) for c in hist[-1]["histograms"]["pjpe"]["counts"]]


def test_mlflow_reads_the_metrics_and_parameters_from_the_local_store(vae_run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=trackers.default_mlflow_uri(vae_run))
    experiment = client.get_experiment_by_name("runs")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "vae" and run.info.status == "FINISHED"
    ours = _ours(vae_run)
    read = {tag: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, tag)] for tag in ours}
    _assert_close(read, ours, 0.0)  # MLflow keeps doubles: equal
    assert run.data.params["task"] == "vae_lift" and run.data.params["vae.latent_dim"] == "4"
    assert run.data.params["train.trackers"] == json.dumps(["tensorboard", "mlflow"])


def test_export_runs_writes_a_finished_run_to_tensorboard(vae_run, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    done = hpe("export-runs", str(vae_run), "--to", "tensorboard", "--out", str(tmp_path / "tb"), "--json")
    assert done.returncode == 0, done.stderr
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    read = {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    _assert_close(read, _ours(vae_run), F32)
    assert json.loads(done.stdout)["exported"][0]["scalars"] == sum(map(len, _ours(vae_run).values()))
    missing = hpe("export-runs", str(tmp_path / "nothing"), "--to", "tensorboard")
    assert missing.returncode == 2 and "no such events file" in missing.stderr


def test_a_missing_tracker_package_names_its_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an environment without it raises
    with pytest.raises(InputError, match=r"mlflow is not installed; pip install 'hpe-studio\[mlflow\]'"):
        trackers.require("mlflow")


def test_trackers_are_checked_as_config_keys():
    from hpe_core.training.config import config_from_dict

    raw = {"task": "lift", "train": {"trackers": "tensorboard"}}
    config = config_from_dict(raw)
    assert config.train.trackers == ("tensorboard",)
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()  # as a checkpoint stores it: equal
    with pytest.raises(InputError, match="train.trackers: expected one of tensorboard, mlflow, got 'wandb'"):
        config_from_dict({"task": "lift", "train": {"trackers": ["wandb"]}})
