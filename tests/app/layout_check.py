"""Checks of a window's layout used by test_layout.py, in-process and in a 1280x720 X server.

``clipped(window)``: every visible widget a layout manages that is smaller than its minimum size
(its ``minimumSize`` when set, else its ``minimumSizeHint``); ``Ignored`` size policies, which
ask for no minimum, are skipped.
"""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QWidget

IGNORED = QSizePolicy.Policy.Ignored


def minimum(w: QWidget) -> tuple[int, int]:
    hint, set_ = w.minimumSizeHint(), w.minimumSize()
    width = set_.width() if set_.width() > 0 else max(hint.width(), 0)
    height = set_.height() if set_.height() > 0 else max(hint.height(), 0)
    policy = w.sizePolicy()
    return (0 if policy.horizontalPolicy() == IGNORED else width,
            0 if policy.verticalPolicy() == IGNORED else height)


def managed(w: QWidget) -> bool:
    parent = w.parentWidget()
    layout = parent.layout() if parent is not None else None
    if layout is not None and layout.indexOf(w) >= 0:
        return True
    from PySide6.QtWidgets import QSplitter

    return isinstance(parent, QSplitter)


def clipped(window: QWidget) -> list[str]:
    out = []
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.visibleRegion().isEmpty() or not managed(w):
            continue
        mw, mh = minimum(w)
        if w.width() + 1 < mw or w.height() + 1 < mh:
            name = w.objectName() or type(w).__name__
            parent = w.parentWidget()
            out.append(f"{name} in {parent.objectName() or type(parent).__name__}: "
                       f"{w.width()}x{w.height()} < minimum {mw}x{mh}")
    return out


def outside_screen(window: QWidget) -> str:
    """'' when the window's frame lies within its screen's available geometry, else why not."""
    available, frame = window.screen().availableGeometry(), window.frameGeometry()
    if available.contains(frame):
        return ""
    return (f"frame {frame.width()}x{frame.height()}+{frame.x()}+{frame.y()} outside the available "
            f"{available.width()}x{available.height()}+{available.x()}+{available.y()}")


def visible_tab_bars(window: QWidget) -> list[list[str]]:
    """The tab titles of each tab bar shown in the main window (one per group of tabbed docks)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTabBar

    return [[b.tabText(i) for i in range(b.count())]
            for b in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly) if b.isVisible()]


def text_overflow(label) -> str:
    """'' when a QLabel's whole text fits its contents rect as Qt lays it out (its font's metrics,
    word-wrapped when the label wraps, rich text as rich text), else by how much it does not."""
    from PySide6.QtGui import Qt, QTextDocument, QTextOption  # QtGui's Qt has mightBeRichText

    doc = QTextDocument()
    doc.setDefaultFont(label.font())
    doc.setDocumentMargin(0)
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and Qt.mightBeRichText(label.text()))
    doc.setHtml(label.text()) if rich else doc.setPlainText(label.text())
    rect = label.contentsRect()
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap if label.wordWrap() else QTextOption.WrapMode.NoWrap)
    doc.setDefaultTextOption(option)
    if label.wordWrap():
        doc.setTextWidth(rect.width())
    width, height = doc.idealWidth(), doc.size().height()
    if width <= rect.width() + 1 and height <= rect.height() + 1:
        return ""
    name = label.objectName() or type(label).__name__
    return f"{name}: text {width:.0f}x{height:.0f} px in {rect.width()}x{rect.height()}: {label.text()!r}"
