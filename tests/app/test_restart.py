"""State survives a restart: the predictions come from the disk cache (no predictor call), the
active checkpoint, Compare's pair and a video's predictions come back, and no false banner."""

from __future__ import annotations

import numpy as np
import pytest

from app.model import messages
from app.workspace import path_key
from helpers import make_checkpoint


@pytest.fixture
def counted(monkeypatch):
    """Counts the rows each call of ``hpe_core.inference.predict`` (what the GUI's prediction jobs
    run a model through) is asked for."""
    from hpe_core import inference

    calls: list[int] = []
    original = inference.predict

    def counting(predictor, dataset, rows, *args, **kwargs):
        calls.append(len(rows))
        return original(predictor, dataset, rows, *args, **kwargs)

    monkeypatch.setattr(inference, "predict", counting)
    return calls


@pytest.fixture
def encoder(tmp_path_factory):
    """A SimCLR checkpoint: an encoder without a pose head."""
    import torch

    from hpe_core.models import build_model, save_checkpoint

    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("enc") / "best.pt", build_model("simclr", "resnet18", width=8))


def _window(qtbot, settings_dir):
    from app.main_window import MainWindow
    from app.settings import Settings

    win = MainWindow(settings=Settings(settings_dir))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def _complete(ws) -> bool:
    store = ws.predictions()
    return store is not None and store.count == len(ws.catalog.dataset) and not ws.tasks.tasks


def test_restart_restores_predictions_without_recomputing(qtbot, tmp_path, files, encoder, counted, monkeypatch,
                                                           _own_prediction_cache):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path / "cache"))
    second = make_checkpoint(tmp_path / "other.pt", width=4)
    win = _window(qtbot, tmp_path / "settings")
    ws = win.workspace
    ws.open_paths([str(files.dataset), str(encoder), str(files.checkpoint), str(second)])
    qtbot.waitUntil(lambda: len(ws.catalog.checkpoints) == 3 and _complete(ws), timeout=60_000)
    ws.set_active_checkpoint(path_key(second))
    qtbot.waitUntil(lambda: _complete(ws), timeout=60_000)
    ws.set_active_checkpoint(path_key(files.checkpoint))
    compare = win.analysis_view("compare")
    compare.checkpoint_a.select_key(path_key(second))
    compare.checkpoint_b.select_key(path_key(files.checkpoint))
    first = ws.predictions().joints.copy()
    n = len(ws.catalog.dataset)
    assert sum(counted) >= 2 * n  # both checkpoints predicted every sample once
    win.close()
    assert len(list(_own_prediction_cache.glob("*.npz"))) == 2  # one entry per checkpoint

    counted.clear()
    win = _window(qtbot, tmp_path / "settings")
    ws = win.workspace
    win.start([])  # no paths: the last session
    qtbot.waitUntil(lambda: ws.catalog.active_key == path_key(files.checkpoint) and _complete(ws), timeout=60_000)
    assert counted == []  # nothing predicted again: every row came from the disk cache
    assert ws.predicting.predict_calls == 0
    np.testing.assert_array_equal(ws.predictions().joints, first)
    assert np.isfinite(ws.predictions().ranking).all()  # errors recomputed against the ground truth
    assert len(ws.catalog.checkpoints) == 3
    compare = win.analysis_view("compare")
    assert (compare.checkpoint_a.currentData(), compare.checkpoint_b.currentData()) == (
        path_key(second), path_key(files.checkpoint))
    no_head = messages.NO_POSE_HEAD.split("{path}")[1]
    assert not [m for m in win.message_bar.history if no_head in m[1]]
    win.close()


def test_a_video_s_predictions_come_back_from_the_cache(qtbot, tmp_path, files, counted, monkeypatch):
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path / "cache"))
    win = _window(qtbot, tmp_path / "settings")
    ws = win.workspace
    ws.open_paths([str(files.video), str(files.checkpoint)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and _complete(ws), timeout=60_000)
    assert ws.catalog.dataset.format == "video"
    before = ws.predictions().joints.copy()
    win.close()
    counted.clear()
    win = _window(qtbot, tmp_path / "settings")
    ws = win.workspace
    win.start([])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and _complete(ws), timeout=60_000)
    assert counted == [] and ws.catalog.dataset.format == "video"
    np.testing.assert_array_equal(ws.predictions().joints, before)
    assert f"{len(before)} / {len(before)} frames predicted" in win.video_view.info.text()
    win.close()


def test_a_changed_checkpoint_is_predicted_again(qtbot, tmp_path, files, counted, monkeypatch):
    """The key holds the checkpoint's hash: a file rewritten in place is not served stale rows."""
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(tmp_path / "cache"))
    ckpt = make_checkpoint(tmp_path / "c.pt", width=8)
    win = _window(qtbot, tmp_path / "settings")
    win.workspace.open_paths([str(files.dataset), str(ckpt)])
    qtbot.waitUntil(lambda: _complete(win.workspace), timeout=60_000)
    win.close()
    make_checkpoint(ckpt, width=4)  # another model under the same name
    counted.clear()
    win = _window(qtbot, tmp_path / "settings")
    win.start([])
    qtbot.waitUntil(lambda: _complete(win.workspace), timeout=60_000)
    assert sum(counted) >= len(win.workspace.catalog.dataset)
    win.close()
