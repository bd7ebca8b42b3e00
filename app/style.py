"""The look: Fusion with a dark palette and a few stylesheet touches."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

#: the edge of a check box's indicator: Fusion draws it in the window colour darkened, which on a
#: dark window is invisible while unchecked; this grey has a contrast of 4.6 : 1 against it
INDICATOR_EDGE = "#8a8f9c"

STYLESHEET = """
QMainWindow::separator { background: #2a2d35; width: 3px; height: 3px; }
QDockWidget::title { background: #262930; padding: 5px 8px; font-weight: 600; }
QToolBar { spacing: 6px; padding: 3px; border: none; background: #23262d; }
QLabel#imageTitle { font-size: 14px; font-weight: 600; color: #e6e8ee; padding: 2px 4px; }
QLabel#imageMetrics { color: #c9ccd4; padding: 2px 4px; }
QLabel#browserFooter { color: #9aa0ad; }
QListView { background: #1c1e24; border: 1px solid #2c2f38; }
QStatusBar { background: #23262d; color: #b8bcc6; }
QProgressBar { border: 1px solid #3a3e49; border-radius: 3px; background: #1c1e24; height: 10px; }
QProgressBar::chunk { background: #4c8bf5; border-radius: 2px; }
"""


def dark_palette() -> QPalette:
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#23262d", QPalette.ColorRole.WindowText: "#e6e8ee",
        QPalette.ColorRole.Base: "#1c1e24", QPalette.ColorRole.AlternateBase: "#262930",
        QPalette.ColorRole.ToolTipBase: "#2e323b", QPalette.ColorRole.ToolTipText: "#e6e8ee",
        QPalette.ColorRole.Text: "#e6e8ee", QPalette.ColorRole.Button: "#2c2f38",
        QPalette.ColorRole.ButtonText: "#e6e8ee", QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#3d6fd1", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#7aa7ff", QPalette.ColorRole.PlaceholderText: "#8a8f9c",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c717d"))
    return p


class DarkStyle(QProxyStyle):
    """Fusion, with check box indicators (in views too) edged so they show when unchecked."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: N802 (Qt's name)
        super().drawPrimitive(element, option, painter, widget)
        if element in (QStyle.PrimitiveElement.PE_IndicatorCheckBox,
                       QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck):
            painter.save()
            painter.setPen(QPen(QColor(INDICATOR_EDGE), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
            painter.restore()


def apply_style(app: QApplication) -> None:
    app.setStyle(DarkStyle("Fusion"))
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)
