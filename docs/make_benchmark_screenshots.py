"""Regenerate the README's screenshots of the three benchmark layouts open in the GUI (1600 x 1000
window, the browser and the image view saved):

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 docs/make_benchmark_screenshots.py [OUT_FOLDER]

The layouts are the tests' fixtures in each dataset's own schema (tests/benchmark_layouts.py, images
8 times their size): mmpose's body3d npz with its camera pickle and images (docs/benchmark-mmpose.png),
MPI-INF-3DHP's test set, annot_data.mat and imageSequence/ (docs/benchmark-3dhp.png: its files have
no person boxes, so a detector's are opened with File ▸ Open Person Boxes…, made here from annot2),
and 3DPW's sequenceFiles pickles and imageFiles/ (docs/benchmark-3dpw.png). Their joints are random;
so that each frame shows a person, scikit-image's astronaut photo is pasted into each person box.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from make_screenshots import open_window, save_small, spin, wait

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
ZOOM = 8
ASTRONAUT = (slice(15, 512), slice(20, 365))  # the person in skimage.data.astronaut() (rows, columns)


def paste_people(dataset) -> None:
    """Rewrite each image of ``dataset``: a dark backdrop with the astronaut photo in each row's box
    (the files' boxes, else the 2D joints' box)."""
    import cv2
    import numpy as np
    from skimage import data

    from hpe_core.datasets.boxes import boxes_from_joints

    person = data.astronaut()[ASTRONAUT]
    boxes = dataset.boxes if dataset.has("boxes") else boxes_from_joints(dataset.joints_2d, dataset.visible)
    by_image: dict = {}
    for i in range(len(dataset)):
        by_image.setdefault(dataset.image_path(i), []).append(boxes[i])
    for path, own in by_image.items():
        h, w = dataset.image_hw(0) if path is None else cv2.imread(str(path)).shape[:2]
        canvas = np.full((h, w, 3), (46, 52, 64), np.uint8)
        for x0, y0, x1, y1 in (np.round(b).astype(int) for b in own if np.isfinite(b).all()):
            bw, bh = x1 - x0, y1 - y0
            if bw < 2 or bh < 2:
                continue
            patch = cv2.resize(person, (bw, bh), interpolation=cv2.INTER_AREA)
            cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if cx1 > cx0 and cy1 > cy0:
                canvas[cy0:cy1, cx0:cx1] = patch[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
        cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])


def write_layouts(root: Path) -> dict:
    """The three layouts (images with people) under ``root``: {name: path to open}."""
    from benchmark_layouts import write_3dhp_test, write_mmpose_h36m, write_pw3d

    from hpe_core.datasets import open_dataset

    write_3dhp_test(root / "3dhp", "v5", zoom=ZOOM)
    write_pw3d(root / "3dpw", zoom=ZOOM)
    paths = {"mmpose": write_mmpose_h36m(root / "h36m", zoom=ZOOM)["npz"], "3dhp": root / "3dhp", "3dpw": root / "3dpw"}
    for path in paths.values():
        paste_people(open_dataset(path))
    return paths


def show(app, window, path: Path, name: str, row: int) -> None:
    """Open ``path``, give it boxes when its files have none, select ``row``; wait until it is drawn."""
    from benchmark_layouts import write_detections

    ws = window.workspace
    before = len(ws.catalog.datasets)
    ws.open_paths([str(path)])
    wait(app, lambda: len(ws.catalog.datasets) > before and not ws.tasks.tasks, f"the {name} layout", 120)
    ds = ws.catalog.dataset
    if not ds.has("boxes"):  # File ▸ Open Person Boxes… with a detector's results
        ws.open_boxes(write_detections(ds, path.parent / f"{name}-detections.json"))
        wait(app, lambda: ws.catalog.dataset is not ds and not ws.tasks.tasks, "the detections", 120)
    ws.select(row)
    canvas = window.image_view.canvas
    wait(app, lambda: canvas.sample is not None and canvas.sample.index == row and canvas.sample.image is not None,
         f"sample {row} of {name}", 120)
    spin(app, 2.0)


def main(out: Path) -> int:
    from PySide6.QtCore import QRect

    paths = write_layouts(Path(tempfile.mkdtemp(prefix="hpe-layouts-")))
    app, window = open_window()
    out.mkdir(parents=True, exist_ok=True)
    for name, row in (("mmpose", 2), ("3dhp", 2), ("3dpw", 1)):
        show(app, window, paths[name], name, row)
        central = window.centralWidget().geometry()  # the browser and the image, the docks at right left out
        save_small(window.grab(QRect(0, 0, central.right() + 1, window.height())).toImage(),
                   out / f"benchmark-{name}.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
