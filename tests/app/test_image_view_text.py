"""At the default 1440×900 the image view's title (frame number), its metrics line (the error
measures, the predicted 2D's PCK) and the browser's footer (mean, median) are shown whole: each
label's text, laid out in its font as Qt lays it out, fits the label (issue 29, item 15)."""

from __future__ import annotations

from layout_check import text_overflow
from test_seed001_view import HEATMAP, LIFTER, synth  # noqa: F401 (its small synthetic set and demo models)


def test_at_1440x900_title_metrics_and_footer_are_shown_whole(qtbot, window, synth):
    from app.model.catalog import path_key

    assert (window.width(), window.height()) == (1440, 900)  # the default size
    ws = window.workspace
    ws.open_paths([str(synth), str(LIFTER), str(HEATMAP)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and len(ws.catalog.checkpoints) == 2, timeout=60_000)
    ws.set_active_checkpoint(path_key(LIFTER))
    ws.set_lift_source(path_key(HEATMAP))  # the longest line: 3D errors and the predicted 2D's EPE and PCK
    ws.select(len(ws.catalog.dataset) - 1)
    qtbot.waitUntil(lambda: ws.feed.sample is not None and ws.feed.sample.index == ws.feed.selection
                    and ws.feed.sample.pred_3d is not None and ws.feed.sample.metrics_2d
                    and "median" in window.browser_view.footer.text(), timeout=60_000)
    qtbot.wait(100)  # the layout settles
    view = window.image_view
    assert "frame" in view.title.text() and "PCK" in view.metrics.text() and "PA-MPJPE" in view.metrics.text()
    labels = (view.title, view.metrics, window.browser_view.footer)
    assert all(label.isVisible() for label in labels)
    assert [text_overflow(label) for label in labels if text_overflow(label)] == []
