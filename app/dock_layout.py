"""Room for the views: a maximise toggle on every dock, View ▸ Reset Layout, scroll areas that keep a
view at its minimum size instead of growing the window, and a window that never leaves the screen.

- :class:`DockTitleBar` replaces a dock's title bar: its title, then maximise, float and close
  buttons (double-clicking the title maximises too). Maximising hides the central area and every
  other dock, so the panel gets the whole window; the same button (or View ▸ Maximise Panel)
  brings the layout back exactly as it was (``QMainWindow.saveState``).
- :func:`scrolled` wraps a view in a :class:`QScrollArea`: a dock then asks the window for no more
  than a small minimum, and a view narrower than its minimum scrolls instead of being clipped.
- :func:`fit_to_screen` shrinks and moves a top-level window (the main window, a floating dock)
  into its screen's available geometry.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import (QDockWidget, QFrame, QHBoxLayout, QLabel, QMainWindow, QScrollArea, QSizePolicy,
                               QStyle, QTabBar, QToolButton, QWidget)

MAXIMISE_TIP = "Maximise this panel (the rest of the window hides; click again to restore)"
RESTORE_TIP = "Restore the layout"


class _Holder(QWidget):
    """Holds a view in a scroll area at the viewport's size, never below the view's minimum.

    A view whose layout has a word-wrapped label has a height-for-width, which QScrollArea
    honours by making the view as tall as its preferred height for the width (2000 px and more:
    the panel scrolls instead of fitting); this holder, without a layout, reports none."""

    def __init__(self, view: QWidget) -> None:
        super().__init__()
        self.view = view
        view.setParent(self)
        view.installEventFilter(self)

    def minimumSizeHint(self):  # noqa: N802 (Qt's name)
        return self.view.minimumSizeHint().expandedTo(self.view.minimumSize())

    def sizeHint(self):  # noqa: N802 (Qt's name)
        return self.minimumSizeHint()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.view.setGeometry(self.rect())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        from PySide6.QtCore import QEvent

        if watched is self.view and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # its minimum may have changed: the scroll area asks again
        return False


def scrolled(view: QWidget) -> QScrollArea:
    """``view`` in a frameless, resizable scroll area (``area.view`` is the view)."""
    area = QScrollArea()
    area.setObjectName("dockScroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(_Holder(view))
    area.view = view
    return area


def fit_rect(rect: QRect, frame: QRect, available: QRect) -> QRect:
    """The client ``rect`` of a window whose frame is ``frame``, shrunk and moved so the frame lies
    within ``available`` (all in global coordinates)."""
    left, top = rect.left() - frame.left(), rect.top() - frame.top()
    right, bottom = frame.right() - rect.right(), frame.bottom() - rect.bottom()
    width = min(rect.width(), available.width() - left - right)
    height = min(rect.height(), available.height() - top - bottom)
    x = min(max(frame.left(), available.left()), available.right() + 1 - (width + left + right))
    y = min(max(frame.top(), available.top()), available.bottom() + 1 - (height + top + bottom))
    return QRect(x + left, y + top, max(width, 1), max(height, 1))


def fit_to_screen(window: QWidget) -> bool:
    """Shrink / move ``window`` into its screen's available geometry; True if it changed."""
    screen = window.screen()
    if screen is None or window.isMaximized() or window.isFullScreen():
        return False
    available = screen.availableGeometry()
    if available.contains(window.frameGeometry()):
        return False
    rect = fit_rect(window.geometry(), window.frameGeometry(), available)
    if rect == window.geometry():
        return False
    window.setGeometry(rect)
    return True


class DockTitleBar(QWidget):
    """Title, maximise / restore, float and close buttons of ``dock``."""

    maximise_clicked = Signal()

    def __init__(self, dock: QDockWidget) -> None:
        super().__init__(dock)
        self.dock = dock
        style = self.style()
        self.title = QLabel(dock.windowTitle())
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.maximise = self._button(style.standardIcon(QStyle.StandardPixmap.SP_TitleBarMaxButton), MAXIMISE_TIP)
        self.maximise.setCheckable(True)
        self.float_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_TitleBarNormalButton),
                                         "Float this panel in its own window")
        self.close_button = self._button(style.standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton),
                                         "Close this panel (View ▸ Panels shows it again)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 1, 2, 1)
        layout.setSpacing(1)
        layout.addWidget(self.title, 1)
        for b in (self.maximise, self.float_button, self.close_button):
            layout.addWidget(b)
        self.maximise.clicked.connect(lambda _c=False: self.maximise_clicked.emit())
        self.float_button.clicked.connect(lambda: dock.setFloating(not dock.isFloating()))
        self.close_button.clicked.connect(dock.close)
        dock.windowTitleChanged.connect(self.title.setText)

    def _button(self, icon, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(icon)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return b

    def set_maximised(self, on: bool) -> None:
        self.maximise.setChecked(on)
        icon = QStyle.StandardPixmap.SP_TitleBarNormalButton if on else QStyle.StandardPixmap.SP_TitleBarMaxButton
        self.maximise.setIcon(self.style().standardIcon(icon))
        self.maximise.setToolTip(RESTORE_TIP if on else MAXIMISE_TIP)
        self.float_button.setEnabled(not on)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.maximise_clicked.emit()
        event.accept()


def hide_stale_tab_bars(window: QMainWindow) -> int:
    """Hide the tab bars Qt left behind; how many were hidden.

    Qt 6.11 keeps a tab bar it made while docks were tabified before the window was first shown:
    a group of four tabified docks also leaves the bar of its first two, shown at a place no
    layout updates again, over another panel. The live bar of a group lists all of its docks; a
    visible bar whose titles are a strict subset of another visible bar's is that leftover."""
    bars = [b for b in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if b.isVisible()]
    titles = {b: {b.tabText(i) for i in range(b.count())} for b in bars}
    stale = [b for b in bars if any(titles[b] < titles[other] for other in bars if other is not b)]
    for bar in stale:
        bar.hide()
    return len(stale)


class DockLayout:
    """The main window's docks: maximise / restore, reset to the default layout, stay on screen."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.docks: list[QDockWidget] = []
        self.maximised: QDockWidget | None = None
        self.last_shown: QDockWidget | None = None  # the panel the user opened last
        self._saved_state = None
        self._default_state = None
        self._fit_later = QTimer(window, singleShot=True, interval=0)
        self._fit_later.timeout.connect(self.fit)

    def add(self, dock: QDockWidget) -> None:
        bar = DockTitleBar(dock)
        dock.setTitleBarWidget(bar)
        dock.title_bar = bar
        bar.maximise_clicked.connect(lambda d=dock: self.toggle_maximised(d))
        dock.visibilityChanged.connect(lambda visible, d=dock: self._on_visibility_changed(d, visible))
        dock.topLevelChanged.connect(lambda _f, d=dock: QTimer.singleShot(0, lambda: self._fit_floating(d)))
        self.docks.append(dock)

    @staticmethod
    def _fit_floating(dock: QDockWidget) -> None:
        if dock.isFloating():
            fit_to_screen(dock)

    def _on_visibility_changed(self, dock: QDockWidget, visible: bool) -> None:
        if visible:
            self.last_shown = dock
        self._fit_later.start()

    def remember_default(self) -> None:
        """Call once the docks are placed: what View ▸ Reset Layout goes back to."""
        self._default_state = self.window.saveState()

    def toggle_maximised(self, dock: QDockWidget) -> None:
        was = self.maximised
        if was is not None:
            self.restore()
            if was is dock:
                return
        self.maximise(dock)

    def maximise(self, dock: QDockWidget) -> None:
        """``dock`` alone in the window (central area and other docks hidden)."""
        if self.maximised is not None:
            self.restore()
        w = self.window
        self._saved_state = w.saveState()
        if dock.isFloating():
            dock.setFloating(False)
        dock.show()
        for other in self.docks:
            if other is not dock and not other.isHidden():
                other.hide()
        w.centralWidget().hide()
        dock.raise_()
        self.maximised = dock
        dock.title_bar.set_maximised(True)
        QTimer.singleShot(0, self._fill)

    def _fill(self) -> None:
        """The maximised dock takes the whole window (its area would otherwise keep its width)."""
        dock, w = self.maximised, self.window
        if dock is None:
            return
        w.resizeDocks([dock], [w.width()], Qt.Orientation.Horizontal)
        w.resizeDocks([dock], [w.height()], Qt.Orientation.Vertical)

    def restore(self) -> None:
        """The layout as it was before :meth:`maximise`."""
        if self.maximised is None:
            return
        dock, self.maximised = self.maximised, None
        dock.title_bar.set_maximised(False)
        self.window.centralWidget().show()
        if self._saved_state is not None:
            self.window.restoreState(self._saved_state)
        self._saved_state = None
        dock.show()
        dock.raise_()

    def state_to_save(self):
        """The window state as the user arranged it (not the maximised one)."""
        return self._saved_state if self.maximised is not None else self.window.saveState()

    def reset(self) -> None:
        """Every dock where it starts (View ▸ Reset Layout)."""
        if self.maximised is not None:
            self.restore()
        for dock in self.docks:
            dock.setFloating(False)
        if self._default_state is not None:
            self.window.restoreState(self._default_state)
        self.fit()

    def fit(self) -> None:
        hide_stale_tab_bars(self.window)
        fit_to_screen(self.window)
        for dock in self.docks:
            if dock.isFloating() and dock.isVisible():
                fit_to_screen(dock)
