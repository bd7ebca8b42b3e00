"""``hpe-studio [PATH ...]``: start the GUI.

With no path it reopens the last workspace, or the built-in demo on first start.
``--screenshot FILE`` waits until the first sample and its prediction are shown, saves the
window to FILE and quits. ``--self-test`` opens the demo, renders every view once and exits 0
(or 1 naming what failed; :mod:`app.self_test`). Heavy libraries (torch, sklearn, umap) load later, in workers.
"""

from __future__ import annotations

import argparse
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from hpe_core import __version__

    parser = argparse.ArgumentParser(prog="hpe-studio", description="HPE Studio desktop workbench")
    parser.add_argument("paths", nargs="*", help="datasets, checkpoints, videos or a workspace file to open")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo (the default on first start)")
    parser.add_argument("--fresh", action="store_true", help="do not reopen the last workspace")
    parser.add_argument("--screenshot", metavar="FILE", help="render the main window to FILE and quit")
    parser.add_argument("--self-test", action="store_true",
                        help="open the demo, render every view once, save a screenshot (--screenshot FILE) "
                        "and exit 0, or 1 naming what failed")
    parser.add_argument("--size", default="1440x900", help="window size WxH (default 1440x900)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="with --screenshot: seconds to wait for the first prediction; with --self-test: "
                        "for each step (default 120)")
    parser.add_argument("--quit-after-show", action="store_true",
                        help="print the time the window was first shown and quit (for bench/gui_bench.py)")
    parser.add_argument("--version", action="version", version=f"hpe-studio {__version__}")
    return parser.parse_args(argv)


def _report_shown(app, window) -> int:
    """Print ``shown <epoch seconds> <heavy modules loaded>`` once the window is on screen."""
    while not (window.windowHandle() and window.windowHandle().isExposed()):
        app.processEvents()
    app.processEvents()
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "sklearn", "umap"})
    print(f"shown {time.time():.6f} {','.join(heavy) or '-'}", flush=True)
    window.close()
    return 0


def show_and_start(app, window, start) -> None:
    """Show ``window``, let it paint, then ``start()`` (open files, the workspace or the demo): the
    workers that start then (imports, the demo set, checkpoints) never delay the first paint."""
    window.show()
    while not (window.windowHandle() and window.windowHandle().isExposed()):
        app.processEvents()
    app.processEvents()  # the first paint
    start()


def _application():
    """The QApplication, named and styled, with its main-thread garbage collector."""
    from PySide6.QtWidgets import QApplication

    from app.style import apply_style
    from app.workers.collector import MainThreadCollector

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("HPE Studio")
    app.setOrganizationName("HPE Studio")
    MainThreadCollector(parent=app).start()  # cyclic garbage (Qt objects in it) is freed on this thread only
    apply_style(app)
    return app


def _start(window, args) -> None:
    window.probe_devices()
    if args.demo:
        window.open_demo()
    else:
        window.start(args.paths, restore_last=not (args.fresh or args.screenshot))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.self_test:
        from app.self_test import prepare_environment

        prepare_environment()
    app = _application()
    from app.main_window import MainWindow

    window = MainWindow()
    w, _, h = args.size.partition("x")
    window.resize(int(w), int(h))
    if args.quit_after_show:
        window.show()
        return _report_shown(app, window)
    window.install_excepthook()
    if args.self_test:
        from app import self_test

        window.show()
        window.probe_devices()
        return self_test.run(app, window, args.screenshot, args.timeout)
    show_and_start(app, window, lambda: _start(window, args))
    if args.screenshot:
        from app.self_test import wait_until_settled

        wait_until_settled(app, window, args.timeout)
        ok = window.grab().save(args.screenshot)
        window.close()
        return 0 if ok else 1
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
