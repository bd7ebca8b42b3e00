"""Sweeps on Optuna: the search-space syntax, a grid run by one worker and by two worker processes
sharing the SQLite study, and a resumed sweep that keeps its finished trials."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from hpe_core.errors import InputError
from hpe_core.training.runs import sweep
from hpe_core.training.runs.sweep_space import Param, parse_param
from runs_helpers import ROOT, hpe, make_tiny_dataset, tiny_raw, write_tiny_config

PARAMS = ("optim.lr=0.001,0.01,0.1", "train.seed=0,1")  # a 3 x 2 grid


@pytest.mark.parametrize("text, expected", [
    ("optim.lr=log:1e-4..1e-1", Param("optim.lr", "float", 1e-4, 1e-1, log=True)),
    ("optim.momentum=0.8..0.99", Param("optim.momentum", "float", 0.8, 0.99)),
    ("model.width=int:8..64", Param("model.width", "int", 8, 64)),
    ("contrastive.temperature=0.05,0.1,0.2", Param("contrastive.temperature", "choice", choices=(0.05, 0.1, 0.2))),
    ("optim.name=adam,sgd", Param("optim.name", "choice", choices=("adam", "sgd"))),
])
def test_param_syntax(text, expected):
    assert parse_param(text) == expected


@pytest.mark.parametrize("text, words", [
    ("optim.lr", "expected KEY=SPEC"), ("optim.lr=log:0..1", "log range must be positive"),
    ("optim.lr=1..0.5", "LOW < HIGH"), ("x=int:1.5..3", "whole bounds"), ("x=cube:1..2", "unknown prefix"),
    ("x=1,1", "listed twice"),
])
def test_bad_params_are_named(text, words):
    with pytest.raises(InputError, match=words):
        parse_param(text)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("sweep") / "tiny")


def _spec(dataset: Path, tmp: Path, trials: int = 0) -> sweep.SweepSpec:
    return sweep.SweepSpec(config=tiny_raw(dataset, tmp / "unused"), params=tuple(map(parse_param, PARAMS)),
                           metric="val/pa_mpjpe", sampler="grid", trials=trials, study_name="grid")


def _values(doc: dict) -> dict:
    return {tuple(sorted(t["params"].items())): t["value"] for t in doc["trials"]}


def test_one_worker_and_two_worker_processes_give_the_same_trials_and_best(dataset, tmp_path):
    one = sweep.run_sweep(_spec(dataset, tmp_path), tmp_path / "one", workers=1)
    config = write_tiny_config(tmp_path / "c.json", dataset, tmp_path / "unused")
    two = hpe("sweep", str(config), *(a for p in PARAMS for a in ("--param", p)), "--sampler", "grid",
              "--metric", "val/pa_mpjpe", "--workers", "2", "--out", str(tmp_path / "grid"), "--json", timeout=300)
    assert two.returncode == 0, two.stderr
    two = json.loads(two.stdout)
    assert len(one["trials"]) == len(two["trials"]) == 6
    assert {t["state"] for t in one["trials"] + two["trials"]} == {"complete"}
    # the same 6 grid points; the same machine, one thread and the same seeds: the same numbers, bit for bit
    assert _values(one) == _values(two) and len(_values(one)) == 6
    assert one["best"]["value"] == two["best"]["value"] and one["best"]["params"] == two["best"]["params"]
    study = sweep.open_study(sweep.load_spec(tmp_path / "grid"), tmp_path / "grid")
    assert {t.user_attrs["worker"]["index"] for t in study.get_trials()} == {0, 1}  # both workers trained
    shown = hpe("sweep", "status", str(tmp_path / "grid"))
    assert shown.returncode == 0 and f"best: trial {two['best']['number']}" in shown.stdout


def test_a_resumed_sweep_skips_finished_trials_and_retries_a_dead_workers_trial(dataset, tmp_path):
    folder = tmp_path / "resumed"
    first = sweep.run_sweep(_spec(dataset, tmp_path, trials=3), folder)
    assert [t["state"] for t in first["trials"]] == ["complete"] * 3
    study = sweep.open_study(sweep.load_spec(folder), folder)  # a worker that died mid-trial
    dead = study.ask()
    dead.set_user_attr("worker", {"host": socket.gethostname(), "pid": 2 ** 22 + 7, "start": None})
    for p in sweep.load_spec(folder).params:
        p.suggest(dead)
    before = {t["run"]: os.stat(Path(t["run"]) / "events.jsonl").st_mtime_ns for t in first["trials"]}
    done = sweep.run_sweep(_spec(dataset, tmp_path, trials=6), folder)
    states = [(t["number"], t["state"], t["stale"]) for t in done["trials"]]
    assert states[:4] == [(0, "complete", False), (1, "complete", False), (2, "complete", False), (3, "fail", True)]
    retry = [t for t in done["trials"] if t["retry_of"] == 3]
    assert len(retry) == 1 and retry[0]["params"] == dead.params and retry[0]["state"] == "complete"
    assert sum(t["state"] == "complete" for t in done["trials"]) == 6 and len(_values(done)) == 6
    after = {run: os.stat(Path(run) / "events.jsonl").st_mtime_ns for run in before}
    assert after == before  # the finished trials were not run again


def test_a_folder_holding_another_sweep_is_refused(dataset, tmp_path):
    folder = tmp_path / "s"
    sweep.prepare(_spec(dataset, tmp_path), folder)
    other = sweep.SweepSpec(**{**_spec(dataset, tmp_path).__dict__, "metric": "val/mpjpe"})
    with pytest.raises(InputError, match="holds another sweep \\(its metric differs\\)"):
        sweep.prepare(other, folder)
    with pytest.raises(InputError, match="a grid needs listed values"):
        sweep.check_spec(sweep.SweepSpec(config={}, params=(parse_param("optim.lr=0.1..1"),), sampler="grid"))


def test_slurm_array_export_runs_as_a_worker(dataset, tmp_path):
    """The exported array script, run here as array task 0 (bash, no Slurm), works the sweep."""
    import subprocess

    config = write_tiny_config(tmp_path / "c.json", dataset, tmp_path / "unused")
    job = tmp_path / "job"
    made = hpe("sweep", str(config), "--param", "optim.lr=log:1e-3..1e-1", "--trials", "2", "--sampler", "random",
               "--metric", "val/mpjpe", "--export-script", "slurm", str(job), "--workers", "3", "--gpus-per-node", "0",
               "--python", sys.executable, "--json")
    assert made.returncode == 0, made.stderr
    script = (job / "sweep.sbatch").read_text()
    assert "#SBATCH --array=0-2" in script and "--requeue" not in script and "gpus-per-node" not in script
    assert json.loads(made.stdout)["storage"] == f"sqlite:///{job.resolve()}/study.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLURM_ARRAY_TASK_ID": "0"}
    run = subprocess.run(["bash", str(job / "sweep.sbatch")], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    doc = sweep.status(job)
    assert [t["state"] for t in doc["trials"]] == ["complete", "complete"]
    assert all(Path(t["run"]).parent == job.resolve() for t in doc["trials"])


def test_the_head_depth_ablation_is_a_grid_sweep(dataset, tmp_path, capsys):
    """``hpe ablate heads``: seed 000's 1-, 2- and 3-layer heads, one trial each, scored on the test split."""
    from hpe_core.cli import main

    assert main(["ablate", "heads", str(dataset), "--quick", "--out", str(tmp_path / "heads"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metric"] == "test/pa_mpjpe" and doc["sampler"] == "grid"
    assert sorted(t["params"]["regression.head_layers"] for t in doc["trials"]) == [1, 2, 3]
    assert {t["state"] for t in doc["trials"]} == {"complete"}
    assert doc["best"]["value"] == min(t["value"] for t in doc["trials"])


def test_the_pruning_hook_reports_validations_and_stops_a_lagging_trial():
    """With --prune, each validation value reaches Optuna's median pruner; a trial worse than the
    median of the earlier trials at the same epoch is asked to stop, a better one is not."""
    import optuna

    from hpe_core.training.runs.trial import _pruning
    from hpe_core.training.state import StopFlag

    spec = sweep.SweepSpec(config={}, params=(), metric="val/mpjpe", prune=True)
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    for value in (10.0, 20.0):
        done = study.ask()
        done.report(value, 0)
        study.tell(done, value)

    def validation(trial, value: float) -> tuple[StopFlag, list]:
        stop, pruned = StopFlag(), []
        _pruning(spec, trial, stop, pruned)({"type": "metric", "split": "val", "epoch": 0,
                                             "metrics": {"mpjpe": value, "loss": 1.0}})
        return stop, pruned

    stop, pruned = validation(study.ask(), 12.0)  # below the median (15): goes on
    assert not stop.requested and pruned == []
    lagging = study.ask()
    stop, pruned = validation(lagging, 40.0)
    assert stop.requested and pruned == [0]
    assert study.trials[lagging.number].intermediate_values == {0: 40.0}
