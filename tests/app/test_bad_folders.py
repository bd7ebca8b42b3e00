"""Bad folders (issue 14, item 8): unreadable files are named and not listed as samples, the
notice belongs to its dataset, and several bad paths make one message naming each."""

from __future__ import annotations

import cv2
import numpy as np

from app.model import messages


def _folder(root, good: int, bad: dict[str, bytes]):
    root.mkdir(parents=True)
    data = cv2.imencode(".jpg", np.full((24, 24, 3), 120, np.uint8))[1].tobytes()
    for k in range(good):
        (root / f"good{k}.jpg").write_bytes(data)
    for name, content in bad.items():
        (root / name).write_bytes(content)
    return root


def _wait_open(qtbot, ws, count: int) -> None:
    qtbot.waitUntil(lambda: len(ws.catalog.datasets) == count and not ws.tasks.tasks, timeout=30_000)


def test_a_bad_folder_names_its_unreadable_files_and_lists_only_the_good_ones(qtbot, window, tmp_path, files):
    ws, browser = window.workspace, window.browser_view
    good = cv2.imencode(".jpg", np.full((24, 24, 3), 120, np.uint8))[1].tobytes()
    bad = _folder(tmp_path / "bad", 3, {"broken.jpg": good[:40], "empty.png": b"", "notes.jpg": b"hello " * 40})
    ws.open_paths([str(bad)])
    _wait_open(qtbot, ws, 1)
    ds = ws.catalog.dataset
    assert len(ds) == 3 and browser.model.rowCount() == 3
    assert {ds.sample_name(i) for i in range(3)} == {"good0.jpg", "good1.jpg", "good2.jpg"}
    assert browser.notice.isVisible()
    text = browser.notice.text()
    assert text.startswith("3 files could not be read and are not listed as samples")
    for name, why in (("broken.jpg", "truncated"), ("empty.png", "empty"), ("notes.jpg", "not an image")):
        assert f"{name} ({why}" in text
    assert not [m for m in window.message_bar.history if "broken.jpg" in m[1]]  # not a global banner

    ws.open_paths([str(files.dataset)])  # another dataset: its own notice (none)
    _wait_open(qtbot, ws, 2)
    assert ws.catalog.current_key == str(files.dataset.resolve())
    assert not browser.notice.isVisible() and browser.notice.text() == ""
    ws.set_current_dataset(str(bad.resolve()))  # back: the notice comes back with it
    assert browser.notice.isVisible() and "broken.jpg" in browser.notice.text()


def test_several_bad_paths_make_one_message_listing_each(qtbot, window, tmp_path):
    ws = window.workspace
    only_bad = _folder(tmp_path / "only_bad", 0, {"a.jpg": b"x" * 100, "b.jpg": b""})
    fake_ckpt = tmp_path / "weights.pt"
    fake_ckpt.write_bytes(b"not a checkpoint")
    missing = tmp_path / "nowhere"
    before = len(window.message_bar.history)
    ws.open_paths([str(only_bad), str(fake_ckpt), str(missing)])
    qtbot.waitUntil(lambda: len(window.message_bar.history) > before and not ws.tasks.tasks, timeout=30_000)
    qtbot.wait(200)
    new = window.message_bar.history[before:]
    assert len(new) == 1 and new[0][0] == "error"
    text = new[0][1]
    assert text.startswith(messages.SEVERAL_FAILED.format(count=3, total=3))
    lines = text.split("\n")[1:]
    assert len(lines) == 3 and all(line.startswith("• ") for line in lines)
    assert "only_bad" in lines[0] and "a.jpg" in lines[0] and "b.jpg" in lines[0]
    assert "weights.pt" in text and "nowhere" in text
    assert window.message_bar.label.text().count("•") == 3  # the banner shows every one
    assert ws.catalog.dataset is None
