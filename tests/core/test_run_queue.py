"""The run queue shared by the GUI and ``hpe queue``: merges, the lock, and a real queue of
training runs that goes on past a failure and past a killed runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpe_core.training.runs.queue import JobRecord, QueueFile, merge_records
from runs_helpers import ROOT, hpe, make_tiny_dataset, write_tiny_config


def test_merge_keeps_the_later_change_of_each_job_and_what_only_one_side_has():
    a_old, a_new = JobRecord("a", "a", updated=1.0), JobRecord("a", "a", state="running", updated=2.0)
    b, c, gone = JobRecord("b", "b", updated=5.0), JobRecord("c", "c"), JobRecord("x", "x")
    merged = merge_records([a_new, c], [a_old, b, gone], removed={"x"})
    assert [(r.id, r.state) for r in merged] == [("a", "running"), ("b", "queued"), ("c", "queued")]
    assert merge_records([a_old], [a_new])[0] is a_new


WRITER = """
import sys
from hpe_core.training.runs.queue import JobRecord, QueueFile
q = QueueFile(sys.argv[1])
for i in range(25):
    with q.transaction() as records:
        records.append(JobRecord(f"{sys.argv[2]}-{i}", "n"))
"""


def test_concurrent_writers_lose_nothing(tmp_path):
    """Two processes each add 25 jobs, one read-modify-write at a time: all 50 are in the file."""
    path = tmp_path / "jobs" / "history.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], env=env) for name in "pq"]
    assert [p.wait(60) for p in procs] == [0, 0]
    ids = {r.id for r in QueueFile(path).read()}
    assert ids == {f"{n}-{i}" for n in "pq" for i in range(25)}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("queue") / "tiny")


def _states(data: Path) -> dict[str, str]:
    path = data / "jobs" / "history.json"
    return {r.name: r.state for r in QueueFile(path).read()} if path.is_file() else {}


def test_a_queue_of_four_goes_on_past_a_failure_and_a_killed_runner(dataset, tmp_path):
    """4 runs, the third with a dataset path that does not exist: the runner is killed once the
    first run ended and another runs; a second runner follows the running one and finishes the queue."""
    data = tmp_path / "data"
    configs = [write_tiny_config(tmp_path / f"c{i}.json", dataset, Path(f"run{i}"),
                                 *(["data.path=/no/such/dataset"] if i == 2 else [])) for i in range(4)]
    added = hpe("queue", "--data-dir", str(data), "add", *map(str, configs), "--json")
    assert added.returncode == 0, added.stderr
    assert [r["name"] for r in json.loads(added.stdout)["added"]] == ["run0", "run1", "run2", "run3"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-m", "hpe_core.cli", "queue", "--data-dir", str(data), "start",
                              "--slots", "1"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not (_states(data).get("run0") == "done" and "running" in _states(data).values()):
        assert time.monotonic() < deadline and first.poll() is None, _states(data)
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    left_running = [n for n, s in _states(data).items() if s == "running"]
    second = hpe("queue", "--data-dir", str(data), "start", "--slots", "1", "--json")
    assert second.returncode == 0, second.stderr
    records = {r.name: r for r in QueueFile(data / "jobs" / "history.json").read()}
    assert {n: r.state for n, r in records.items()} == {"run0": "done", "run1": "done", "run2": "failed",
                                                        "run3": "done"}
    assert "data.path /no/such/dataset: no such dataset" in records["run2"].message
    for name, record in records.items():  # the run the killed runner left running was followed, not restarted
        starts = [line for line in Path(record.events_path).read_text().splitlines() if '"type": "start"' in line]
        assert record.runs == 1 and len(starts) == (0 if name == "run2" else 1), name
        assert name == "run2" or Path(record.checkpoint).is_file()
    ran = {r["name"] for r in json.loads(second.stdout)["ran"]}
    assert left_running and ran == {"run1", "run2", "run3"} - set(left_running)
    listed = hpe("queue", "--data-dir", str(data), "list")
    assert listed.returncode == 0 and listed.stdout.count("done") == 3


def test_cancel_of_a_queued_job_and_a_bad_id(dataset, tmp_path):
    data = tmp_path / "data"
    config = write_tiny_config(tmp_path / "c.json", dataset, Path("run"))
    job_id = json.loads(hpe("queue", "--data-dir", str(data), "add", str(config), "--json").stdout)["added"][0]["id"]
    bad = hpe("queue", "--data-dir", str(data), "cancel", "nope")
    assert bad.returncode == 2 and "nope: no job with this id" in bad.stderr and "Traceback" not in bad.stderr
    assert hpe("queue", "--data-dir", str(data), "cancel", job_id[:17]).returncode == 0
    assert _states(data) == {"run": "cancelled"}
    again = hpe("queue", "--data-dir", str(data), "cancel", job_id)
    assert again.returncode == 2 and "only a queued or running job" in again.stderr


def test_each_running_job_gets_a_gpu_of_its_own(tmp_path):
    """With 2 GPUs, a job takes the lowest GPU none of the running jobs holds (the first to end frees its own)."""
    from hpe_core.training.runs.runner import QueueRunner

    runner = QueueRunner(QueueFile(tmp_path / "history.json"), slots=2, gpus=2)
    a, b, c = JobRecord("a", "a"), JobRecord("b", "b"), JobRecord("c", "c")
    gpu = lambda record, running: runner._environment(record, running)["CUDA_VISIBLE_DEVICES"]  # noqa: E731
    assert (gpu(a, []), gpu(b, [a]), gpu(c, [b])) == ("0", "1", "0")
    assert "CUDA_VISIBLE_DEVICES" not in QueueRunner(runner.queue)._environment(a, [])


def test_a_job_starts_after_the_jobs_it_needs_and_fails_when_one_failed():
    from hpe_core.training.runs.queue import startable

    a, c = JobRecord("a", "A", state="done"), JobRecord("c", "C", state="failed")
    b = JobRecord("b", "B", after=["a"], created=1.0)
    d = JobRecord("d", "D", after=["c"], created=2.0)
    e = JobRecord("e", "E", after=["b"], created=3.0)
    f = JobRecord("f", "F", after=["gone"], created=4.0)
    ready, impossible = startable([a, b, c, d, e, f])
    assert ready == [b]  # e waits for b
    assert [(r.id, why) for r, why in impossible] == [
        ("d", "it needs C done first, which failed"), ("f", "it needs gone done first, which is no longer in the queue")]


def test_the_unihpe_ablation_queues_its_stages_each_after_the_one_it_starts_from(dataset, tmp_path, capsys):
    from hpe_core.cli import main

    out = tmp_path / "ablation"
    assert main(["ablate", "unihpe", str(dataset), "--quick", "--queue", "--data-dir", str(tmp_path / "data"),
                 "--out", str(out), "--json"]) == 0
    queued = {r["name"].split()[-1]: r for r in json.loads(capsys.readouterr().out)["queued"]}
    assert list(queued) == ["stage1", "stage2_pair", "stage2_triplet", "stage3_none", "stage3_pair",
                            "stage3_triplet", "stage3_triplet_token"]
    after = {name: [n for n, r in queued.items() if r["id"] in q["after"]] for name, q in queued.items()}
    assert after == {"stage1": [], "stage2_pair": ["stage1"], "stage2_triplet": ["stage1"], "stage3_none": [],
                     "stage3_pair": ["stage2_pair"], "stage3_triplet": ["stage2_triplet"],
                     "stage3_triplet_token": ["stage2_triplet"]}
    records = {r.id: r for r in QueueFile(tmp_path / "data" / "jobs" / "history.json").read()}
    config = json.loads(Path(records[queued["stage2_pair"]["id"]].config_path).read_text())
    assert config["model"]["init"] == str(out.resolve() / "stage1" / "best.pt")
    assert all(Path(q["output"]) == out.resolve() / name for name, q in queued.items())


def test_a_long_lived_writer_replaces_an_unreadable_file_and_keeps_others_changes(tmp_path):
    from hpe_core.training.runs.queue import SharedQueue

    path = tmp_path / "history.json"
    path.write_text("{not json")
    gui = SharedQueue(path)
    mine = JobRecord("g", "gui job")
    gui.save([mine])
    with QueueFile(path).transaction() as records:  # the command line adds one and ends the GUI's
        records.append(JobRecord("c", "cli job", updated=time.time()))
        records[0].state, records[0].updated = "done", time.time() + 1
    merged = gui.load([mine])
    assert [(r.id, r.state) for r in merged] == [("g", "done"), ("c", "queued")]
