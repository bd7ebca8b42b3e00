"""The training loop on real (tiny) data: real steps, real checkpoints, real subprocesses.

A synthetic set of 20 poses x 4 cameras at 32 px and ResNet18s of width 4 keep every run at a
few seconds. Weights are compared bit for bit (same machine, same thread count).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hpe_core.errors import CheckpointError, InputError
from hpe_core.progress import RecordingProgress
from hpe_core.training.config import config_from_dict
from hpe_core.training.config_data import apply_overrides
from hpe_core.training.events import EventWriter, read_events
from hpe_core.training.loop import NonFiniteLoss, run_training

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("data") / "tiny"
    synthesize(SynthSpec(out, poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return out


def tiny_config(dataset: Path, output: Path, task: str = "simclr", *overrides: str):
    raw = {"task": task, "data": {"path": str(dataset), "image_size": 32},
           "model": {"width": 4, "options": {"proj_dim": 16} if task != "regress3d" else {}},
           "optim": {"name": "adam", "lr": 0.01}, "schedule": {"name": "cosine", "warmup_epochs": 0.5},
           "train": {"epochs": 2, "batch_size": 8, "output": str(output), "log_every": 2, "seed": 3,
                     "threads": 1}}
    if task == "regress3d":
        raw["regression"] = {"encoder": "random", "head_layers": 2}
    return config_from_dict(apply_overrides(raw, list(overrides)))


def weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == []


def hpe(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hpe_core.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=240, **kw)


def write_config(path: Path, config) -> Path:
    path.write_text(json.dumps(config.to_dict()))
    return path


# ----------------------------------------------------------------------------- runs
@pytest.mark.parametrize("task", ["simclr", "simsiam", "regress3d"])
def test_interrupt_and_resume_ends_with_the_same_weights(tiny_dataset, tmp_path, task):
    extra = ("data.augment=pose", "regression.cache_features=false") if task == "regress3d" else ()
    straight = run_training(tiny_config(tiny_dataset, tmp_path / "a", task, *extra))
    assert straight.reason == "finished"
    cfg = tiny_config(tiny_dataset, tmp_path / "b", task, *extra)
    stopped = run_training(cfg, RecordingProgress(cancel_after=3))  # stops mid first epoch
    assert stopped.reason == "interrupted" and 0 < stopped.step < straight.step
    resumed = run_training(cfg, resume=stopped.last_checkpoint)
    assert resumed.reason == "finished" and resumed.step == straight.step
    assert_same_weights(weights(straight.last_checkpoint), weights(resumed.last_checkpoint))
    assert resumed.history == straight.history


def test_regression_on_a_frozen_encoder_reports_every_figure(tiny_dataset, tmp_path):
    enc = run_training(tiny_config(tiny_dataset, tmp_path / "enc", "simsiam", "train.epochs=1"))
    result = run_training(tiny_config(tiny_dataset, tmp_path / "reg", "regress3d",
                                      f"regression.encoder={enc.best_checkpoint}",
                                      "regression.encoder_family=simsiam", "optim.lr=0.02"))
    test, base = result.final["test"], result.final["baseline_test"]
    for figures in (test, base):
        assert set(figures) >= {"mpjpe", "pa_mpjpe", "mean_distance"}
        assert all(0 < figures[k] < 5000 for k in ("mpjpe", "pa_mpjpe", "mean_distance"))
    assert result.final["pa_mpjpe_gain_over_baseline"] == pytest.approx(1 - test["pa_mpjpe"] / base["pa_mpjpe"])
    from hpe_core.models.checkpoint import load_checkpoint

    for path in (result.best_checkpoint, result.last_checkpoint, enc.best_checkpoint):
        info = load_checkpoint(path)[1].training
        assert info["complete"] and info["final"] == (result.final if path != enc.best_checkpoint else {})
    # the encoder was frozen: its weights are those of the SimSiam checkpoint
    enc_w, reg_w = weights(enc.best_checkpoint), weights(result.last_checkpoint)
    assert_same_weights({k: v for k, v in enc_w.items() if k.startswith("encoder.")},
                        {k: v for k, v in reg_w.items() if k.startswith("encoder.")})


def test_fine_tuning_trains_the_encoder_at_its_own_rate(tiny_dataset, tmp_path):
    cfg = tiny_config(tiny_dataset, tmp_path / "ft", "regress3d", "regression.fine_tune=true", "optim.lr=0.01",
                      "optim.encoder_lr=0.001", "train.epochs=1", "train.max_steps_per_epoch=2")
    events = EventWriter(None)
    result = run_training(cfg, events=events)
    lrs = [e["lr"] for e in events.events if e["type"] == "progress"]
    assert lrs and all(lr <= 0.01 for lr in lrs)
    raw = torch.load(result.last_checkpoint, map_location="cpu", weights_only=True)
    groups = raw["extra"]["resume"]["optimizer"]["param_groups"]
    assert sorted(g["initial_lr"] for g in groups) == [0.001, 0.01]
    assert {g["name"] for g in groups} == {"heads", "encoder"}


def test_gradient_clipping_bounds_an_sgd_step(tiny_dataset, tmp_path):
    from hpe_core.datasets import open_dataset
    from hpe_core.training.tasks.contrastive import SimCLRTask

    cfg = tiny_config(tiny_dataset, tmp_path / "clip", "simclr", "optim.name=sgd", "optim.momentum=0.0",
                      "optim.lr=1.0", "optim.grad_clip=1e-6", "schedule.name=constant",
                      "schedule.warmup_epochs=0.0", "train.epochs=1", "train.max_steps_per_epoch=1")
    torch.manual_seed(cfg.train.seed)  # as run_training does before building the model
    task = SimCLRTask(cfg, open_dataset(tiny_dataset), torch.device("cpu"))
    before = {k: v.clone() for k, v in task.build_model().state_dict().items()}
    after = weights(run_training(cfg).last_checkpoint)
    step = torch.sqrt(sum(((after[k] - before[k]).double() ** 2).sum() for k in before
                          if before[k].is_floating_point() and "running" not in k))
    assert float(step) == pytest.approx(1e-6, rel=0.03)  # lr x the global norm, clipped to 1e-6


def test_init_from_a_checkpoint_of_another_family_takes_its_encoder(tiny_dataset, tmp_path):
    from hpe_core.datasets import open_dataset
    from hpe_core.models.checkpoint import load_checkpoint
    from hpe_core.training.tasks.contrastive import SimSiamTask

    source = run_training(tiny_config(tiny_dataset, tmp_path / "clr", "simclr", "train.epochs=1",
                                      "train.max_steps_per_epoch=1"))
    cfg = tiny_config(tiny_dataset, tmp_path / "siam", "simsiam", f"model.init={source.last_checkpoint}")
    model = SimSiamTask(cfg, open_dataset(tiny_dataset), torch.device("cpu")).build_model()
    clr, _ = load_checkpoint(source.last_checkpoint)
    assert_same_weights(model.encoder.state_dict(), clr.encoder.state_dict())
    bad = tiny_config(tiny_dataset, tmp_path / "siam", "simsiam", f"model.init={source.last_checkpoint}",
                      "model.width=8")
    with pytest.raises(CheckpointError, match="does not fit the model being trained"):
        SimSiamTask(bad, open_dataset(tiny_dataset), torch.device("cpu")).build_model()


def test_nan_loss_stops_keeps_the_last_good_checkpoint_and_says_so(tiny_dataset, tmp_path, monkeypatch):
    from hpe_core.training.tasks.contrastive import SimCLRTask

    cfg = tiny_config(tiny_dataset, tmp_path / "run", "simclr", "train.epochs=3")
    good = run_training(tiny_config(tiny_dataset, tmp_path / "run", "simclr", "train.epochs=1"))
    before = weights(good.last_checkpoint)
    original, calls = SimCLRTask.objective, []

    def poisoned(self, feats):
        calls.append(1)
        loss = original(self, feats)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(SimCLRTask, "objective", poisoned)
    events = EventWriter(None)
    with pytest.raises(NonFiniteLoss) as err:
        run_training(cfg, events=events, resume=good.last_checkpoint)
    message = str(err.value)
    assert "nan" in message and str(good.last_checkpoint) in message and isinstance(err.value, InputError)
    assert_same_weights(before, weights(good.last_checkpoint))  # not overwritten


# ----------------------------------------------------------------------------- signals, kills, torchrun
def _wait_for(path: Path, predicate, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip() and predicate(json.loads(line)):
                    return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def test_sigint_saves_exits_0_and_cli_resume_matches_with_schema_valid_events(tiny_dataset, tmp_path):
    from hpe_core.models.checkpoint import load_checkpoint

    extra = ("train.epochs=3", "train.batch_size=4", "train.log_every=1")
    path = write_config(tmp_path / "c.json", tiny_config(tiny_dataset, tmp_path / "run", "simclr", *extra))
    events = tmp_path / "ev.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "hpe_core.cli", "train", str(path), "--events", str(events)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(events, lambda e: e["type"] == "progress" and e["step"] >= 2, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    first = read_events(events)  # every line is checked against the schema
    assert first[-1]["type"] == "done" and first[-1]["reason"] == "interrupted"
    assert first[-1]["step"] < first[-1]["total_steps"]
    result = hpe("train", "--resume", str(tmp_path / "run" / "last.pt"), "--events", str(events), "--json")
    assert result.returncode == 0, result.stderr
    run = read_events(events)[len(first):]
    kinds = [e["type"] for e in run]
    assert kinds[0] == "start" and kinds[-1] == "done" and "error" not in kinds
    start, done = run[0], run[-1]
    assert start["resumed_from"] == str(tmp_path / "run" / "last.pt") and start["step"] == first[-1]["step"]
    assert done["reason"] == "finished" and done["step"] == start["total_steps"] == start["steps_per_epoch"] * 3
    steps = [e["step"] for e in run if e["type"] == "progress"]
    assert steps == list(range(start["step"] + 1, done["step"] + 1))  # log_every 1: every step, once
    assert all(e["lr"] > 0 and e["samples_per_s"] > 0 for e in run if e["type"] == "progress")
    metrics = [e for e in first + run if e["type"] == "metric"]
    assert [m["epoch"] for m in metrics] == [0, 1, 2]
    assert {"loss", "pair_top1", "feature_std", "train_loss"} <= set(metrics[0]["metrics"])
    summary = json.loads(result.stdout)
    model, info = load_checkpoint(summary["last_checkpoint"])
    assert model.family == "simclr" and info.training["complete"] and len(info.training["history"]) == 3
    straight = run_training(tiny_config(tiny_dataset, tmp_path / "ref", "simclr", *extra))
    assert_same_weights(weights(straight.last_checkpoint), weights(tmp_path / "run" / "last.pt"))


KILLER = """
import sys, torch
from hpe_core.models import build_model
from hpe_core.training.checkpoints import save_training_checkpoint
model = build_model("simclr", "resnet18", width=64)
path = sys.argv[1]
for i in range(1000):
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float(i))
    print("saving", i, flush=True)
    save_training_checkpoint(path, model, {"i": i}, {"optimizer": {}, "rng": {}})
    print("saved", i, flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_sigkill_while_saving_never_leaves_a_corrupt_checkpoint(tmp_path, delay):
    from hpe_core.models.checkpoint import load_checkpoint

    target = tmp_path / "last.pt"
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(target)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    seen = []
    for line in proc.stdout:
        seen.append(line.split())
        if seen[-1] == ["saving", "2"]:
            time.sleep(delay)
            proc.kill()
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    model, info = load_checkpoint(target)  # the previous (or the new) checkpoint, whole
    i = info.training["i"]
    assert i in (1, 2)
    assert all(torch.all(p == float(i)) for p in model.parameters())


def test_torchrun_two_processes_gloo_writes_one_checkpoint(tiny_dataset, tmp_path):
    path = write_config(tmp_path / "c.json", tiny_config(tiny_dataset, tmp_path / "run", "simclr",
                                                          "train.epochs=1", "train.device=cpu"))
    events = tmp_path / "ev.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             "-m", "hpe_core.cli", "train", str(path), "--events", str(events)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    evs = read_events(events)
    assert [e["type"] for e in evs].count("start") == 1 and evs[0]["world_size"] == 2
    assert evs[-1]["type"] == "done" and evs[-1]["reason"] == "finished"
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best.pt", "last.pt"]
    assert len([e for e in evs if e["type"] == "checkpoint" and e["kind"] == "last"]) == 1


# ----------------------------------------------------------------------------- bad input
def _error_run(tmp_path, *args):
    events = tmp_path / "ev.jsonl"
    result = hpe("train", *args, "--events", str(events))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("hpe train: error:") and "Traceback" not in result.stderr
    last = read_events(events)[-1]
    assert last["type"] == "error" and last["exit_status"] == 2
    return last["message"]


def test_unknown_config_key_is_an_error_event(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("task: simclr\ndata: {path: demo}\ntrain: {epochs: 1, batchsize: 4}\n")
    assert "unknown key 'train.batchsize'" in _error_run(tmp_path, str(cfg))


def test_missing_dataset_path_is_an_error_event(tmp_path):
    cfg = write_config(tmp_path / "c.json", config_from_dict({"task": "simclr", "data": {
        "path": str(tmp_path / "nowhere")}, "train": {"output": str(tmp_path / "run")}}))
    message = _error_run(tmp_path, str(cfg))
    assert "nowhere" in message and "no such dataset" in message


def test_encoder_of_the_wrong_family_is_refused(tiny_dataset, tmp_path):
    enc = run_training(tiny_config(tiny_dataset, tmp_path / "enc", "simclr", "train.epochs=1",
                                   "train.max_steps_per_epoch=1"))
    cfg = tiny_config(tiny_dataset, tmp_path / "reg", "regress3d", f"regression.encoder={enc.best_checkpoint}",
                      "regression.encoder_family=simsiam")
    with pytest.raises(CheckpointError, match="a 'simclr' checkpoint, but this needs one of the families simsiam"):
        run_training(cfg)


def test_nan_loss_from_the_cli_is_an_error_event_with_status_2(tiny_dataset, tmp_path):
    cfg = write_config(tmp_path / "c.json", tiny_config(tiny_dataset, tmp_path / "reg", "regress3d",
                                                          "regression.pose_scale=1e39"))
    message = _error_run(tmp_path, str(cfg))
    assert "the loss became" in message and "no checkpoint had been written yet" in message


def test_resume_with_a_changed_config_is_refused(tiny_dataset, tmp_path):
    run = run_training(tiny_config(tiny_dataset, tmp_path / "run", "simclr", "train.epochs=1",
                                   "train.max_steps_per_epoch=1"))
    with pytest.raises(InputError, match="'optim.lr'"):
        run_training(tiny_config(tiny_dataset, tmp_path / "run", "simclr", "optim.lr=0.5"),
                     resume=run.last_checkpoint)
    with pytest.raises(CheckpointError, match="no resume state"):
        from hpe_core.models.checkpoint import load_checkpoint, save_checkpoint

        model, _ = load_checkpoint(run.last_checkpoint)
        save_checkpoint(tmp_path / "plain.pt", model)
        run_training(tiny_config(tiny_dataset, tmp_path / "run", "simclr"), resume=tmp_path / "plain.pt")
