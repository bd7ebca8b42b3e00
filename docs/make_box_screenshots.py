"""Regenerate the README's person-box screenshots (1600 x 1000 window), as make_screenshots.py does:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 docs/make_box_screenshots.py [OUT_FOLDER]

A real image of two people (tests/two_people.py: scikit-image's astronaut and cameraman photos side
by side) opened as a COCO keypoints file: docs/person-boxes-1.png and docs/person-boxes-2.png show
each person selected, its box (amber), the square crop a model sees (dashed), the other person's box
(light blue), and the browser's thumbnails, one crop per person. (The demo checkpoints predict panoptic19,
which the GUI cannot map onto COCO's joints yet, so no checkpoint is opened.)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from make_screenshots import open_window, save_small, spin, wait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main(out: Path) -> int:
    from two_people import write_two_people

    app, window = open_window()
    coco = write_two_people(Path(tempfile.mkdtemp(prefix="hpe-two-")) / "two")
    ws = window.workspace
    ws.open_paths([str(coco)])
    out.mkdir(parents=True, exist_ok=True)
    for i in (0, 1):
        ws.select(i)
        wait(app, lambda: ws.feed.sample is not None and ws.feed.sample.index == i, f"person {i + 1}", 300)
        spin(app, 2.0)
        save_small(window.grab().toImage(), out / f"person-boxes-{i + 1}.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
