"""A predictions file opened like a checkpoint: it joins the checkpoint list, its poses fill the
browser's error column with hpe_core's per-sample errors and the 3D view, Compare draws it; a file
with the wrong sample count gives one clear message and the GUI keeps working."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.model import messages as msg
from app.model.catalog import path_key
from app.views.browser_view import BrowserView
from app.views.sample_model import ErrorRole, IndexRole
from app.workspace import Workspace
from hpe_core.predictions import Prediction


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("preds")
    ds_path = Path(synthesize(SynthSpec(root / "ds", poses=6, cameras=2, size=32, seed=3), NullProgress()))
    ds = open_dataset(ds_path)
    rng = np.random.default_rng(7)
    poses = (ds.joints_3d + rng.normal(scale=35.0, size=ds.joints_3d.shape)).astype(np.float32)
    Prediction(joints_3d=poses, frame="camera", skeleton=ds.skeleton.name).save(root / "ours.npz")
    np.save(root / "short.npy", poses[:-3] / 1000.0)  # three samples short, metres
    return ds_path, root / "ours.npz", root / "short.npy", ds


@pytest.fixture
def ws(qtbot):
    ws = Workspace()
    seen = []
    ws.message.connect(lambda level, text: seen.append((level, text)))
    ws.seen = seen
    yield ws
    ws.close()


def _shown(qtbot, view):
    """``view``, shown and closed with the test."""
    qtbot.addWidget(view)
    view.show()
    return view


def test_browser_errors_are_hpe_cores_and_the_3d_view_gets_the_pose(qtbot, ws, files):
    from hpe_core.inference.evaluate import score_prediction
    from hpe_core.inference.files import read_prediction_file

    ds_path, ours, _, ds = files
    view = _shown(qtbot, BrowserView(ws))
    ws.open_paths([str(ds_path), str(ours)])  # classified by content: a predictions file
    key = path_key(ours)
    qtbot.waitUntil(lambda: ws.catalog.active_key == key and ws.predictions() is not None
                    and ws.predictions().complete, timeout=30_000)
    entry = ws.catalog.checkpoint
    assert entry.kind == "predictions" and entry.has_pose_head and entry.model is None
    report = score_prediction(read_prediction_file(ours), ds, per_sample=True)
    want = np.full(len(ds), np.nan)
    want[report["rows"]] = report["per_sample"]["mpjpe"]
    np.testing.assert_allclose(ws.predictions().error, want, rtol=1e-5)
    model = view.model

    def shown() -> dict:
        return {model.data(model.index(r), IndexRole): model.data(model.index(r), ErrorRole)
                for r in range(model.rowCount())}

    qtbot.waitUntil(lambda: len(shown()) == len(ds) and None not in shown().values(), timeout=30_000)
    shown = shown()
    np.testing.assert_allclose([shown[i] for i in range(len(ds))], want, rtol=1e-5)
    ws.select(4)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == 4
                    and ws.feed.sample.pred_3d is not None, timeout=30_000)
    stored = read_prediction_file(ours).joints_3d[4].astype(np.float64)
    gt = ds.joints_3d[4]
    np.testing.assert_allclose(ws.feed.sample.pred_3d, stored - stored[0] + gt[0], atol=1e-3)
    assert not [m for m in ws.seen if m[0] == "error"]
    view.shutdown()


def test_compare_draws_the_predictions_beside_a_checkpoint(qtbot, ws, files):
    from app.views.compare_view import CompareView

    ds_path, ours, _, ds = files
    view = _shown(qtbot, CompareView(ws))
    ws.open_paths([str(ds_path), str(ours)])
    qtbot.waitUntil(lambda: path_key(ours) in ws.catalog.checkpoints and not ws.tasks.tasks, timeout=30_000)
    view.checkpoint_a.select_key(path_key(ours))
    ws.select(2)
    qtbot.waitUntil(lambda: view.pose_index == 2 and view.poses.skeletons["a"].joints.size > 0, timeout=30_000)
    from app.visuals.scene_frame import SceneFrame
    from hpe_core.predictions import load_prediction

    stored = load_prediction(ours).joints_3d[2].astype(np.float64)

    drawn = view.poses.skeletons["a"].joints.astype(np.float64)
    expect = SceneFrame().to_display(stored - stored[ds.skeleton.root])  # on the ground truth's root, as the 3D view
    # the compare view stands the poses on one floor: equal up to that vertical shift
    shift = drawn - expect
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-2)
    assert np.allclose(shift[0, :2], 0, atol=1e-2)
    view.shutdown()


def test_a_wrong_count_is_one_message_at_open_and_nothing_is_added(qtbot, ws, files):
    """A file that does not fit the current dataset is checked when it is opened: one message
    naming it and both counts; it joins no list and the active entry stays the one it was."""
    ds_path, ours, short, ds = files
    ws.open_paths([str(ds_path), str(ours)])
    qtbot.waitUntil(lambda: ws.catalog.active_key == path_key(ours) and not ws.tasks.tasks, timeout=30_000)
    changes = []
    ws.catalog.checkpoints_changed.connect(lambda: changes.append("list"))
    ws.catalog.active_checkpoint_changed.connect(lambda _e: changes.append("active"))
    ws.open_predictions(short, "m")
    qtbot.waitUntil(lambda: bool(ws.seen) and not ws.tasks.tasks, timeout=30_000)
    errors = [text for level, text in ws.seen if level == "error"]
    assert len(errors) == 1, errors
    assert str(short) in errors[0] and f"holds {len(ds) - 3} samples" in errors[0] and f"has {len(ds)}" in errors[0]
    assert "\n" not in errors[0]  # a user error: no traceback
    assert path_key(short) not in ws.catalog.checkpoints and changes == []  # nothing added, nothing made active
    assert ws.catalog.active_key == path_key(ours)
    ws.select(1)  # still working: the right file shows its poses
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == 1
                    and ws.feed.sample.pred_3d is not None, timeout=30_000)
    assert np.isfinite(ws.predictions().error).all()
    assert len([m for m in ws.seen if m[0] == "error"]) == 1


def test_a_predictions_file_dropped_on_the_checkpoint_list_opens_there(qtbot, ws, files):
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl, Qt
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from app.views.checkpoints_view import CheckpointsView

    ds_path, ours, _, _ = files
    view = _shown(qtbot, CheckpointsView(ws))
    qtbot.waitExposed(view)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(ours))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.list.viewport(), enter)
    assert enter.isAccepted()  # the list takes file drops
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.list.viewport(), event)
    qtbot.waitUntil(lambda: view.list.topLevelItemCount() == 1, timeout=30_000)
    assert view.list.topLevelItem(0).data(0, Qt.ItemDataRole.UserRole) == path_key(ours)
    assert "predictions file" in view.details.text() and f"{len(files[3]):,} samples" in view.details.text()


@pytest.mark.parametrize("name", ["kernel", "embedding", "compare"])
def test_the_analysis_views_say_a_predictions_file_has_no_model(qtbot, ws, files, name):
    """Chosen in the filter inspector, the explorer or Compare (as A), a predictions file gives one
    message naming it, starts no job and raises nothing; Compare still draws its poses."""
    from app.views.compare_view import CompareView
    from app.views.embedding_view import EmbeddingView
    from app.views.kernel_view import KernelView

    ds_path, ours, _, _ = files
    view = _shown(qtbot, {"kernel": KernelView, "embedding": EmbeddingView, "compare": CompareView}[name](ws))
    ws.open_paths([str(ds_path), str(ours)])
    qtbot.waitUntil(lambda: path_key(ours) in ws.catalog.checkpoints and not ws.tasks.tasks, timeout=30_000)
    combo = view.checkpoint_a if name == "compare" else view.checkpoint
    combo.select_key(path_key(ours))
    if name == "compare":
        view.checkpoint_b.select_key(path_key(ours))
        view.run()
    elif name == "embedding":
        view.run()
    else:
        view.refresh()
    assert view.strip.message.text().startswith(f"{ours.name} is a predictions file: it holds poses, not a model")
    assert not view.runner.running()
    assert not [m for m in ws.seen if m[0] == "error"]
    view.shutdown()
