"""Regenerate the README's screenshots on the built-in demo (1600 x 1000 window):

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 docs/make_screenshots.py [OUT_FOLDER]

docs/screenshot.png (browser, image and 3D view), docs/explorer.png (the embedding explorer with
the silhouettes of the dataset's labels and the scan over k, maximised), docs/figure-3d.png (a 3D
figure as Export Figure… writes it). Each is saved as an optimised palette PNG. Compare's screenshots are
made by make_compare_screenshots.py.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")


def spin(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait(app, condition, what: str, timeout: float = 900.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def save_small(image, path: Path) -> None:
    """A QImage as an optimised PNG (an adaptive 256-colour palette: UI pictures stay sharp)."""
    from io import BytesIO

    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    pil = Image.open(BytesIO(bytes(buf.data()))).convert("RGB")
    pil.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"screenshots: {path} ({path.stat().st_size / 1024:.0f} KiB)", flush=True)


def open_window():
    """(the QApplication, a shown 1600 x 1000 main window with private settings)."""
    import tempfile

    from PySide6.QtWidgets import QApplication

    os.environ["HPE_STUDIO_CONFIG_DIR"] = tempfile.mkdtemp(prefix="hpe-shots-")
    from app.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    return app, window


def main(out: Path) -> int:
    app, window = open_window()
    from app.export import export_figure
    from app.export.menu import show_analysis

    window.open_demo()
    ws = window.workspace
    wait(app, lambda: ws.catalog.checkpoint is not None and ws.feed.sample is not None
         and ws.feed.sample.pred_3d is not None, "the demo's first prediction")
    ws.select(int(ws.browse.rows[min(5, len(ws.browse.rows) - 1)]))
    wait(app, lambda: ws.feed.sample is not None and ws.feed.sample.pred_3d is not None, "the sample's prediction")
    spin(app, 3.0)
    out.mkdir(parents=True, exist_ok=True)
    save_small(window.grab().toImage(), out / "screenshot.png")
    figure = next(f for f in __import__("app.export.menu", fromlist=["x"]).main_figures(window)
                  if f.name == "skeleton_3d")
    export_figure(figure, out / "figure-3d-full.png", 1200, 800, paper=True)
    from PySide6.QtGui import QImage

    save_small(QImage(str(out / "figure-3d-full.png")), out / "figure-3d.png")
    (out / "figure-3d-full.png").unlink()

    keys = {c.path.name: k for k, c in ws.catalog.checkpoints.items()}
    explorer = show_analysis(window, "embedding")
    explorer.checkpoint.select_key(keys["simclr_regress2.pt"])
    explorer.samples.setValue(1500)
    explorer.colour.setCurrentIndex(explorer.colour.findData("action"))
    explorer.run()
    wait(app, lambda: explorer.bundle is not None and explorer.structures, "the explorer and its silhouettes", 1800)
    window.dock_layout.maximise(window.analysis_docks["embedding"])
    spin(app, 2.0)
    save_small(window.grab().toImage(), out / "explorer.png")
    window.dock_layout.restore()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
