"""A dismissable banner for errors and notices: never a blocking dialog, never a crash."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

STYLES = {
    "error": "background:#5a1f24; color:#ffd9d9; border:1px solid #a33a44;",
    "warning": "background:#54451a; color:#fff0c2; border:1px solid #a8872b;",
    "info": "background:#1f3b52; color:#d9ecff; border:1px solid #3a6d99;",
}


class MessageBar(QWidget):
    """Shows the latest message; ``history`` keeps all of them (level, text)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: list[tuple[str, str]] = []
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(self.label.textInteractionFlags().TextSelectableByMouse)
        self.close_button = QToolButton(toolTip="Dismiss")
        self.close_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self.close_button.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(self.hide)
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.hide)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.hide()

    def show_message(self, level: str, text: str) -> None:
        self.history.append((level, text))
        first_line = text.split("\n\n")[0]
        self.label.setText(first_line)
        self.label.setToolTip(text)
        self.setStyleSheet(f"MessageBar {{{STYLES.get(level, STYLES['info'])}}} QLabel {{border:none;}}")
        self.show()
        if level == "info":
            self._timer.start(6000)
        else:
            self._timer.stop()
