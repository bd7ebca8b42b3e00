"""The start timeline of ``hpe-studio`` on the demo (issue 29, item 12), for ``gui_bench.py``.

Run as a child process (``python bench/start_timeline.py LIMIT_S [CHECKPOINT]``) with ``HPE_STUDIO_CACHE`` and
``HPE_STUDIO_CONFIG_DIR`` set by the parent: an empty cache is a first start (the demo dataset is
made, nothing predicted); the same folders again are a restart (the last workspace and the stored
predictions). It starts the window as ``python -m app`` does (:func:`app.__main__.show_and_start`)
and prints one line per event, in seconds since the process started:

    event painted 1.92        the main window's first paint
    event thumbnails 4.10     every thumbnail in the browser's viewport drawn
    event predicted 9.80      the first prediction of CHECKPOINT (default: the preferred demo checkpoint)
    event all 61.2            every sample of the dataset predicted by it
    active simclr_regress2.pt,...   the active checkpoints in the order they were set (one: no flip)
"""

from __future__ import annotations

import os
import sys
import time

T0 = time.time()  # before Qt, torch and the app are imported: the launch

from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")


def visible_rows(browser) -> list[int]:
    """The dataset rows the browser shows, from its first visible row on (not a walk over every row:
    the poll must not load the GUI thread it measures)."""
    from PySide6.QtCore import QPoint

    view, model = browser.list, browser.model
    area = view.viewport().rect()
    first = view.indexAt(area.topLeft() + QPoint(2, 2))
    rows = []
    for r in range(max(first.row(), 0), model.rowCount()):
        rect = view.visualRect(model.index(r))
        if rect.top() > area.bottom():
            break
        if rect.intersects(area):
            rows.append(int(model.rows[r]))
    return rows


class Timeline:
    """Polls the window every 20 ms and prints each event the first time it holds."""

    def __init__(self, app, window, limit_s: float, checkpoint: str) -> None:
        from PySide6.QtCore import QEvent, QObject, QTimer

        self.app, self.window, self.limit, self.checkpoint = app, window, limit_s, checkpoint
        self.seen: dict[str, float] = {}
        self.active: list[str] = []
        window.workspace.catalog.active_checkpoint_changed.connect(
            lambda loaded: self.active.append(Path(str(loaded.path)).name if loaded is not None else "none"))
        timeline = self

        class Painted(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
                if event.type() == QEvent.Type.Paint:
                    timeline.mark("painted")
                return False

        self._filter = Painted(window)
        window.installEventFilter(self._filter)
        self.timer = QTimer(window, interval=20)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def mark(self, name: str) -> None:
        if name not in self.seen:
            self.seen[name] = time.time() - T0
            print(f"event {name} {self.seen[name]:.2f}", flush=True)

    def poll(self) -> None:
        ws, browser = self.window.workspace, self.window.browser_view
        loader = browser.model.loader
        rows = visible_rows(browser) if loader is not None and "thumbnails" not in self.seen else []
        if rows and all(i in loader.cache or i in loader.failed for i in rows):
            self.mark("thumbnails")
        store, ds, active = ws.predictions(), ws.catalog.dataset, ws.catalog.checkpoint
        if active is None or Path(str(active.path)).name != self.checkpoint:
            store = None  # another checkpoint's predictions are not the ones the user waits for
        if store is not None and store.count > 0:
            self.mark("predicted")
            if ds is not None and store.count >= len(ds):
                self.mark("all")
        if "all" in self.seen or time.time() - T0 > self.limit:
            self.timer.stop()
            print(f"active {','.join(self.active) or '-'}", flush=True)
            if store is not None and ds is not None:
                print(f"predicted {store.count} of {len(ds)} by {self.checkpoint}", flush=True)
            self.window.close()  # saves the workspace and the predictions, as a user's quit does
            self.app.quit()


def main(limit_s: float, checkpoint: str) -> int:
    from app.__main__ import _application, _start, parse_args, show_and_start
    from app.main_window import MainWindow

    app = _application()
    window = MainWindow()
    window.resize(1440, 900)
    timeline = Timeline(app, window, limit_s, checkpoint)
    show_and_start(app, window, lambda: _start(window, parse_args([])))  # as `hpe-studio` with no argument
    app.exec()
    return 0 if timeline.seen else 1


if __name__ == "__main__":
    from app.demo import DEMO_CHECKPOINTS

    sys.exit(main(float(sys.argv[1]) if len(sys.argv) > 1 else 300.0,
                  sys.argv[2] if len(sys.argv) > 2 else DEMO_CHECKPOINTS[0]))
