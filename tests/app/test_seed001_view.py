"""Seed 001 in the GUI, in real windows with the demo's heatmap2d.pt and lifter.pt on a small
synthetic set: heatmaps over the image (every joint, or one), the predicted 2D beside the ground
truth, the lifted 3D pose in the 3D view, what each checkpoint can do, and the browser's error
of the lifted pose."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from analysis_helpers import grab_array

ROOT = Path(__file__).resolve().parents[2]
HEATMAP, LIFTER = ROOT / "resources" / "demo" / "heatmap2d.pt", ROOT / "resources" / "demo" / "lifter.pt"


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("seed001") / "data"
    synthesize(SynthSpec(root, poses=8, cameras=2, size=96, subjects=2, seed=5), NullProgress())
    return root


@pytest.fixture(scope="module")
def models():
    from hpe_core.models.checkpoint import load_checkpoint

    return load_checkpoint(HEATMAP, device="cpu")[0].eval(), load_checkpoint(LIFTER, device="cpu")[0].eval()


def _open(qtbot, window, synth, *checkpoints):
    ws = window.workspace
    ws.open_paths([str(synth), *map(str, checkpoints)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and len(ws.catalog.checkpoints) == len(checkpoints),
                    timeout=60_000)
    return ws


def _key(ws, path):
    from app.model.catalog import path_key

    return path_key(path)


def _pixels(canvas) -> np.ndarray:
    canvas.repaint()
    return grab_array(canvas).astype(int)


def _to_widget(canvas, joints):
    rect, s = canvas.image_rect(), canvas.sample
    sx, sy = rect.width() / s.image.shape[1], rect.height() / s.image.shape[0]
    return np.stack([rect.left() + joints[:, 0] * sx, rect.top() + joints[:, 1] * sy], 1)


def _decoded_2d(model, ds, index):
    """The heatmap net's 2D of one sample in image px, by the training pipeline (not the GUI's path)."""
    from hpe_core.training.tasks.pipeline import predicted_2d

    return predicted_2d(model, ds, np.array([index]), 96, "cpu")[0]


def _wait_heatmaps(qtbot, ws):
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == ws.feed.selection
                    and ws.feed.sample.heatmaps is not None and ws.feed.sample.detected_2d is not None,
                    timeout=60_000)


def test_heatmaps_over_the_image_every_joint_or_one(qtbot, window, synth, models):
    import cv2

    ws = _open(qtbot, window, synth, HEATMAP)
    ws.select(5)
    _wait_heatmaps(qtbot, ws)
    view, canvas = window.image_view, window.image_view.canvas
    assert view.heatmap_box.isEnabled() and view.heatmap_box.count() == 2 + 19
    ws.options.show_gt = ws.options.show_pred = False  # the heatmap alone changes the picture
    view.select_heatmap("off")
    plain = _pixels(canvas)
    assert not canvas.heatmap_drawn
    view.select_heatmap("all")
    every = _pixels(canvas)
    assert canvas.heatmap_drawn
    hm = ws.feed.sample.heatmaps
    changed = np.abs(every - plain).sum(-1)
    peaks = _to_widget(canvas, hm.joints_2d).round().astype(int)
    near = [changed[y - 2:y + 3, x - 2:x + 3].max() for x, y in peaks]
    assert np.median(near) > 60  # the colour map lights up where the joints are
    rect = canvas.image_rect()
    corners = [(int(rect.left()) + 3, int(rect.top()) + 3), (int(rect.right()) - 3, int(rect.top()) + 3)]
    far = [(x, y) for x, y in corners if np.hypot(*(peaks - [x, y]).T).min() > rect.width() * 0.3]
    assert far and all(changed[y, x] < 15 for x, y in far)  # and leaves the far background alone

    wrist = int(np.argmax(hm.scores))  # the joint the net is surest of (the demo net's weaker maps have 2 modes)
    view.select_heatmap(wrist)
    assert canvas.heatmap_mode == wrist
    one = _pixels(canvas)
    alpha = np.frombuffer(canvas._heatmap[1].constBits(), np.uint8).reshape(-1, canvas._heatmap[1].width(), 4)[..., 3]
    hot = (alpha >= round(0.75 * 255 * np.sqrt(0.5))).astype(np.uint8)  # the overlay where the map is >= half its peak
    assert cv2.connectedComponents(hot)[0] - 1 == 1  # one joint: one blob
    ys, xs = np.nonzero(hot)
    scale = canvas._heatmap[1].width() / ws.feed.sample.image.shape[1]
    centre = np.array([xs.mean(), ys.mean()]) / scale
    assert np.hypot(*(centre - hm.joints_2d[wrist])) < 4.0  # the blob sits on the decoded wrist
    changed_one = np.abs(one - plain).sum(-1) > 60
    changed_all = np.abs(every - plain).sum(-1) > 60
    assert 0 < changed_one.sum() < changed_all.sum()


def test_predicted_2d_is_drawn_at_the_decoded_joints_beside_the_ground_truth(qtbot, window, synth, models):
    from hpe_core.datasets import open_dataset
    from app.visuals.overlay import DETECTED_COLOUR

    ws = _open(qtbot, window, synth, HEATMAP)
    ws.select(3)
    _wait_heatmaps(qtbot, ws)
    view, canvas = window.image_view, window.image_view.canvas
    view.select_heatmap("off")
    _pixels(canvas)
    decoded = _decoded_2d(models[0], open_dataset(synth), 3)
    np.testing.assert_allclose(ws.feed.sample.detected_2d, decoded, atol=1e-3)
    drawn = np.array([[p.x(), p.y()] for p in canvas.detected_points])
    np.testing.assert_allclose(drawn, _to_widget(canvas, decoded), atol=0.01)  # float32 px, scaled
    assert canvas.bones_drawn > 0  # the ground truth is still drawn
    pixels = _pixels(canvas)
    target = np.array([DETECTED_COLOUR.red(), DETECTED_COLOUR.green(), DETECTED_COLOUR.blue()])
    hits = [np.abs(pixels[int(round(y)), int(round(x))] - target).sum() < 60 for x, y in drawn]
    assert np.mean(hits) > 0.6  # the crosses have their own colour (some hide under a later cross)
    from PySide6.QtCore import QPointF

    tip = canvas.joint_at(QPointF(*drawn[0]))
    assert tip.startswith("predicted 2D: ") or tip.startswith("ground truth: ")
    from hpe_core import metrics

    assert "2D only" in view.metrics.text()
    gt2 = open_dataset(synth).joints_2d[3][None].astype(np.float64)
    epe = metrics.epe(decoded[None], gt2)
    assert ws.feed.sample.metrics_2d["EPE"] == pytest.approx(epe, abs=1e-3)
    assert f"<b>EPE</b> {epe:.1f} px" in view.metrics.text()


def test_the_lifted_pose_is_the_3d_views_prediction_from_gt_or_heatmap_2d(qtbot, window, synth, models):
    from app.model.sample_data import place_prediction
    from app.visuals.layers import _to_world
    from hpe_core.datasets import open_dataset
    from hpe_core.models.families import FAMILIES

    ws = _open(qtbot, window, synth, LIFTER, HEATMAP)
    ds = open_dataset(synth)
    lifter_key, heatmap_key = _key(ws, LIFTER), _key(ws, HEATMAP)
    assert ws.catalog.active_key == lifter_key
    ws.select(6)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == 6
                    and ws.feed.sample.pred_3d is not None, timeout=60_000)
    scene = window.scene_view
    assert ws.options.align == "none"  # a lifter's pose is not rotation-free: drawn as predicted

    def expected(joints_2d):
        with torch.no_grad():
            rel = FAMILIES["lifter"].predict(models[1], {"joints_2d": joints_2d[None]}).joints_3d[0]
        sample = ws.feed.sample
        placed = place_prediction(rel.astype(np.float64), sample.gt_3d, ds.skeleton.root, ws.options.align)
        return scene.skeletons.frame.to_display(_to_world(placed, sample.camera))

    np.testing.assert_allclose(scene.skeletons.pred.joints, expected(ds.joints_2d[6]), rtol=1e-4, atol=0.05)
    assert "lifting the ground-truth 2D" in scene.source.text()
    assert ws.feed.sample.detected_2d is None and ws.feed.sample.heatmaps is None

    ckv = window.checkpoints_view
    assert ckv.lift_from.isVisibleTo(ckv) and ckv.lift_from.findData(heatmap_key) > 0
    ckv.lift_from.setCurrentIndex(ckv.lift_from.findData(heatmap_key))
    ckv.lift_from.activated.emit(ckv.lift_from.currentIndex())
    assert ws.lift.key == heatmap_key
    _wait_heatmaps(qtbot, ws)
    qtbot.waitUntil(lambda: ws.feed.sample.pred_3d is not None, timeout=60_000)
    decoded = _decoded_2d(models[0], ds, 6)
    np.testing.assert_allclose(scene.skeletons.pred.joints, expected(decoded.astype(np.float32)), rtol=1e-4, atol=0.5)
    assert "lifting the 2D of heatmap2d.pt" in scene.source.text()
    _pixels(window.image_view.canvas)
    assert window.image_view.canvas.heatmap_drawn  # the heatmap checkpoint's maps, over the image


def test_checkpoints_panel_says_what_each_checkpoint_can_do(qtbot, window, synth, files):
    ws = _open(qtbot, window, synth, HEATMAP, LIFTER, files.checkpoint)
    tree = window.checkpoints_view.list
    rows = {tree.topLevelItem(i).text(0).strip("● ").strip(): tree.topLevelItem(i).text(1)
            for i in range(tree.topLevelItemCount())}
    assert rows == {"heatmap2d.pt": "image → 2D", "lifter.pt": "2D → 3D", files.checkpoint.name: "image → 3D"}
    ws.set_active_checkpoint(_key(ws, HEATMAP))
    assert "can do: image → 2D" in window.checkpoints_view.details.text()
    assert not window.checkpoints_view.lift_from.isVisibleTo(window.checkpoints_view)  # not a lifter
    ws.set_active_checkpoint(_key(ws, LIFTER))
    assert window.checkpoints_view.lift_from.isVisibleTo(window.checkpoints_view)


def test_browser_error_column_is_the_lifted_poses_mpjpe(qtbot, window, synth, models):
    from app.views.sample_model import ErrorRole
    from hpe_core import metrics
    from hpe_core.datasets import open_dataset
    from hpe_core.models.families import FAMILIES

    ws = _open(qtbot, window, synth, LIFTER)
    qtbot.waitUntil(lambda: ws.predictions() is not None and ws.predictions().complete, timeout=60_000)
    ds = open_dataset(synth)
    with torch.no_grad():
        lifted = FAMILIES["lifter"].predict(models[1], {"joints_2d": ds.joints_2d}).joints_3d
    ref = metrics.mpjpe(lifted.astype(np.float64), ds.joints_3d.astype(np.float64), ds.visible,
                        root=ds.skeleton.root, per_sample=True)
    model = window.browser_view.model
    qtbot.waitUntil(lambda: model.index(0).data(ErrorRole) is not None, timeout=30_000)
    shown = np.array([model.index(r).data(ErrorRole) for r in range(model.rowCount())])
    rows = np.array([int(model.rows[r]) for r in range(model.rowCount())])
    assert len(rows) == len(ds)
    np.testing.assert_allclose(shown, ref[rows], rtol=1e-4, atol=0.01)  # float32 mm of ~100
    assert np.isfinite(shown).all() and shown.mean() > 1.0


def test_a_saved_workspace_reopens_the_lift_source_and_a_foreign_files_units(qtbot, synth, tmp_path):
    """The 2D the lifters lift (a heatmap checkpoint's) and the units a foreign predictions file was
    read in are saved in the workspace file; reopening it restores both, with no message."""
    from app.model.catalog import path_key
    from app.workspace import Workspace
    from hpe_core.datasets import open_dataset

    ds = open_dataset(synth)
    metres = tmp_path / "metres.npy"
    np.save(metres, (ds.joints_3d / 1000.0).astype(np.float32))  # a (N, J, 3) array: no units inside
    first = Workspace()
    first.open_paths([str(synth), str(HEATMAP), str(LIFTER)])
    qtbot.waitUntil(lambda: first.catalog.dataset is not None and len(first.catalog.checkpoints) == 2, timeout=60_000)
    first.open_predictions(metres, "m", activate=False)
    qtbot.waitUntil(lambda: len(first.catalog.checkpoints) == 3, timeout=60_000)
    first.set_lift_source(path_key(HEATMAP))
    path = first.save_workspace(tmp_path / "s.hpews", quiet=True)
    first.close()

    second = Workspace()
    seen, loaded = [], []
    second.message.connect(lambda level, text: seen.append((level, text)))
    second.workspace_loaded.connect(loaded.append)
    second.open_workspace(path)
    qtbot.waitUntil(lambda: bool(loaded), timeout=60_000)
    assert second.lift.key == path_key(HEATMAP)
    entry = second.catalog.checkpoints[path_key(metres)]
    assert entry.units == "m"
    np.testing.assert_allclose(entry.predictor.prediction.joints_3d, ds.joints_3d, atol=1e-3)  # read as metres: mm
    assert not [m for m in seen if m[0] == "error"], seen
    second.close()


def test_compare_draws_no_3d_pose_for_a_heatmap_network_and_says_why(qtbot, synth):
    """A heatmap network chosen in Compare has only 2D: its 3D slot stays empty with a message
    naming it (it was drawn as a pose of zeros), while the lifter beside it is drawn."""
    from app.model import messages as msg
    from app.model.catalog import path_key
    from app.views.compare_view import CompareView
    from app.workspace import Workspace

    ws = Workspace()
    view = CompareView(ws)
    qtbot.addWidget(view)
    view.show()
    ws.open_paths([str(synth), str(HEATMAP), str(LIFTER)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and len(ws.catalog.checkpoints) == 2
                    and not ws.tasks.tasks, timeout=60_000)
    view.checkpoint_a.select_key(path_key(HEATMAP))
    view.checkpoint_b.select_key(path_key(LIFTER))
    ws.select(3)
    qtbot.waitUntil(lambda: view.pose_index == 3 and not view.pose_runner.running()
                    and view.poses.skeletons["b"].joints.size > 0, timeout=60_000)
    assert view.poses.skeletons["a"].joints.size == 0
    assert view.strip.message.text() == msg.ONLY_2D.format(names=f"A: {HEATMAP.name}")
    assert np.isfinite(view.poses.skeletons["b"].joints).all() and np.ptp(view.poses.skeletons["b"].joints) > 100
    view.shutdown()
    ws.close()


def _chain_shown(ws) -> bool:
    s = ws.feed.sample
    return s is not None and s.index == 2 and s.pred_3d is not None and s.detected_2d is not None


def _every_row(ws) -> bool:
    store = ws.predictions()
    return store is not None and store.count == len(ws.catalog.dataset)


def _run_the_chain(qtbot, synth):
    """A new workspace: the heatmap network alone on ``synth``, then the lifter lifting its 2D."""
    from app.model.catalog import path_key
    from app.workspace import Workspace

    ws = Workspace()
    ws.open_paths([str(synth), str(HEATMAP), str(LIFTER)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and len(ws.catalog.checkpoints) == 2, timeout=60_000)
    ws.set_active_checkpoint(path_key(HEATMAP))
    qtbot.waitUntil(lambda: _every_row(ws) and not ws.tasks.tasks, timeout=60_000)
    ws.set_active_checkpoint(path_key(LIFTER))
    ws.set_lift_source(path_key(HEATMAP))
    ws.select(2)
    qtbot.waitUntil(lambda: _chain_shown(ws) and ws.feed.sample.heatmaps is not None, timeout=60_000)
    qtbot.waitUntil(lambda: _every_row(ws) and not ws.tasks.tasks, timeout=60_000)
    return ws


def test_the_heatmap_to_lifter_chain_comes_back_from_the_disk_cache(qtbot, synth, files, monkeypatch):
    """The chain heatmap network -> lifter is cached like one checkpoint, keyed by both
    checkpoints and the lift source: after a restart, and after visiting another dataset, its
    lifted 3D and the predicted 2D beside it come back without running a model; a heatmap
    network on its own comes back with its 2D too."""
    from hpe_core import inference

    calls: list[int] = []
    original = inference.predict
    monkeypatch.setattr(inference, "predict", lambda p, d, rows, *a, **k: (calls.append(len(rows)),
                                                                              original(p, d, rows, *a, **k))[1])
    first = _run_the_chain(qtbot, synth)
    lifted, detected = first.feed.sample.pred_3d.copy(), first.predictions().joints_2d.copy()
    first.close()
    assert sum(calls) >= 2 * len(first.catalog.dataset)  # both predicted every sample once
    calls.clear()
    second = _run_the_chain(qtbot, synth)
    assert calls == []  # nothing predicted: the heatmap network's rows and the chain's came from disk
    np.testing.assert_allclose(second.feed.sample.pred_3d, lifted, atol=1e-3)
    np.testing.assert_allclose(second.predictions().joints_2d, detected, atol=1e-3)  # the 2D shown beside it
    synth_key = second.catalog.current_key
    second.open_paths([str(files.dataset)])  # another dataset, then back
    qtbot.waitUntil(lambda: second.catalog.current_key != synth_key and not second.tasks.tasks, timeout=60_000)
    other = sum(calls)
    assert other >= len(second.catalog.dataset)  # the chain ran on the other dataset
    second.set_current_dataset(synth_key)
    second.select(2)
    qtbot.waitUntil(lambda: _chain_shown(second) and _every_row(second) and not second.tasks.tasks, timeout=60_000)
    assert sum(calls) == other  # back: nothing predicted again
    second.close()


def test_a_saved_workspace_restores_the_part_maps_the_heatmap_joint_and_the_checkpoints_order(
        qtbot, window, synth, files, tmp_path):
    """The part-map toggle (and whose 2D), the one joint whose heatmap is shown and the order of the
    checkpoint list come back with the workspace file (the list used to follow the loading order)."""
    from app.main_window import MainWindow
    from app.model.catalog import path_key
    from app.settings import Settings

    ws = window.workspace
    for path in (files.checkpoint, LIFTER, HEATMAP):  # listed in this order: the slowest to load first
        ws.open_paths([str(path)])
        qtbot.waitUntil(lambda p=path: path_key(p) in ws.catalog.checkpoints and not ws.tasks.tasks, timeout=60_000)
    ws.open_paths([str(synth)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None, timeout=60_000)
    ws.set_active_checkpoint(path_key(HEATMAP))
    ws.select(5)
    _wait_heatmaps(qtbot, ws)
    view = window.image_view
    view.heatmap_box.setCurrentIndex(view.heatmap_box.findData(4))  # the user picks one joint's heatmap...
    view.heatmap_box.activated.emit(view.heatmap_box.currentIndex())
    view.parts_from.setCurrentText("prediction")  # ...and the part maps of the prediction
    view.parts_from.activated.emit(view.parts_from.currentIndex())
    view.parts_box.setChecked(True)
    order = list(ws.catalog.checkpoints)
    assert order == [path_key(p) for p in (files.checkpoint, LIFTER, HEATMAP)]
    path = ws.save_workspace(tmp_path / "s.hpews", quiet=True)
    other = MainWindow(settings=Settings(tmp_path / "other"))
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitSignal(other.workspace.workspace_loaded, timeout=60_000):
        other.workspace.open_paths([str(path)])
    _wait_heatmaps(qtbot, other.workspace)
    restored, tree = other.image_view, other.checkpoints_view.list
    assert list(other.workspace.catalog.checkpoints) == order
    assert [tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) for i in range(3)] == order
    assert restored.parts_box.isChecked() and restored.parts_from.currentText() == "prediction"
    qtbot.waitUntil(lambda: restored.heatmap_box.currentData() == 4, timeout=10_000)
    assert restored.canvas.heatmap_mode == 4
    other.close()
