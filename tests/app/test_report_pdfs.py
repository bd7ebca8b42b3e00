"""Issue 29 items 1 and 9 in the GUI: Analysis ▸ Report… on the demo names SimCLR best by the error
measure Compare shows (and with Compare's numbers), and the Views Report PDF is typeset: tables
as table rows (the better bold), each figure on a page of its own with its caption, fonts embedded."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from analysis_helpers import afiles, open_files, shown, wait_done  # noqa: F401
from app.export import write_report
from app.export.menu import start_report
from app.export.report_dialog import ReportDialog
from app.views.compare_view import CompareView
from app.views.kernel_view import KernelView
from app.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from pdf_checks import (captions, fonts, images_per_page, needs_poppler, orphan_captions, page_texts,  # noqa: E402
                        rasterise, row_runs, words)

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"
SIMCLR, SIMSIAM = DEMO / "simclr_regress2.pt", DEMO / "simsiam_regress2.pt"
N = 60  # demo test samples: PA-MPJPE about 100 vs 140 mm, far apart
REL = 1e-5  # Compare predicts in batches of 64, the report in 32: float32 sums may differ in the last bits


@pytest.fixture
def workspace(qtbot):
    ws = Workspace()
    ws.seen = []
    ws.message.connect(lambda level, text: ws.seen.append((level, text)))
    views = [KernelView(ws), CompareView(ws)]
    for view in views:
        view.resize(1100, 700)
        shown(view, qtbot)
    yield ws, views
    for view in views:
        view.shutdown()
    ws.close()


def test_analysis_report_on_the_demo_names_simclr_best_with_compares_numbers(qtbot, workspace, demo_cache,
                                                                             tmp_path, monkeypatch):
    from hpe_core.datasets.demo import demo_dataset_path

    monkeypatch.setenv("HPE_STUDIO_CACHE", str(demo_cache))
    ws, (_, compare) = workspace
    ws.open_paths([str(demo_dataset_path()), str(SIMCLR), str(SIMSIAM)])
    qtbot.waitUntil(lambda: len(ws.catalog.checkpoints) == 2 and ws.catalog.dataset is not None, timeout=60_000)
    ws.tasks.cancel_all()  # the browser's predictions of all 10,000 samples are not under test here
    qtbot.waitUntil(lambda: not ws.tasks.tasks, timeout=60_000)
    dialog = ReportDialog(ws)
    qtbot.addWidget(dialog)
    dialog.max_samples.setValue(N)
    dialog.analysis.setChecked(False)
    dialog.out.setText(str(tmp_path / "report"))
    opened = []
    task = start_report(ws, dialog.spec(), opener=opened.append)
    with qtbot.waitSignal(task.finished, timeout=300_000):
        pass
    assert task.state == "done", ws.seen
    with open(tmp_path / "report" / "tables" / "overall.csv", newline="") as fh:
        table = {r[0]: [float(v) for v in r[1:]]  # ("#" lines: the protocol's manifest)
                 for r in list(csv.reader(line for line in fh if not line.startswith("#")))[1:]}
    simclr, simsiam = table["PA-MPJPE (mm)"]
    assert simclr < simsiam and ws.seen[-1][0] == "info"
    assert ws.seen[-1][1].endswith(f"Best by the error measure (as the GUI reads each model): simclr_regress2, "
                                   f"PA-MPJPE {simclr:.1f} mm.")
    overall = (tmp_path / "report" / "tables" / "overall.md").read_text().splitlines()
    assert overall[4] == f"| PA-MPJPE (mm) | **{simclr:.1f}** | {simsiam:.1f} |"
    compare_on_the_same_samples(qtbot, ws, compare, table)


def compare_on_the_same_samples(qtbot, ws, compare, table: dict) -> None:
    """Compare of SimCLR (A) and SimSiam (B) on the report's samples: the same error measure, the
    same numbers (``table``: the report's overall.csv), the same verdict."""
    for picker, path in ((compare.checkpoint_a, SIMCLR), (compare.checkpoint_b, SIMSIAM)):
        picker.select_key(next(k for k, c in ws.catalog.checkpoints.items() if c.path == path))
    compare.split.setCurrentIndex(compare.split.findData("test"))
    compare.samples.setValue(N)
    compare.run()
    wait_done(qtbot, compare.runner, timeout=300_000)
    rows = {row[0]: row[1:] for row in compare.metrics.rows}
    assert rows["error measure (per checkpoint)"][:2] == ["PA-MPJPE", "PA-MPJPE"]
    labels = [row[0] for row in compare.metrics.rows]
    assert labels[2] == "PA-MPJPE (mm)"  # Compare lists the measure first too
    for row in ("PA-MPJPE (mm)", "MPJPE (mm)"):
        assert rows[row][:2] == [pytest.approx(v, rel=REL) for v in table[row]], row
    bold, muted = compare.report_tables()[0].bold, compare.report_tables()[0].muted
    pa, raw = labels.index("PA-MPJPE (mm)"), labels.index("MPJPE (mm)")
    assert bold == {(pa, 1)} and {(raw, 1), (raw, 2)} <= muted  # SimCLR's PA-MPJPE bold; raw MPJPE grey


@needs_poppler
def test_views_report_pdf_has_table_rows_and_each_figure_beside_its_caption(qtbot, workspace, afiles,  # noqa: F811
                                                                           tmp_path):
    ws, (kernels, compare) = workspace
    open_files(qtbot, ws, afiles.dataset, afiles.simclr_regress, afiles.simsiam_regress)
    kernels.refresh()
    compare.checkpoint_b.setCurrentIndex(1 - compare.checkpoint_a.currentIndex())
    compare.split.setCurrentIndex(compare.split.findData("all"))
    compare.run()
    for view in (kernels, compare):
        wait_done(qtbot, view.runner)
    qtbot.waitUntil(lambda: kernels.maps is not None and compare.pose_index >= 0
                    and not compare.pose_runner.running(), timeout=30_000)
    sections = [v.report_section() for v in (kernels, compare)]
    _, pdf = write_report(tmp_path / "views.html", sections, width=900)
    figures = [f for s in sections for f in s.figures]
    assert fonts(pdf) and all(embedded for _, embedded in fonts(pdf))
    pages, images = page_texts(pdf), images_per_page(pdf)
    shown_figures = [(k, title, p) for p, text in enumerate(pages) for kind, k, title in captions(text)
                     if kind == "Figure"]
    assert [k for k, _, _ in shown_figures] == list(range(1, len(figures) + 1))
    for (_, caption, page), figure in zip(shown_figures, figures):
        assert figure.title.startswith(caption) and len(caption) >= min(20, len(figure.title)), (caption, figure.title)
        assert images.get(page + 1) == 1, (figure.title, page)  # the figure's own image, on its caption's page
    assert set(images) == {p + 1 for _, _, p in shown_figures}  # no image away from its caption
    assert orphan_captions(pages) == []  # nor a table's caption away from its table
    metrics = compare.report_tables()[0]
    label = next(r for r in metrics.rows if r[0] == "MPJPE (mm)")
    runs = row_runs(words(pdf), "MPJPE (mm)")[1:]
    assert [w["text"] for w in runs] == [f"{v:.4f}" for v in label[1:]]
    assert [w["bold"] for w in runs] == [label[1] <= label[2], label[2] < label[1], False]  # the better bold
    for image in rasterise(pdf, tmp_path / "pages"):
        assert image.std() > 1.0  # no blank page
