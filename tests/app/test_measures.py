"""One error measure everywhere (issue 14, item 2): a checkpoint trained with a rotation-aligned
loss is read by PA-MPJPE, another by MPJPE, in the image's metrics, hover cards, colour-by-error
and the browser (ranking and footer); the footer's statistics are over the rows shown."""

from __future__ import annotations

import re

import numpy as np
import pytest

from app.views.embedding_colours import colour_codes, describe_sample
from app.visuals.palettes import binned
from helpers import make_checkpoint, wait_for_prediction

ROTATION = {"task": "regress3d", "config": {"task": "regress3d", "regression": {"loss": "rotation_mse"}}}
PLAIN = {"task": "regress3d", "config": {"task": "regress3d", "regression": {"loss": "mse"}}}


@pytest.mark.parametrize("training, measure", [(ROTATION, "PA-MPJPE"), (PLAIN, "MPJPE")])
def test_the_checkpoints_measure_is_read_and_coloured_everywhere(qtbot, window, files, tmp_path, training, measure):
    ckpt = make_checkpoint(tmp_path / "head.pt", training=training)
    ws = window.workspace
    ws.open_paths([str(files.dataset), str(ckpt)])
    wait_for_prediction(qtbot, ws)
    qtbot.waitUntil(lambda: ws.predictions().count == len(ws.catalog.dataset), timeout=30_000)
    store = ws.predictions()
    values = store.pa_error if measure == "PA-MPJPE" else store.error
    assert store.metric == measure and ws.catalog.checkpoint.error_measure.name == measure
    assert np.array_equal(store.ranking, values, equal_nan=True)
    # the image's metrics: the measure first and in bold, the other plain
    qtbot.waitUntil(lambda: ws.feed.sample is not None and bool(ws.feed.sample.metrics))
    text = window.image_view.metrics.text()
    assert text.startswith(f"<b>{measure}</b>") and text.count("<b>") == 1
    # hover card and colour by error
    index = int(ws.browse.rows[3])
    indices = np.asarray(ws.browse.rows, np.int64)
    lines = describe_sample(index, indices, None, ws)
    assert lines == [f"{measure} {values[index]:.1f} mm"]
    codes, _palette, legend, problem = colour_codes("error", ws, indices, None)
    assert problem == "" and np.array_equal(codes, binned(values[indices])[0])
    assert all(name.startswith(measure) for name, _ in legend[:-1]) and len(legend) == 13  # every bin


def test_the_footer_statistics_are_over_the_rows_shown(qtbot, window, files):
    ws = window.workspace
    ws.open_paths([str(files.dataset), str(files.checkpoint)])
    wait_for_prediction(qtbot, ws)
    qtbot.waitUntil(lambda: ws.predictions().count == len(ws.catalog.dataset), timeout=30_000)
    store = ws.predictions()
    footer = window.browser_view.footer

    def shown_mean() -> float:
        match = re.search(rf"{re.escape(store.metric)} mean ([\d.]+) · median ([\d.]+) mm", footer.text())
        assert match, footer.text()
        return float(match.group(1)), float(match.group(2))

    qtbot.waitUntil(lambda: " mean " in footer.text() and f"{len(ws.catalog.dataset):,} predicted" in footer.text())
    everything = shown_mean()
    assert everything[0] == pytest.approx(np.nanmean(store.ranking), abs=0.051)
    camera = int(np.asarray(ws.catalog.dataset.camera_id)[0])
    ws.set_filter("camera", camera)
    qtbot.waitUntil(lambda: "of" in footer.text())
    rows = np.asarray(ws.browse.rows)
    assert 0 < len(rows) < len(ws.catalog.dataset)
    mean, median = shown_mean()
    assert mean == pytest.approx(np.nanmean(store.ranking[rows]), abs=0.051)
    assert median == pytest.approx(np.nanmedian(store.ranking[rows]), abs=0.051)
    assert f"{len(rows):,} predicted" in footer.text()
    assert abs(mean - everything[0]) > 0.05  # it is not the dataset's mean
