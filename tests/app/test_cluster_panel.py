"""The training panel and the cluster: *Export for cluster…* writes the job folder ``hpe train
--export-script`` writes; a job followed from its events file is "remote", keeps its curves across
a requeue on the time limit, and when done its checkpoints are pulled into the workspace.

The remote job's events come from real training runs (in this process): stopped by SIGUSR1's
stop request at a step, then resumed from its ``last.pt``, as a requeued Slurm job does.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml
from training_helpers import make_manager, tiny_config, tiny_dataset, training_panel  # noqa: F401

from app.views.cluster_export import EXPORTED
from app.workers import remote_jobs
from app.workers.training_job import REQUEUED
from app.workspace import path_key
from hpe_core.training.cluster import ClusterOptions, export_job
from hpe_core.training.config import config_from_dict


@pytest.fixture
def panel(qtbot, make_manager):  # noqa: F811
    with training_panel(qtbot, make_manager(poll_ms=20)) as view:
        qtbot.waitExposed(view)
        yield view


def test_export_for_cluster_writes_the_clis_job_folder(qtbot, panel, tmp_path):
    from hpe_core.commands.train import presets_dir

    assert panel.load_config_file(presets_dir() / "simclr_cpu.yaml")
    panel.form.revalidate()
    assert panel.export_cluster.isEnabled()
    dialog = panel.export_dialog()
    dialog.folder.setText(str(tmp_path / "gui"))
    dialog.nodes.setValue(2)
    dialog.gpus.setValue(4)
    dialog.partition.setText("gpu")
    dialog.time.setText("soon")
    assert dialog.write() is None and "--time 'soon'" in dialog.error.text()  # shown; the dialog stays
    assert not (tmp_path / "gui" / "job.sbatch").exists()
    dialog.time.setText("12:00:00")
    job = dialog.write()
    assert job is not None and dialog.result() == dialog.DialogCode.Accepted
    panel.exported(job)
    assert panel.messages[-1] == ("info", EXPORTED.format(folder=job.folder, submit=job.submit, follow=job.follow))
    cli = export_job(config_from_dict(panel.form.raw()), tmp_path / "cli",
                     ClusterOptions(nodes=2, gpus_per_node=4, partition="gpu", time="12:00:00"))
    for name in ("config.yaml", "job.sbatch", "README.md"):
        ours = (tmp_path / "gui" / name).read_text().replace(str(tmp_path / "gui"), "DIR")
        assert ours == (tmp_path / "cli" / name).read_text().replace(str(tmp_path / "cli"), "DIR"), name
    assert yaml.safe_load((tmp_path / "gui" / "config.yaml").read_text())["data"]["path"] == "demo"


class _StopAt:
    """A progress sink that asks the run to stop, as SIGUSR1 does, once ``step`` steps are done."""

    def __init__(self, flag, fraction: float) -> None:
        self.flag, self.fraction = flag, fraction

    def set_progress(self, fraction: float) -> None:
        if fraction >= self.fraction:
            self.flag.request("SIGUSR1")

    def set_status(self, _text) -> None:
        pass

    def partial(self, _item) -> None:
        pass

    def cancelled(self) -> bool:
        return False


@pytest.fixture
def remote_job(tiny_dataset, tmp_path):  # noqa: F811
    """A job folder as a cluster leaves it (interrupted by SIGUSR1, requeued, finished), synced to
    ``local/``; the cluster's copy is gone, so the paths in its events exist nowhere here."""
    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training
    from hpe_core.training.state import StopFlag

    cluster = tmp_path / "cluster" / "job"
    (cluster / "checkpoints").mkdir(parents=True)
    raw = tiny_config(tiny_dataset, epochs=3)
    raw["train"]["output"] = str(cluster / "checkpoints")
    config = config_from_dict(raw)
    flag = StopFlag()
    with EventWriter(cluster / "events.jsonl") as events:
        first = run_training(config, _StopAt(flag, 0.4), events, stop=flag)
    assert first.reason == "interrupted" and first.step < first.total_steps
    with EventWriter(cluster / "events.jsonl") as events:
        assert run_training(config, None, events, resume=first.last_checkpoint).reason == "finished"
    local = tmp_path / "local" / "job"
    shutil.copytree(cluster, local)
    shutil.rmtree(cluster)
    return local


def test_a_followed_cluster_job_is_remote_survives_its_requeue_and_its_checkpoints_are_pulled(
        qtbot, panel, remote_job):
    lines = (remote_job / "events.jsonl").read_bytes().splitlines(keepends=True)
    requeue = next(i for i, line in enumerate(lines) if b'"SIGUSR1"' in line)
    events = remote_job / "events.jsonl"
    events.write_bytes(b"".join(lines[:requeue + 1]))  # the sync has reached the requeue
    manager, jobs_view = panel.manager, panel.jobs_view
    job = manager.follow(events, name="cluster-simclr")
    jobs_view.select_job(job.id)
    assert job.record.state == "running" and job.record.message == REQUEUED.format(step=job.state.step)
    item = jobs_view._item(job.id)
    qtbot.waitUntil(lambda: item.text(5) == job.record.message, timeout=5000)  # rows redraw on a throttle
    assert item.text(0) == "cluster-simclr (remote)" and item.text(2) == "running · remote"
    stopped_at = job.state.step
    qtbot.waitUntil(lambda: len(jobs_view.curves.curve_data("loss")[0]) == stopped_at, timeout=10_000)
    assert jobs_view.cancel.text() == "Stop following" and not jobs_view.pull.isEnabled()

    with qtbot.waitSignal(manager.job_finished, timeout=30_000) as finished:
        with open(events, "ab") as fh:  # the requeued run's events arrive
            fh.write(b"".join(lines[requeue + 1:]))
    assert finished.args == [job.id, "done"] and job.state.step == job.state.total_steps > stopped_at
    assert ("info", remote_jobs.FINISHED_REMOTELY.format(name="cluster-simclr")) in panel.messages
    x, _y = jobs_view.curves.curve_data("loss")
    qtbot.waitUntil(lambda: len(jobs_view.curves.curve_data("loss")[0]) == job.state.step, timeout=10_000)
    x, _y = jobs_view.curves.curve_data("loss")
    assert np.all(np.diff(x) > 0)  # one curve over both runs
    qtbot.waitUntil(jobs_view.pull.isEnabled, timeout=5000)

    ws = panel.workspace
    jobs_view.pull.click()
    pulled = sorted((manager.runs_dir).glob("cluster-simclr-*/*.pt"))
    assert [p.name for p in pulled] == ["best.pt", "last.pt"]
    for path in pulled:
        assert path.read_bytes() == (remote_job / "checkpoints" / path.name).read_bytes()
        qtbot.waitUntil(lambda p=path: path_key(p) in ws.catalog.checkpoints, timeout=60_000)
    assert job.record.checkpoint == str(pulled[0]) and jobs_view.open_checkpoint.isEnabled()
    assert panel.messages[-1][0] == "info" and "Pulled 2 checkpoint(s)" in panel.messages[-1][1]


def test_pulling_before_the_folder_is_synced_says_what_to_do(qtbot, panel, remote_job):
    shutil.rmtree(remote_job / "checkpoints")
    job = panel.manager.follow(remote_job / "events.jsonl", name="unsynced")
    assert job.record.state == "done"
    panel.jobs_view.select_job(job.id)
    assert not panel.jobs_view.pull.isEnabled()
    panel.jobs_view._act(lambda job_id: remote_jobs.pull(panel.manager, job_id))
    level, text = panel.messages[-1]
    assert level == "error" and "unsynced: none of its checkpoints (last.pt, best.pt)" in text
