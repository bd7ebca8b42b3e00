"""The main window: composes the views. (The full shell arrives with the GUI issue.)"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow

from hpe_core import __version__


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(f"HPE Studio {__version__}")
        self.resize(1280, 800)
        label = QLabel("HPE Studio — open a dataset or checkpoint with the hpe command for now.")
        label.setMargin(24)
        self.setCentralWidget(label)
        self.statusBar().showMessage("Ready")
