"""Run by test_layout.py in its own X server (``xvfb-run -s "-screen 0 1280x720x24"``): the main
window with a dataset and a checkpoint open, each analysis view and the training panel shown in
turn; prints one JSON line per view with the window's size, what lies outside the screen and what
is clipped below its minimum size."""

from __future__ import annotations

import json
import os
import sys
import time

os.environ["QT_QPA_PLATFORM"] = "xcb"
os.environ.setdefault("HPE_STUDIO_TESTING", "1")
sys.path.insert(0, os.path.dirname(__file__))


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main(dataset: str, checkpoint: str, settings_dir: str) -> int:
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import Settings
    from layout_check import clipped, outside_screen, visible_tab_bars

    app = QApplication([])
    window = MainWindow(settings=Settings(settings_dir))
    window.show()
    window.workspace.open_paths([dataset, checkpoint])
    end = time.monotonic() + 120
    while time.monotonic() < end and not (window.workspace.catalog.checkpoint and window.workspace.catalog.dataset):
        settle(app, 0.1)
    settle(app, 1.0)
    screen = window.screen().availableGeometry()
    print(json.dumps({"view": "start", "screen": [screen.width(), screen.height()],
                      "window": [window.frameGeometry().width(), window.frameGeometry().height()],
                      "outside": outside_screen(window), "clipped": clipped(window),
                      "tab_bars": visible_tab_bars(window)}), flush=True)
    for name in ("embedding", "kernel", "compare", "training"):
        if name == "training":
            window.show_training()
        else:
            window.actions_[f"show_{name}"].trigger()
        settle(app, 1.5)
        row = {"view": name, "window": [window.frameGeometry().width(), window.frameGeometry().height()],
               "outside": outside_screen(window), "clipped": clipped(window), "tab_bars": visible_tab_bars(window)}
        window.actions_["maximise"].trigger()
        settle(app, 0.5)
        row["maximised"] = window.dock_layout.maximised is not None and window.dock_layout.maximised.objectName()
        row["maximised_outside"] = outside_screen(window)
        row["maximised_clipped"] = clipped(window)
        window.actions_["maximise"].trigger()
        settle(app, 0.5)
        print(json.dumps(row), flush=True)
    window.close()
    settle(app, 0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
