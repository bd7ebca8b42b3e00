"""Analysis ▸ Report…: the dialog builds the ``hpe report`` spec of the open models, the report
runs as a background job with its progress in the jobs bar, is written for real (the numbers of
``hpe evaluate --pred``), opened and said where; cancelling it writes no report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.export.menu import start_report
from app.export.report_dialog import ReportDialog
from app.model import messages as msg
from app.views.jobs_view import JobsView
from app.workspace import Workspace
from hpe_core.predictions import Prediction

DEMO_CKPT = Path(__file__).resolve().parents[2] / "resources" / "demo" / "simclr_regress2.pt"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("gui_report")
    ds_path = Path(synthesize(SynthSpec(root / "ds", poses=6, cameras=2, size=32, seed=5, subjects=2), NullProgress()))
    ds = open_dataset(ds_path)
    poses = ds.joints_3d + np.random.default_rng(1).normal(scale=30.0, size=ds.joints_3d.shape)
    Prediction(joints_3d=poses.astype(np.float32), frame="camera").save(root / "ours.npz")
    return root, ds_path, root / "ours.npz", ds


@pytest.fixture
def ws(qtbot, files):
    root, ds_path, ours, _ = files
    ws = Workspace()
    ws.seen = []
    ws.message.connect(lambda level, text: ws.seen.append((level, text)))
    ws.open_paths([str(ds_path), str(ours), str(DEMO_CKPT)])
    qtbot.waitUntil(lambda: len(ws.catalog.checkpoints) == 2 and ws.catalog.dataset is not None
                    and not ws.tasks.tasks, timeout=60_000)
    yield ws
    ws.close()


def dialog_spec(qtbot, ws, out: Path, analysis: bool = False):
    dialog = ReportDialog(ws)
    qtbot.addWidget(dialog)
    assert {Path(dialog.models.item(i).data(256)).name for i in range(dialog.models.count())} == {
        "ours.npz", DEMO_CKPT.name}
    dialog.split.setCurrentIndex(dialog.split.findData("all"))
    dialog.max_samples.setValue(0)
    dialog.analysis.setChecked(analysis)
    dialog.out.setText(str(out))
    return dialog.spec()


def test_report_runs_in_the_jobs_bar_is_written_and_opened(qtbot, ws, files, capsys):
    from hpe_core.cli import main

    root, ds_path, ours, ds = files
    spec = dialog_spec(qtbot, ws, root / "out")
    assert spec.split == "all" and spec.max_samples is None and spec.protocol == "standard" and spec.units is None
    assert spec.command[:3] == ("hpe", "report", str(ds_path.resolve()))
    jobs = JobsView(ws.tasks)
    qtbot.addWidget(jobs)
    opened, fractions, bar_seen = [], [], []
    task = start_report(ws, spec, opener=opened.append)
    task.progress_changed.connect(fractions.append)
    qtbot.waitUntil(lambda: jobs.bar.value() > 0 or task.state != "running", timeout=120_000)
    bar_seen.append((jobs.label.text(), jobs.bar.value()))
    with qtbot.waitSignal(task.finished, timeout=300_000):
        pass
    assert task.state == "done", ws.seen
    html = root / "out" / "report.html"
    assert opened == [html] and html.is_file() and (root / "out" / "report.pdf").is_file()
    assert ws.seen[-1][0] == "info" and str(html) in ws.seen[-1][1]
    verdict = "Best by the error measure (as the GUI reads each model): ours, MPJPE"  # the truth + 30 mm noise
    assert ws.seen[-1][1].startswith(msg.REPORT_DONE.format(models="ours, simclr_regress2", samples=len(ds), path=html,
                                                            verdict=verdict))
    label, value = bar_seen[0]
    assert value > 0 and label  # the jobs bar showed the job and how far it was
    assert any(0 < f < 1 for f in fractions) and fractions[-1] == pytest.approx(1.0)
    # the numbers are hpe evaluate --pred's
    assert main(["evaluate", "--pred", str(ours), str(ds_path), "--split", "all", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    scores = json.loads((root / "out" / "metrics.json").read_text())
    assert scores["ours"]["overall"]["metrics"]["mpjpe"] == pytest.approx(cli["metrics"]["mpjpe"], rel=1e-12)
    assert json.loads((root / "out" / "provenance.json").read_text())["command"] == list(spec.command)


def test_cancel_stops_the_report_and_writes_nothing(qtbot, ws, files):
    root = files[0]
    spec = dialog_spec(qtbot, ws, root / "cancelled", analysis=True)
    task = start_report(ws, spec, opener=lambda path: pytest.fail(f"opened {path}"))
    task.progress_changed.connect(lambda f: f > 0 and task.cancel())
    with qtbot.waitSignal(task.finished, timeout=300_000):
        pass
    assert task.state == "cancelled"
    assert ws.seen[-1] == ("info", msg.REPORT_CANCELLED.format(path=spec.out))
    assert not (root / "cancelled" / "report.html").exists() and not (root / "cancelled" / "provenance.json").exists()


def test_the_report_action_asks_runs_and_opens(qtbot, window, files, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    import app.export.menu as menu

    root, ds_path, ours, _ = files
    opened = []
    monkeypatch.setattr(menu, "open_in_browser", opened.append)  # no desktop browser under test
    act = window.actions_["export_report"]
    assert act.text() == "&Report…" and act.shortcut().toString() == "Ctrl+Shift+R"
    act.trigger()  # nothing open yet: said, no dialog
    assert window.message_bar.history[-1] == ("info", msg.NEED_REPORT_INPUT)
    ws = window.workspace
    ws.open_paths([str(ds_path), str(ours)])
    qtbot.waitUntil(lambda: bool(ws.catalog.checkpoints) and ws.catalog.dataset is not None and not ws.tasks.tasks,
                    timeout=60_000)

    def fill_and_accept():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, ReportDialog), dialog
        dialog.split.setCurrentIndex(dialog.split.findData("all"))
        dialog.out.setText(str(root / "from_menu"))
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    QTimer.singleShot(300, fill_and_accept)
    act.trigger()
    qtbot.waitUntil(lambda: window.jobs_view.bar.value() > 0 or bool(opened), timeout=120_000)
    qtbot.waitUntil(lambda: bool(opened), timeout=300_000)
    html = root / "from_menu" / "report.html"
    assert opened == [html] and html.is_file()
    assert window.message_bar.history[-1][0] == "info" and str(html) in window.message_bar.history[-1][1]


def test_the_dialogs_protocol_is_the_one_the_browsers_error_column_follows(qtbot, ws, tmp_path):
    from hpe_core.protocols import PROTOCOLS

    ws.options.protocol = "3dpw"
    dialog = ReportDialog(ws)
    qtbot.addWidget(dialog)
    assert [dialog.protocol.itemData(i) for i in range(dialog.protocol.count())] == list(PROTOCOLS)
    assert dialog.protocol.currentData() == "3dpw"
    dialog.protocol.setCurrentIndex(dialog.protocol.findData("h36m-p2"))
    dialog.out.setText(str(tmp_path / "r"))
    dialog._on_accepted()
    assert dialog.spec().protocol == "h36m-p2" and ws.options.protocol == "h36m-p2" and ws.cache.protocol == "h36m-p2"
    store = ws.predictions()  # the demo set is panoptic19, which h36m-p2 does not score: its own measure
    assert store is None or store.ranking_label in ("MPJPE", "PA-MPJPE")
