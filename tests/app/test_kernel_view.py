"""The kernel inspector on real checkpoints: the same classes and sums as ``hpe kernels``, a
clicked filter's response and spectrum from ``hpe_core``, feature maps of the current image."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from analysis_helpers import (afiles, blank, grab_array, open_files, run_cli, shown,  # noqa: F401
                              view_of_new_workspace, wait_done)
from app.model import messages as msg
from app.views.kernel_panels import BADGES, CLASS_COLOURS
from app.views.kernel_view import KernelView
from app.workspace import Workspace

WIDTH = 8  # the test checkpoints' ResNet18 width: layerK has WIDTH * 2**(K-1) channels


@pytest.fixture
def inspector(qtbot, afiles):  # noqa: F811
    with view_of_new_workspace(qtbot, KernelView) as (ws, view):
        open_files(qtbot, ws, afiles.dataset, afiles.simclr)
        qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.image is not None, timeout=10_000)
        yield ws, view


def analyse(qtbot, view) -> None:
    view.refresh()
    wait_done(qtbot, view.runner)
    qtbot.waitUntil(lambda: view.maps is not None and not view.maps_runner.running(), timeout=30_000)


def test_grid_shows_the_classes_and_sums_hpe_kernels_prints(qtbot, inspector, afiles, capsys):  # noqa: F811
    _ws, view = inspector
    analyse(qtbot, view)
    cli = run_cli(["kernels", str(afiles.simclr)], capsys)
    report = view.bundle.report
    assert report.counts() == cli["counts"] and list(report.weights.shape) == cli["shape"]
    grid = view.grid
    assert len(grid.frames) == len(grid.texts) == len(cli["filters"]) == WIDTH
    for frame, text, entry in zip(grid.frames, grid.texts, cli["filters"]):
        assert frame.pen().color().getRgb()[:3] == CLASS_COLOURS[entry["class"]]
        assert f">{BADGES[entry['class']]}<" in text.toHtml() and f"{entry['sums']['total']:+.2f}" in text.toHtml()
    counts = ", ".join(f"{v} {k}" for k, v in cli["counts"].items() if v)
    assert counts in grid.title.text
    assert not blank(grab_array(grid)) and not blank(grab_array(view.maps_panel))


def test_clicking_a_filter_shows_its_response_and_spectrum(qtbot, inspector, afiles, capsys):  # noqa: F811
    from hpe_core.analysis import filter_responses, frequency_response
    from hpe_core.inference import checkpoint_image_size

    ws, view = inspector
    analyse(qtbot, view)
    index = 5
    x, y = view.grid.origins[index] + np.array(view.grid.tile) / 2
    where = view.grid.box.mapViewToDevice(QPointF(x, y)).toPoint()
    qtbot.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert view.filter_index == index and view.grid.selected == index
    entry = run_cli(["kernels", str(afiles.simclr)], capsys)["filters"][index]
    caption = view.detail.caption.text
    assert f"filter {index}" in caption and entry["class"] in caption and f"{entry['sums']['total']:+.4f}" in caption
    loaded = ws.catalog.checkpoint
    expected = filter_responses(ws.feed.sample.image, loaded.model, image_size=checkpoint_image_size(loaded.info))[index]
    np.testing.assert_allclose(view.detail.images[1].image, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(view.detail.images[2].image,
                               frequency_response(view.bundle.report.weights[index].sum(0)), rtol=1e-6)
    np.testing.assert_array_equal(view.detail.images[0].image, ws.feed.sample.image)  # side by side with the image


@pytest.mark.parametrize("layer, channels", [("layer1", WIDTH), ("layer3", 4 * WIDTH)])
def test_layer_selector_shows_the_current_images_feature_maps(qtbot, inspector, afiles, capsys, tmp_path,  # noqa: F811
                                                              layer, channels):
    ws, view = inspector
    analyse(qtbot, view)
    view.layer.setCurrentIndex(view.layer.findData(layer))
    qtbot.waitUntil(lambda: view.maps.layer == layer and not view.maps_runner.running(), timeout=30_000)
    assert view.maps.maps.shape[0] == channels
    assert view.maps_image.image.shape == view.maps.grid.shape
    image_file = ws.catalog.dataset.image_path(ws.feed.sample.index)
    cli = run_cli(["kernels", str(afiles.simclr), "--image", str(image_file), "--layer", layer,
                   "--maps-out", str(tmp_path / "maps.png"), "--out", str(tmp_path / "grid.png")], capsys)
    assert cli["maps_shape"] == list(view.maps.maps.shape)
    assert f"{channels} feature maps" in view.maps_title.text


def test_another_sample_recomputes_the_maps_in_a_worker(qtbot, inspector):
    ws, view = inspector
    analyse(qtbot, view)
    first = view.maps
    ws.select(7)
    qtbot.waitUntil(lambda: view.maps is not first and not view.maps_runner.running(), timeout=30_000)
    assert view.image is ws.feed.sample.image and ws.feed.sample.index == 7
    assert not np.allclose(view.maps.responses, first.responses)


def test_signed_mode_draws_channels_on_a_diverging_scale(qtbot, inspector):
    _ws, view = inspector
    analyse(qtbot, view)
    view.mode.setCurrentIndex(view.mode.findData("signed"))
    image = view.grid.image
    assert tuple(image.levels) == (-1.0, 1.0) and image.lut is not None
    data = image.image
    assert np.nanmin(data) >= -1.0 and np.nanmax(data) <= 1.0 and np.isnan(data).any()  # gaps between tiles
    assert np.nanmax(np.abs(data)) == pytest.approx(1.0)  # each filter scaled by its largest |weight|
    assert "blue" in view.grid.title.text


def test_without_a_checkpoint_it_asks_for_one(qtbot):
    ws = Workspace()
    view = KernelView(ws)
    shown(view, qtbot)
    view.refresh()
    assert view.strip.message.text() == msg.NEED_CHECKPOINT_TO_ANALYSE and not view.runner.running()
    view.shutdown()
    ws.close()


def test_built_after_a_sample_was_shown_it_has_its_image(qtbot, afiles):  # noqa: F811
    """The inspector is built when first shown: the sample already on screen is its image (it
    never says "Select a sample" with one selected)."""
    ws = Workspace()
    open_files(qtbot, ws, afiles.dataset, afiles.simclr)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.image is not None, timeout=10_000)
    view = KernelView(ws)
    view.resize(1100, 650)
    shown(view, qtbot)
    assert view.image is ws.feed.sample.image
    analyse(qtbot, view)
    assert view.maps is not None and view.strip.level != "info"
    view.shutdown()
    ws.close()


def test_a_checkpoint_without_conv1_says_why_instead_of_a_blank_grid(qtbot, afiles):  # noqa: F811
    """A lifter (2D joints in, no image encoder) chosen in the inspector, or chosen when it opens,
    says why there are no filters; no job runs and the previous checkpoint's filters are gone."""
    from app.model.catalog import path_key
    from hpe_core import resources_dir

    lifter = resources_dir() / "demo" / "lifter.pt"
    want = msg.NO_CONV1.format(name=lifter.name, why="a lifter model reads 2D joints, not images")
    with view_of_new_workspace(qtbot, KernelView) as (ws, view):
        open_files(qtbot, ws, afiles.dataset, afiles.simclr, lifter)
        view.checkpoint.select_key(path_key(afiles.simclr))
        analyse(qtbot, view)
        assert view.bundle is not None and view.grid.image.image is not None
        view.checkpoint.select_key(path_key(lifter))
        assert view.strip.message.text() == want and not view.runner.running()
        assert view.bundle is None and view.grid.image.image is None and want in view.grid.title.text
        ws.set_active_checkpoint(path_key(lifter))
        opened = KernelView(ws)  # opened with the lifter chosen: it says so at once
        shown(opened, qtbot)
        assert opened.checkpoint.currentData() == path_key(lifter) and opened.strip.message.text() == want
        opened.shutdown()
