"""``hpe-studio [PATH ...]``: start the GUI."""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from hpe_core import __version__

    parser = argparse.ArgumentParser(prog="hpe-studio", description="HPE Studio desktop workbench")
    parser.add_argument("paths", nargs="*", help="datasets, checkpoints, videos or a workspace file to open")
    parser.add_argument("--screenshot", metavar="FILE", help="render the main window to FILE and quit")
    parser.add_argument("--version", action="version", version=f"hpe-studio {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("HPE Studio")
    app.setOrganizationName("HPE Studio")
    window = MainWindow()
    window.show()
    if args.screenshot:
        app.processEvents()
        ok = window.grab().save(args.screenshot)
        return 0 if ok else 1
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
