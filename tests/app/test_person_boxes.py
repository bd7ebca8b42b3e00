"""Person boxes in the GUI (issue 27): a real image of two people (tests/two_people.py) opened as a
COCO file lists one thumbnail per person (its crop) and the image view draws each person's box,
the crop the model sees, and the other person's box."""

from __future__ import annotations

import numpy as np
from two_people import write_two_people

from analysis_helpers import grab_array
from app.visuals.overlay import BOX_COLOUR


def test_each_person_of_one_image_has_its_thumbnail_box_and_crop(qtbot, window, tmp_path):
    ws, view = window.workspace, window.image_view
    ws.open_paths([str(write_two_people(tmp_path / "two"))])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and ws.feed.sample is not None, timeout=30_000)
    assert len(ws.catalog.dataset) == 2
    loader = window.browser_view.model.loader
    for i in (0, 1):
        loader.request(i)
    qtbot.waitUntil(lambda: all(loader.cache.get(i) is not None for i in (0, 1)), timeout=30_000)
    thumbs = [loader.cache.get(i) for i in (0, 1)]
    assert all(t.width() == t.height() for t in thumbs)  # the square crops, not the 1024 x 512 image
    assert thumbs[0] != thumbs[1]
    for i in (0, 1):
        ws.select(i)
        qtbot.waitUntil(lambda i=i: ws.feed.sample is not None and ws.feed.sample.index == i, timeout=30_000)
        canvas = view.canvas
        pixels = grab_array(canvas).astype(int)  # grab paints
        assert canvas.boxes_drawn == 3  # the other person's box, this one's crop and its box
        sample, rect = canvas.sample, canvas.image_rect()
        np.testing.assert_array_equal(sample.box, ws.catalog.dataset.boxes[i])
        scale = rect.width() / sample.image.shape[1]
        x0, y0, x1, y1 = sample.box
        column = int(round(rect.left() + (x0 + x1) / 2 * scale))  # the box's top edge, halfway along
        top = pixels[int(rect.top() + y0 * scale) - 2:int(rect.top() + y0 * scale) + 3, column]
        amber = np.array([BOX_COLOUR.red(), BOX_COLOUR.green(), BOX_COLOUR.blue()])
        assert (np.abs(top - amber).sum(axis=1) < 60).any(), f"no amber box edge at the top of person {i}"


def test_a_detections_file_crops_the_dataset_as_a_new_entry(qtbot, window, tmp_path):
    import json

    ws = window.workspace
    ws.open_paths([str(write_two_people(tmp_path / "two"))])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None, timeout=30_000)
    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps([{"image_id": 7, "category_id": 1, "bbox": [530, 80, 300, 420], "score": 0.9}]))
    before = set(ws.catalog.datasets)
    ws.open_boxes(str(dets))
    qtbot.waitUntil(lambda: len(ws.catalog.datasets) == len(before) + 1, timeout=30_000)
    boxed = ws.catalog.dataset
    assert "dets.json (1 of 2 rows" in boxed.extra["boxes"]  # the cameraman's; the astronaut has none
    np.testing.assert_array_equal(boxed.boxes[1], [530, 80, 830, 500])
    assert np.isnan(boxed.boxes[0]).all()
