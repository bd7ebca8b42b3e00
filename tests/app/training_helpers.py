"""Shared by the training GUI tests: a tiny dataset, tiny configs, managers that clean up after
themselves, and the recorded event streams of ``tests/fixtures/events``."""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
STREAMS = sorted(p.name for p in EVENTS.glob("*.jsonl"))
FAST_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A native dataset of 12 poses seen by 2 cameras, 32 px images."""
    from helpers import make_dataset

    return make_dataset(tmp_path_factory.mktemp("training") / "ds", n_poses=12, n_cams=2, size=32)


def tiny_config(dataset: Path, task: str = "simclr", **train) -> dict:
    """A config whose every epoch takes a fraction of a second on one CPU core."""
    raw = {"task": task, "data": {"path": str(dataset), "image_size": 32},
           "model": {"backbone": "resnet18", "width": 4}, "optim": {"name": "adam", "lr": 0.001},
           "train": {"epochs": 2, "batch_size": 4, "output": "tiny", "log_every": 1, "device": "cpu", **train}}
    if task == "regress3d":
        raw["regression"] = {"encoder": "random", "head_layers": 1}
    return raw


@pytest.fixture
def window_env(tmp_path, monkeypatch):
    """Private job folders and one-thread jobs for windows made after it."""
    monkeypatch.setenv("HPE_STUDIO_DATA_DIR", str(tmp_path / "data"))
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)
    return tmp_path / "data"


@contextmanager
def training_panel(qtbot, manager):
    """The training panel of ``manager`` and of a new workspace, shown at 1300 x 800; its ``messages``
    list what the workspace said, as (level, text). The workspace closes after."""
    from app.views.training_view import TrainingView
    from app.workers import training_jobs as tj
    from app.workspace import Workspace

    workspace = Workspace()
    messages = []
    workspace.message.connect(lambda level, text: messages.append((level, text)))
    tj.connect_workspace(manager, workspace)
    panel = TrainingView(manager, workspace)
    panel.messages = messages
    qtbot.addWidget(panel)
    panel.resize(1300, 800)
    panel.show()
    yield panel
    workspace.close()


@pytest.fixture
def make_manager(qtbot, tmp_path):
    """``make_manager(**kwargs)``: a manager on a private folder; running jobs are killed at the end."""
    from app.workers.training_jobs import TrainingJobsManager

    made = []

    def make(folder: Path | None = None, **kwargs):
        kwargs.setdefault("env", FAST_ENV)
        kwargs.setdefault("stop_timeout_s", 20.0)
        kwargs.setdefault("poll_ms", 50)
        manager = TrainingJobsManager(folder or tmp_path / "jobs", runs_dir=tmp_path / "runs", **kwargs)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        for job in manager.jobs():
            kill_group(job.record.pid)
        manager.shutdown(stop=False)


def kill_group(pid: int | None) -> None:
    from app.workers.job_process import process_alive

    if pid and process_alive(pid):
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def complete_events(name: str) -> list[dict]:
    """The reference: every complete JSON line of a recorded stream, parsed by a plain loop."""
    events = []
    for line in (EVENTS / name).read_text().split("\n"):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # blank, or the line a killed job left half-written
            continue
    return events


def reference_curves(events: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """Curves from events, written out the slow way: the points of the latest run that covers each step."""
    curves: dict[str, dict[float, float]] = {}
    for e in events:
        if e["type"] == "start":  # a resume drops what came after its starting point
            for name, points in curves.items():
                limit = e["epoch"] if name.startswith("metric:") else e["step"]
                curves[name] = {x: y for x, y in points.items() if x <= limit}
        if e["type"] == "progress":
            for name, key in (("loss", "loss"), ("lr", "lr"), ("throughput", "samples_per_s")):
                curves.setdefault(name, {})[e["step"]] = e[key]
        if e["type"] == "metric" and e["split"] == "val":
            for name, value in e["metrics"].items():
                curves.setdefault(f"metric:{name}", {})[e["epoch"] + 1] = value
    nan = float("nan")
    return {name: ([float(x) for x in points], [nan if y is None else float(y) for y in points.values()])
            for name, points in curves.items()}


def wait_state(qtbot, manager, job_id: str, states, timeout: int = 60_000) -> None:
    states = (states,) if isinstance(states, str) else tuple(states)
    qtbot.waitUntil(lambda: manager.job(job_id).record.state in states, timeout=timeout)
