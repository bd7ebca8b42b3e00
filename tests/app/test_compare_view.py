"""Side-by-side comparison on real checkpoints: the numbers of ``hpe compare``, linked columns,
both models' predictions of the selected sample in one 3D view, bad input as a message."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from analysis_helpers import (afiles, blank, grab_array, open_files, run_cli,  # noqa: F401
                              view_of_new_workspace, wait_done)
from app.model import messages as msg
from app.views.compare_view import CompareView
from hpe_core.analysis.health import MEASURES
from helpers import make_checkpoint

ROTATION = {"task": "regress3d", "config": {"task": "regress3d", "regression": {"loss": "rotation_mse"}}}


@pytest.fixture
def compare(qtbot, afiles):  # noqa: F811
    with view_of_new_workspace(qtbot, CompareView, (1300, 800)) as pair:
        yield pair


def run_compare(qtbot, ws, view, a, b, dataset, layer="encoder", clusters=4) -> None:
    open_files(qtbot, ws, dataset, a, b)
    view.checkpoint_a.select_key(next(k for k, c in ws.catalog.checkpoints.items() if c.path == a))
    view.checkpoint_b.select_key(next(k for k, c in ws.catalog.checkpoints.items() if c.path == b))
    view.split.setCurrentIndex(view.split.findData("all"))
    view.samples.setValue(0)
    view.clusters.setValue(clusters)
    view.layer.setCurrentIndex(view.layer.findData(layer))
    view.run()
    wait_done(qtbot, view.runner)


@pytest.fixture
def compared(qtbot, compare, afiles):  # noqa: F811
    ws, view = compare
    run_compare(qtbot, ws, view, afiles.simclr_regress, afiles.simsiam_regress, afiles.dataset)
    assert view.bundle is not None, view.strip.message.text()
    return ws, view


def test_metrics_cka_and_columns_are_what_hpe_compare_prints(qtbot, compared, afiles, capsys):  # noqa: F811
    ws, view = compared
    b = view.bundle
    cli = run_cli(shlex.split(b.request.command())[1:], capsys)
    np.testing.assert_allclose(b.compare.cka, np.asarray(cli["cka"]), atol=1e-6)
    np.testing.assert_allclose(view.cka.matrix, np.asarray(cli["cka"]), atol=1e-6)
    rows = {row[0]: row[1:] for row in view.metrics.rows}
    for key, col in (("a", 0), ("b", 1)):
        assert rows["MPJPE (mm)"][col] == pytest.approx(cli["metrics"][key]["mpjpe"], rel=1e-9)
        assert rows["PA-MPJPE (mm)"][col] == pytest.approx(cli["metrics"][key]["pa_mpjpe"], rel=1e-9)
        assert rows["mean distance (mm)"][col] == pytest.approx(cli["metrics"][key]["mean_distance"], rel=1e-9)
        for layer, score in cli["silhouette"][key].items():
            assert rows[f"silhouette · {layer}"][col] == pytest.approx(score, abs=1e-9)
        for layer, r in cli["retrieval"][key].items():
            assert rows[f"retrieval top-1 · {layer}"][col] == pytest.approx(r["top1"])
            assert rows[f"retrieval top-5 · {layer}"][col] == pytest.approx(r["top5"])
    for measure, title in MEASURES.items():  # the health rows: A, B and A - B as hpe compare computed them
        got = rows[f"{title} · encoder"]
        want = [cli["health"][k]["encoder"][measure] for k in ("a", "b", "a_minus_b")]
        assert got == [pytest.approx(w) if w is not None else None for w in want]
    texts = [view.metrics.item(r, 1).text() for r in range(view.metrics.rowCount())]
    assert f"{cli['metrics']['a']['mpjpe']:.1f}" in texts
    verdict = cli["verdict"]  # the summary's verdict is hpe compare's
    assert verdict["measure"] == "MPJPE" and verdict["a"] == pytest.approx(cli["metrics"]["a"]["mpjpe"], rel=1e-9)
    assert f"{verdict['difference']:+.1f}" in " ".join(w.text() for w in view.summary.labels())
    # both columns: same samples, same method; each column's silhouette is hpe embed's
    ia, ib = (np.asarray(b.embeds[k].indices) for k in ("a", "b"))
    np.testing.assert_array_equal(ia, ib)
    assert len(view.plots["a"].xy) == len(view.plots["b"].xy) == b.compare.samples == len(ws.catalog.dataset)
    emb = run_cli(shlex.split(b.request.embed_request(b.request.checkpoint_b).command())[1:]
                  + ["--out", str(afiles.root / "b.npz")], capsys)
    assert emb["silhouette"]["clusters"] == pytest.approx(b.embeds["b"].silhouette["clusters"], abs=1e-9)
    for w in (view.plots["a"], view.plots["b"], view.cka, view.conv1):
        assert not blank(grab_array(w))


def test_hover_is_linked_and_selection_is_shared(qtbot, compared):
    ws, view = compared
    a, b = view.plots["a"], view.plots["b"]
    row = int(np.argmax(a.xy[:, 1]))
    target = a.viewbox.mapViewToDevice(QPointF(*a.xy[row]))
    QApplication.sendEvent(a.viewport(), QMouseEvent(QEvent.Type.MouseMove, target, a.viewport().mapToGlobal(target),
                                                     Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                     Qt.KeyboardModifier.NoModifier))
    index = int(a.indices[row])
    qtbot.waitUntil(lambda: a.hover_index == index, timeout=3000)
    assert b.hover_index == index  # ringed in the other column
    ring = b.hover_item.data
    assert len(ring) == 1 and (ring[0]["x"], ring[0]["y"]) == pytest.approx(tuple(b.xy[b.rows_of([index])[0]]))
    lo, hi = b.xy.min(axis=0), b.xy.max(axis=0)
    chosen = b.select_shape("rect", np.array([lo, (lo + hi) / 2]))
    assert len(chosen) and ws.browse.rows.tolist() == chosen.tolist()
    np.testing.assert_array_equal(a.selected, chosen)


def test_selected_sample_shows_both_predictions_in_one_3d_view(qtbot, compared, afiles):  # noqa: F811
    from hpe_core.inference import Predictor, collect, predict

    ws, view = compared
    ws.select(10)
    qtbot.waitUntil(lambda: view.pose_index == 10 and not view.pose_runner.running(), timeout=30_000)
    sk = view.poses.skeletons
    assert all(len(sk[k].joints) == ws.catalog.dataset.skeleton.num_joints for k in ("gt", "a", "b"))
    gt = np.asarray(ws.catalog.dataset.joints_3d[10], np.float64)
    gt = gt - gt[ws.catalog.dataset.skeleton.root]
    predictor = Predictor(afiles.simclr_regress, "cpu")
    expected_a = collect(predict(predictor, ws.catalog.dataset, [10]), predictor).joints_3d[0]
    # drawn in the display frame, all three shifted by the same amount: differences are preserved
    np.testing.assert_allclose(np.linalg.norm(sk["a"].joints - sk["gt"].joints, axis=1),
                               np.linalg.norm(expected_a - gt, axis=1), rtol=1e-4, atol=1e-2)
    assert not np.allclose(sk["a"].joints, sk["b"].joints)
    assert "simclr_regress2.pt" in view.poses.legend.text() and "simsiam_regress2.pt" in view.poses.legend.text()
    assert not blank(view.poses.render()[..., :3])
    figure = next(f for f in view.figures() if f.name == "predictions_3d")  # the export says how it is aligned
    assert figure.provenance["alignment"] == "none" and "(unaligned)" in figure.title


def _pose_pair(ws, view, a, b):
    from app.workspace import path_key

    view.checkpoint_a.select_key(path_key(a))
    view.checkpoint_b.select_key(path_key(b))


def _drawn(qtbot, view, index):
    qtbot.waitUntil(lambda: view.pose_index == index and not view.pose_runner.running()
                    and view.poses.skeletons["a"].joints.size > 0 and view.poses.skeletons["b"].joints.size > 0,
                    timeout=30_000)


def test_rotation_aligned_heads_are_drawn_aligned_with_the_3d_views_control(qtbot, compare, files, tmp_path):
    """Two heads trained with the rotation-aligned loss: drawn rigidly aligned to the ground truth
    (as the 3D view draws them), by the 3D view's control; Unaligned draws them as predicted; the
    exported figure is what is drawn (issue 29, item 4)."""
    from app.model.sample_data import place_prediction
    from app.views.scene_view import ALIGN_LABELS

    ws, view = compare
    a = make_checkpoint(tmp_path / "a.pt", training=ROTATION)
    b = make_checkpoint(tmp_path / "b.pt", width=4, training=ROTATION)
    open_files(qtbot, ws, files.dataset, a, b)
    _pose_pair(ws, view, a, b)
    combo = view.poses.align
    assert [combo.itemText(i) for i in range(combo.count())] == list(ALIGN_LABELS.values())
    assert combo.currentData() == "rigid" and combo.isVisibleTo(view)
    ws.select(5)
    _drawn(qtbot, view, 5)
    ds = ws.catalog.dataset
    gt = np.asarray(ds.joints_3d[5], np.float64)
    gt = gt - gt[ds.skeleton.root]
    sk = view.poses.skeletons

    def drawn_errors(key):  # drawn in the display frame, all shifted alike: distances are kept
        return np.linalg.norm(sk[key].joints - sk["gt"].joints, axis=1)

    sse = {}
    for mode in ("rigid", "none"):
        combo.setCurrentIndex(combo.findData(mode))
        combo.activated.emit(combo.currentIndex())
        for key in ("a", "b"):
            want = place_prediction(view.pose_preds[key], gt, ds.skeleton.root, mode)
            np.testing.assert_allclose(drawn_errors(key), np.linalg.norm(want - gt, axis=1), rtol=1e-4, atol=1e-2)
            sse[mode, key] = float((drawn_errors(key) ** 2).sum())
    for key in ("a", "b"):  # the rigid fit minimises the squared error over R, t: below the unaligned pose's
        assert sse["rigid", key] < sse["none", key]
    combo.setCurrentIndex(combo.findData("rigid"))
    combo.activated.emit(combo.currentIndex())
    assert not blank(_painted_figure(view.poses))  # the figure is painted from the aligned skeletons drawn
    np.testing.assert_allclose(drawn_errors("a"), np.linalg.norm(
        place_prediction(view.pose_preds["a"], gt, ds.skeleton.root, "rigid") - gt, axis=1), rtol=1e-4, atol=1e-2)


def _painted_figure(poses, width: int = 400, height: int = 300) -> np.ndarray:
    """(H, W, 3) uint8 of the 3D poses painted as an exported figure."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    poses.paint_figure(painter, width, height)
    painter.end()
    return np.frombuffer(image.constBits(), np.uint8).reshape(height, width, 4)[..., :3].copy()


def test_no_false_pose_heads_message_while_checkpoints_load(qtbot, compare, files, tmp_path):
    """As at a start: the sample is selected before the checkpoints are open, then the pair comes
    back. Compare never says "need two checkpoints with pose heads" of two regress heads, and draws
    both once they are there (issue 29, the smaller items)."""
    ws, view = compare
    open_files(qtbot, ws, files.dataset)
    ws.select(2)
    qtbot.wait(50)
    assert view.strip.message.text() == msg.NEED_TWO  # none chosen yet: not "without pose heads"
    a, b = make_checkpoint(tmp_path / "a.pt"), make_checkpoint(tmp_path / "b.pt", width=4)
    open_files(qtbot, ws, a, b)
    keys = tuple(k for k, c in ws.catalog.checkpoints.items() if c.path in (a, b))
    ws.compare_pair = keys  # as a workspace file restores it
    ws.compare_pair_changed.emit(keys)
    _drawn(qtbot, view, 2)
    assert view.strip.message.text() not in (msg.NO_POSE_HEADS, msg.NEED_TWO)


@pytest.mark.parametrize("case, expected", [("one checkpoint", msg.NEED_TWO),
                                            ("missing layer", "has no layer 'prediction'")])
def test_bad_input_is_a_message(qtbot, compare, afiles, case, expected):  # noqa: F811
    ws, view = compare
    if case == "one checkpoint":
        open_files(qtbot, ws, afiles.dataset)
        view.run()
    else:
        run_compare(qtbot, ws, view, afiles.simclr, afiles.simsiam, afiles.dataset, layer="prediction")
    assert expected in view.strip.message.text() and view.bundle is None


def test_encoders_without_pose_heads_compare_without_pose_metrics(qtbot, compare, afiles):  # noqa: F811
    ws, view = compare
    run_compare(qtbot, ws, view, afiles.simclr, afiles.simsiam, afiles.dataset)
    labels = [row[0] for row in view.metrics.rows]
    assert "MPJPE (mm)" not in labels and "silhouette · projection" in labels
    assert "silhouette · prediction" in labels  # SimSiam's predictor: B only
    row = next(r for r in view.metrics.rows if r[0] == "silhouette · prediction")
    assert row[1] is None and row[2] is not None
    assert view.strip.message.text() == msg.NO_POSE_HEADS
    assert view.summary.verdict.text() == msg.COMPARE_NO_POSES  # no verdict without pose metrics


def test_compare_follows_a_device_switch_from_fp32_to_bf16(qtbot, compare, afiles):  # noqa: F811
    """Compare draws with the catalog's predictors: after CPU fp32 → CPU bf16 its next predictions
    run in bf16 (the convolutions' outputs say so), with no compare run needed first."""
    import threading

    import torch

    ws, view = compare
    ws.set_device("cpu", "fp32")
    open_files(qtbot, ws, afiles.dataset, afiles.simclr_regress, afiles.simsiam_regress)
    view.checkpoint_a.select_key(next(k for k, c in ws.catalog.checkpoints.items() if c.path == afiles.simclr_regress))
    view.checkpoint_b.select_key(next(k for k, c in ws.catalog.checkpoints.items() if c.path == afiles.simsiam_regress))
    gui = threading.get_ident()
    conv_dtypes: list[torch.dtype] = []

    def record(module, args, output):
        if isinstance(module, torch.nn.Conv2d) and threading.get_ident() != gui:
            conv_dtypes.append(output.dtype)

    hook = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        wait_idle_poses = lambda i: qtbot.waitUntil(  # noqa: E731
            lambda: view.pose_index == i and not view.pose_runner.running(), timeout=30_000)
        ws.select(3)
        wait_idle_poses(3)
        before, before_dtypes = set(view.pose_precisions.values()), set(conv_dtypes)
        ws.set_device("cpu", "bf16")
        qtbot.waitUntil(lambda: all(c.predictor.precision == "bf16" for c in ws.catalog.checkpoints.values()
                                    if c.has_pose_head) and not ws.tasks.tasks, timeout=60_000)
        conv_dtypes.clear()
        ws.select(4)
        wait_idle_poses(4)
        after_dtypes = set(conv_dtypes)
    finally:
        hook.remove()
    assert before == {"fp32"} and before_dtypes == {torch.float32}
    assert view.pose_precisions == {"a": "bf16", "b": "bf16"}
    assert after_dtypes == {torch.bfloat16}  # every convolution since the switch ran in bf16
    assert all(len(view.poses.skeletons[k].joints) == ws.catalog.dataset.skeleton.num_joints for k in ("a", "b"))


def _texts_overlap(chart) -> list:
    """Pairs of the chart's value labels whose text boxes (scene px, the item less its document's
    margin) overlap, and labels outside the plot."""
    import pyqtgraph as pg

    texts = [t for t in chart._items if isinstance(t, pg.TextItem)]
    margins = [t.textItem.document().documentMargin() for t in texts]
    rects = [t.sceneBoundingRect().adjusted(m, m, -m, -m) for t, m in zip(texts, margins)]
    assert len(rects) >= 8  # two series of at least four groups
    view = chart.plot_item.vb.sceneBoundingRect()
    bad = [(i, j) for i, a in enumerate(rects) for j, b in enumerate(rects[:i]) if a.intersects(b)]
    return bad + [("outside", i) for i, r in enumerate(rects) if not view.contains(r)]


def _columns_cut(table) -> list:
    """The columns narrower than their header's or a cell's text (font metrics), or beyond the viewport."""
    fm, header = table.fontMetrics(), table.horizontalHeader()
    pad = 2 * table.style().pixelMetric(table.style().PixelMetric.PM_FocusFrameHMargin) + 2
    cut = []
    for c in range(table.columnCount()):
        texts = [table.item(r, c).text() for r in range(table.rowCount()) if table.item(r, c)]
        need = max([header.fontMetrics().horizontalAdvance(table.horizontalHeaderItem(c).text()),
                    *(fm.horizontalAdvance(t) for t in texts)]) + pad
        if table.columnWidth(c) < need or table.columnViewportPosition(c) + table.columnWidth(c) > \
                table.viewport().width():
            cut.append((c, table.columnWidth(c), need, table.viewport().width()))
    return cut


def test_docked_compare_is_a_summary_that_opens_a_full_view_fitting_1280x720(qtbot, window, afiles):  # noqa: F811
    """Docked at 1600×1000 and 1280×720: the error measures, A − B and the verdict, whole; its button
    opens the full view, which at 1280×720 shows every table column whole and the clusters-and-labels
    bars' value labels apart (issue 29, item 8)."""
    from PySide6.QtCore import Qt

    from hpe_core.analysis.compare import pose_verdict
    from layout_check import text_overflow

    ws = window.workspace
    window.resize(1600, 1000)
    window.actions_["show_compare"].trigger()
    view = window.analysis_view("compare")
    run_compare(qtbot, ws, view, afiles.simclr_regress, afiles.simsiam_regress, afiles.dataset)
    qtbot.waitUntil(lambda: bool(view.structures) and not view.structure_runner.running(), timeout=60_000)
    verdict = pose_verdict(view.bundle.compare)
    for size in ((1600, 1000), (1280, 720)):
        window.resize(*size)
        qtbot.waitUntil(lambda: view.summary.isVisible() and not view.tabs.isVisible())
        qtbot.wait(50)
        shown = [w for w in view.summary.labels() if w.isVisible() and w.text()]
        assert [text_overflow(w) for w in shown if text_overflow(w)] == [], size
        texts = " ".join(w.text() for w in shown)
        assert verdict.sentence(view.names()) in texts and f"{verdict.a:.1f}" in texts
        assert f"{verdict.difference:+.1f}" in texts and view.summary.full.isVisible()
    qtbot.mouseClick(view.summary.full, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.dock_layout.maximised is window.analysis_docks["compare"] and view.full)
    qtbot.waitUntil(lambda: view.metrics.isVisible())
    qtbot.wait(100)
    assert (window.width(), window.height()) == (1280, 720)
    assert _columns_cut(view.metrics) == []
    assert not view.metrics.horizontalScrollBar().isVisible()
    view.tabs.setCurrentWidget(view.structure)
    qtbot.waitUntil(lambda: view.structure.chart.isVisible())
    # the chart lays its labels out once its new size reaches it (a resize still queued on a loaded machine)
    qtbot.waitUntil(lambda: _texts_overlap(view.structure.chart) == [], timeout=5_000)
