"""The training jobs manager: line-buffered events, run states, history, and real ``hpe train``
processes that finish, fail, get cancelled and resumed, or outlive their manager."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import numpy as np
import pytest
from training_helpers import (EVENTS, STREAMS, complete_events, make_manager, reference_curves,  # noqa: F401
                              tiny_config, tiny_dataset, wait_state)

from app.workers.job_process import process_alive
from app.workers.training_jobs import KILLED_AFTER, NO_FINAL_EVENT
from app.model.training_record import (FileTail, JobRecord, LineBuffer, RunState, load_history,
                                         parse_line, save_history)
from hpe_core.training.events import read_events


def state_of(lines) -> RunState:
    state = RunState()
    for line in lines:
        event, why = parse_line(line)
        if event is not None:
            state.apply(event)
        elif why:
            state.note_bad_line(why)
    return state


def assert_same_curves(state: RunState, events: list[dict]) -> None:
    expected = reference_curves(events)
    got = {"loss": state.loss, "lr": state.lr, "throughput": state.throughput,
           **{f"metric:{k}": v for k, v in state.metrics.items()}}
    got = {name: series for name, series in got.items() if len(series)}
    assert sorted(got) == sorted(expected)
    for name, (x, y) in expected.items():
        np.testing.assert_array_equal(got[name].x, x, err_msg=name)
        np.testing.assert_array_equal(got[name].y, y, err_msg=name)


# ----------------------------------------------------------------------------- line buffering
@pytest.mark.parametrize("chunk", [1, 7, 100, 1 << 16])
@pytest.mark.parametrize("name", ["simclr_done.jsonl", "regress3d_done.jsonl"])
def test_line_buffer_parses_lines_split_across_reads(name, chunk):
    data = (EVENTS / name).read_bytes()
    buffer, lines = LineBuffer(), []
    for i in range(0, len(data), chunk):
        lines += buffer.feed(data[i:i + chunk])
    lines += buffer.flush()
    assert [parse_line(ln)[0] for ln in lines if ln] == read_events(EVENTS / name)


def test_line_buffer_holds_a_partial_line_until_its_newline():
    buffer = LineBuffer()
    assert buffer.feed(b'{"a": 1}\n{"b"') == ['{"a": 1}']
    assert buffer.pending == 4
    assert buffer.feed(b': 2}') == []
    assert buffer.feed(b'\n') == ['{"b": 2}']
    assert buffer.flush() == []


@pytest.mark.parametrize("name", STREAMS)
def test_file_tail_of_a_growing_file_sees_every_complete_line(tmp_path, name):
    data = (EVENTS / name).read_bytes()
    path = tmp_path / "events.jsonl"
    tail, lines = FileTail(path, chunk=13), []
    assert tail.read() == []  # not written yet
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, len(data), 12))
    with open(path, "wb") as fh:
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(data)]):
            fh.write(data[a:b])
            fh.flush()
            lines += tail.read()
    lines += tail.read(final=True)
    assert "\n".join(lines) == data.decode().rstrip("\n")


def test_file_tail_restarts_when_the_file_is_replaced(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("one\ntwo\n")
    tail = FileTail(path)
    assert tail.read() == ["one", "two"]
    path.write_text("3\n")
    assert tail.read() == ["3"] and tail.resets == 1


# ----------------------------------------------------------------------------- run states
@pytest.mark.parametrize("name", STREAMS)
def test_run_state_curves_match_a_plain_reference(name):
    lines = (EVENTS / name).read_text().split("\n")
    state = state_of(lines)
    assert_same_curves(state, complete_events(name))


def test_truncated_stream_keeps_its_complete_events_and_reports_the_cut_line():
    state = state_of((EVENTS / "simclr_truncated.jsonl").read_text().split("\n"))
    full = state_of((EVENTS / "simclr_done.jsonl").read_text().split("\n"))
    assert state.bad_lines == 1 and "not a JSON event" in state.messages[-1]
    assert not state.ended and 0 < state.step < full.step
    n = len(state.loss)
    np.testing.assert_array_equal(state.loss.y, full.loss.y[:n])


def test_resumed_stream_continues_its_curves():
    state = state_of((EVENTS / "simclr_resumed.jsonl").read_text().split("\n"))
    assert state.reason == "finished" and state.step == state.total_steps
    assert np.all(np.diff(state.loss.x) > 0)
    assert state.metrics["loss"].x == [1.0, 2.0, 3.0, 4.0]


def test_start_of_a_resume_drops_points_past_its_checkpoint():
    state = RunState()
    state.apply({"type": "start", "time": 0.0, "config": {}, "total_steps": 10, "steps_per_epoch": 5,
                 "epochs": 2, "world_size": 1, "resumed_from": None, "epoch": 0, "step": 0})
    for step in range(1, 8):  # killed at step 7; the last checkpoint was the end of epoch 1 (step 5)
        state.apply({"type": "progress", "time": float(step), "epoch": step // 5, "step": step,
                     "total_steps": 10, "loss": 1.0 / step, "lr": 0.1, "samples_per_s": 10.0})
    state.apply({"type": "start", "time": 20.0, "config": {}, "total_steps": 10, "steps_per_epoch": 5,
                 "epochs": 2, "world_size": 1, "resumed_from": "last.pt", "epoch": 1, "step": 5})
    assert state.loss.x == [1.0, 2.0, 3.0, 4.0, 5.0] and state.step == 5


@pytest.mark.parametrize("t_start, t_now, step0, step, total, expected", [
    (0.0, 10.0, 0, 10, 100, 90.0),  # 1 step/s, 90 left
    (5.0, 9.0, 20, 28, 40, 6.0),  # a resumed segment counts from its own start
])
def test_eta_is_steps_left_at_the_segment_rate(t_start, t_now, step0, step, total, expected):
    state = RunState()
    state.apply({"type": "start", "time": t_start, "config": {}, "total_steps": total, "steps_per_epoch": 10,
                 "epochs": total // 10, "world_size": 1, "resumed_from": None, "epoch": 0, "step": step0})
    state.apply({"type": "progress", "time": t_now, "epoch": 0, "step": step, "total_steps": total,
                 "loss": 1.0, "lr": 0.1, "samples_per_s": 10.0})
    assert state.eta_s() == pytest.approx(expected)


# ----------------------------------------------------------------------------- history
def test_history_round_trip_and_atomic_write(tmp_path):
    path = tmp_path / "history.json"
    records = [JobRecord(id="a", name="first", state="done", checkpoint="/x/best.pt"),
               JobRecord(id="b", name="second", state="running", pid=123, external=True)]
    save_history(path, records)
    assert load_history(path) == (records, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]  # no temporary left


def test_history_v1_fixture_still_loads():
    records, warning = load_history(EVENTS.parent / "training_jobs" / "history_v1.json")
    assert warning is None
    assert [(r.name, r.state, r.external) for r in records] == [
        ("simclr_cpu", "done", False), ("cluster run", "running", True), ("regress", "cancelled", False)]


@pytest.mark.parametrize("text, words", [
    ("{not json", "could not be read"),
    (json.dumps({"format": "hpe-studio-training-jobs", "version": 99, "jobs": []}), "newer version"),
    (json.dumps({"format": "hpe-studio-training-jobs", "version": 1, "jobs": [{"id": "a", "name": "x",
                                                                               "state": "lost"}]}), "state"),
])
def test_bad_history_starts_empty_with_a_warning(tmp_path, text, words):
    path = tmp_path / "history.json"
    path.write_text(text)
    records, warning = load_history(path)
    assert records == [] and words in warning


def test_removing_a_job_deletes_only_its_own_folder(qtbot, make_manager, tmp_path):
    elsewhere = tmp_path / "precious"
    elsewhere.mkdir()
    records = [JobRecord(id="mine", name="a", state="done", folder=str(tmp_path / "jobs" / "mine")),
               JobRecord(id="odd", name="b", state="failed", folder=str(elsewhere))]  # a tampered history
    (tmp_path / "jobs" / "mine").mkdir(parents=True)
    save_history(tmp_path / "jobs" / "history.json", records)
    manager = make_manager()
    manager.remove("mine")
    manager.remove("odd")
    assert not (tmp_path / "jobs" / "mine").exists() and elsewhere.is_dir()
    assert manager.jobs() == [] and load_history(manager.history_path) == ([], None)


@pytest.mark.parametrize("output, expected", [("runs/simclr", "simclr"), ("mine", "mine"), (".", "train"),
                                              ("", "train")])
def test_relative_outputs_go_under_the_runs_folder_and_are_never_reused(make_manager, tmp_path, output, expected):
    manager = make_manager()
    first = manager._output_for(output)
    assert first == tmp_path / "runs" / expected
    first.mkdir(parents=True, exist_ok=True)
    (first / "last.pt").write_bytes(b"")
    assert manager._output_for(output) == first.with_name(f"{expected}-2")
    assert manager._output_for(str(tmp_path / "abs")) == tmp_path / "abs"


# ----------------------------------------------------------------------------- followed jobs
def test_follow_an_external_events_file_written_in_pieces(qtbot, make_manager, tmp_path):
    data = (EVENTS / "simclr_done.jsonl").read_bytes()
    path = tmp_path / "cluster" / "events.jsonl"
    path.parent.mkdir()
    half = data.index(b'"type": "metric"') + 10  # stop in the middle of a line
    path.write_bytes(data[:half])
    manager = make_manager(poll_ms=20)
    job = manager.follow(path)
    assert job.record.state == "running" and job.record.external and job.state.step > 0
    with qtbot.waitSignal(manager.job_finished, timeout=10_000) as finished:
        with open(path, "ab") as fh:
            fh.write(data[half:])
    assert finished.args == [job.id, "done"]
    assert_same_curves(job.state, complete_events("simclr_done.jsonl"))


def test_following_an_error_stream_fails_with_its_message(qtbot, make_manager):
    manager = make_manager()
    job = manager.follow(EVENTS / "error_bad_dataset.jsonl")
    assert job.record.state == "failed" and "no such dataset" in job.record.message


# ----------------------------------------------------------------------------- real processes
def test_cancel_leaves_a_resumable_checkpoint_and_resume_finishes(qtbot, make_manager, tiny_dataset):
    from hpe_core.training.checkpoints import ResumePoint

    manager = make_manager(poll_ms=20)
    job = manager.submit(tiny_config(tiny_dataset, epochs=8))
    qtbot.waitUntil(lambda: job.state.step > 0, timeout=60_000)
    manager.cancel(job.id)
    wait_state(qtbot, manager, job.id, "cancelled")
    stopped_at = job.state.step
    assert 0 < stopped_at < job.state.total_steps and job.resumable()
    assert ResumePoint(job.record.last_checkpoint).step == stopped_at
    with open(job.record.events_path, "ab") as fh:  # as a job killed in the middle of a write leaves it
        fh.write(b'{"type": "progress", "time": 1')
    with qtbot.waitSignal(manager.checkpoint_ready, timeout=60_000) as ready:
        manager.resume(job.id)
    assert job.record.state == "done" and ready.args == [job.record.checkpoint]
    assert job.record.runs == 2 and job.state.step == job.state.total_steps and job.state.bad_lines == 1
    assert np.all(np.diff(job.state.loss.x) > 0)  # one continuous curve over both runs
    assert "resumed from" in job.log_text() and "finished" in job.log_text()
    manager.shutdown(stop=False)
    again = make_manager().job(job.id)  # the next session reads the history
    assert (again.record.state, again.record.checkpoint, again.record.step) == ("done", job.record.checkpoint,
                                                                                 job.state.step)
    again.ensure_loaded()
    assert again.state.loss.y == job.state.loss.y


def test_killed_job_fails_while_the_event_loop_keeps_running(qtbot, make_manager, tiny_dataset):
    from PySide6.QtCore import QTimer

    ticks = []
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    manager = make_manager()
    job = manager.submit(tiny_config(tiny_dataset, epochs=12))
    qtbot.waitUntil(lambda: "last" in job.state.checkpoints, timeout=60_000)
    pid = job.record.pid
    os.kill(pid, signal.SIGKILL)
    wait_state(qtbot, manager, job.id, "failed", timeout=10_000)
    timer.stop()
    assert job.record.message.startswith(NO_FINAL_EVENT) and job.resumable()
    assert not process_alive(pid)
    assert len(ticks) > 10  # the GUI thread served its timers all along


def test_a_job_that_ignores_sigint_is_killed_after_the_timeout(qtbot, make_manager, tmp_path):
    script = tmp_path / "stubborn.py"  # stands for hpe: writes a start event, then ignores SIGINT
    script.write_text(
        "import json, signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "path = sys.argv[sys.argv.index('--events') + 1]\n"
        "event = {'type': 'start', 'time': time.time(), 'config': {}, 'total_steps': 9, 'steps_per_epoch': 3,\n"
        "         'epochs': 3, 'world_size': 1, 'resumed_from': None, 'epoch': 0, 'step': 0}\n"
        "open(path, 'a').write(json.dumps(event) + '\\n')\n"
        "time.sleep(120)\n")
    manager = make_manager(command=[sys.executable, str(script)], stop_timeout_s=0.5)
    job = manager.submit(tiny_config(tmp_path))
    qtbot.waitUntil(lambda: job.state.events == 1, timeout=20_000)
    manager.cancel(job.id)
    wait_state(qtbot, manager, job.id, "cancelled", timeout=20_000)
    assert job.record.message.startswith(KILLED_AFTER.format(timeout=0.5))


def quick_stub(tmp_path):
    """A stand-in for hpe: a one-step run that writes its checkpoint and finishes at once."""
    script = tmp_path / "quick.py"
    script.write_text(
        "import json, pathlib, sys, time\n"
        "path = sys.argv[sys.argv.index('--events') + 1]\n"
        "out = pathlib.Path(json.load(open(sys.argv[2]))['train']['output'])\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'last.pt').write_bytes(b'weights')\n"
        "base = {'epoch': 1, 'step': 1, 'total_steps': 1}\n"
        "with open(path, 'a') as fh:\n"
        "    for event in ({'type': 'start', 'config': {}, 'steps_per_epoch': 1, 'epochs': 1, 'world_size': 1,\n"
        "                   'resumed_from': None, **base, 'epoch': 0, 'step': 0},\n"
        "                  {'type': 'checkpoint', 'path': str(out / 'last.pt'), 'kind': 'last', **base},\n"
        "                  {'type': 'done', 'reason': 'finished', 'summary': {}, **base}):\n"
        "        fh.write(json.dumps({'time': time.time(), **event}) + '\\n')\n")
    return [sys.executable, str(script)]


def test_queue_runs_one_job_at_a_time(qtbot, make_manager, tmp_path):
    manager = make_manager(command=quick_stub(tmp_path), max_running=1, poll_ms=20)
    a, b, c = (manager.submit(tiny_config(tmp_path)) for _ in range(3))
    assert [j.record.state for j in (a, b, c)] == ["running", "queued", "queued"]
    assert len({j.record.output for j in (a, b, c)}) == 3  # same config, three output folders
    manager.cancel(c.id)
    assert c.record.state == "cancelled"
    wait_state(qtbot, manager, b.id, "done", timeout=20_000)
    assert a.record.state == "done" and a.record.ended <= b.record.started


def test_a_job_that_ended_while_closed_joins_the_workspace_at_the_next_start(qtbot, make_manager, tmp_path):
    first = make_manager(command=quick_stub(tmp_path))
    job = first.submit(tiny_config(tmp_path))
    first.shutdown(stop=False)  # closed with "keep running" before the job could report
    qtbot.waitUntil(lambda: not process_alive(job.record.pid), timeout=20_000)
    second = make_manager(command=quick_stub(tmp_path))
    with qtbot.waitSignal(second.checkpoint_ready, timeout=5_000) as ready:
        pass  # announced once the caller could connect
    again = second.job(job.id)
    assert again.record.state == "done" and ready.args == [again.record.checkpoint]
    assert again.record.message.endswith("(ended while HPE Studio was closed)")
