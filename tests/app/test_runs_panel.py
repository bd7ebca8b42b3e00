"""The training panel's runs: its queue is the file 'hpe queue' shares (a queue of four with one
failing survives the GUI killed mid-queue, and a job added on the command line joins it), a
sweep's trials, parallel coordinates and metric-vs-parameter plots, and runs compared."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runs_helpers import ROOT, hpe, make_tiny_dataset, tiny_raw, write_tiny_config
from training_helpers import make_manager, training_panel  # noqa: F401 - fixtures

GUI = """
import json, sys
from PySide6.QtCore import QCoreApplication
from app.workers.training_jobs import TrainingJobsManager
app = QCoreApplication([])
manager = TrainingJobsManager(sys.argv[1], runs_dir=sys.argv[2], env={"OMP_NUM_THREADS": "1"}, poll_ms=50)
for raw in json.loads(sys.argv[3]):
    manager.submit(raw)
app.exec()
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("runs") / "tiny")


def _records(folder: Path) -> dict:
    from hpe_core.training.runs.queue import QueueFile

    path = folder / "history.json"
    return {r.name: r for r in QueueFile(path).read()} if path.is_file() else {}


def test_a_killed_gui_continues_its_queue_and_takes_jobs_added_by_the_cli(qtbot, make_manager, dataset, tmp_path):
    jobs, runs = tmp_path / "jobs", tmp_path / "runs"
    raws = [tiny_raw(dataset, Path(f"run{i}"), *(["data.path=/no/such/dataset"] if i == 2 else [])) for i in range(4)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    gui = subprocess.Popen([sys.executable, "-c", GUI, str(jobs), str(runs), json.dumps(raws)], env=env)
    deadline = time.monotonic() + 120
    while not (getattr(_records(jobs).get("run0"), "state", "") == "done"
               and any(r.state == "running" for r in _records(jobs).values())):
        assert time.monotonic() < deadline and gui.poll() is None, {n: r.state for n, r in _records(jobs).items()}
        time.sleep(0.1)
    gui.send_signal(signal.SIGKILL)  # the window killed mid-queue: no chance to save anything more
    gui.wait(10)
    manager = make_manager(jobs)  # the window started again
    extra = write_tiny_config(tmp_path / "extra.json", dataset, Path("extra"))
    added = hpe("queue", "--data-dir", str(tmp_path), "add", str(extra))  # the command line, same file
    assert added.returncode == 0, added.stderr
    qtbot.waitUntil(lambda: "extra" in {j.record.name for j in manager.jobs()}, timeout=10_000)
    qtbot.waitUntil(lambda: not any(j.record.active for j in manager.jobs()), timeout=60_000)
    states = {j.record.name: j.record.state for j in manager.jobs()}
    assert states == {"run0": "done", "run1": "done", "run2": "failed", "run3": "done", "extra": "done"}
    assert "no such dataset" in manager.job(_records(jobs)["run2"].id).record.message
    for record in _records(jobs).values():  # every run trained once: the running one was followed, not restarted
        starts = Path(record.events_path).read_text().count('"type": "start"')
        assert starts == (0 if record.name == "run2" else 1) and record.runs == 1, record.name


@pytest.fixture(scope="module")
def sweep_folder(dataset, tmp_path_factory) -> Path:
    from hpe_core.training.runs.sweep import SweepSpec, run_sweep
    from hpe_core.training.runs.sweep_space import parse_param

    folder = tmp_path_factory.mktemp("sweep") / "lr-seed"
    spec = SweepSpec(config=tiny_raw(dataset, folder / "unused"), sampler="random", seed=3, metric="val/pa_mpjpe",
                     params=(parse_param("optim.lr=log:0.001..0.1"), parse_param("train.seed=0,1")), trials=4)
    run_sweep(spec, folder)
    return folder


def test_sweep_tab_table_plots_and_a_trial_opened(qtbot, make_manager, sweep_folder):
    from hpe_core.training.runs.sweep import status

    doc = status(sweep_folder)
    with training_panel(qtbot, make_manager()) as panel:
        view = panel.jobs_view
        view.tabs.setCurrentWidget(view.sweep)
        assert view.sweep.load(sweep_folder)
        table = view.sweep.table
        assert table.rowCount() == 4 and table.columnCount() == 5
        shown = [float(table.item(r, 2).text()) for r in range(4)]
        assert shown == sorted(t["value"] for t in doc["trials"])  # sorted best first (minimize)
        assert f"best: trial {doc['best']['number']}" in view.sweep.best.text()
        lines = [i for i in view.sweep.parallel.listDataItems()]
        assert len(lines) == 4 and len(view.sweep.coordinates["axes"]) == 3
        assert [len(p.listDataItems()) for p in view.sweep.scatters] == [1, 1]
        table.sortItems(0)
        table.cellDoubleClicked.emit(1, 0)  # trial 1's run, followed in the jobs list, its curves shown
        followed = view.manager.job(view.selected_id())
        assert followed.record.events_path == str((Path(doc["trials"][1]["run"]) / "events.jsonl").resolve())
        assert view.tabs.currentWidget() is view.curves
        qtbot.waitUntil(lambda: followed.record.state == "done", timeout=10_000)


def test_compare_overlays_curves_and_highlights_differing_keys(qtbot, make_manager, sweep_folder):
    from hpe_core.training.runs.sweep import status

    runs = [Path(t["run"]) / "events.jsonl" for t in status(sweep_folder)["trials"][:3]]
    with training_panel(qtbot, make_manager()) as panel:
        view = panel.jobs_view
        for path in runs:
            view.follow_run(str(path))
        qtbot.waitUntil(lambda: all(j.record.state == "done" for j in view.manager.jobs()), timeout=10_000)
        view.tabs.setCurrentWidget(view.compare)
        view.jobs.selectAll()
        compare = view.compare
        assert len(compare.runs) == 3
        assert len(compare.loss_plot.listDataItems()) == 3 and len(compare.metric_plot.listDataItems()) == 3
        assert compare.metric.currentText() == "mpjpe"  # the metric the lift task monitors
        assert {"optim.lr", "train.seed"} >= set(compare.differing_rows) and "optim.lr" in compare.differing_rows
        labels = [compare.table.verticalHeaderItem(r).text() for r in range(compare.table.rowCount())]
        assert "final test.pa_mpjpe" in labels and "task" not in labels  # equal keys hidden
        compare.only_differing.setChecked(False)
        labels = [compare.table.verticalHeaderItem(r).text() for r in range(compare.table.rowCount())]
        assert "task" in labels
        view.jobs.clearSelection()
        view.select_job(view.manager.jobs()[0].id)
        assert "Select two or more" in compare.hint.text()
