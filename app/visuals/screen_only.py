"""Graphics items drawn for the pointer (a hover ring, a selection, the picked filter), which an
exported figure leaves out: a visual marks them with :func:`screen_only`; the export hides them
while it draws (:func:`app.export.figures.laid_out`)."""

from __future__ import annotations

from PySide6.QtWidgets import QGraphicsItem

SCREEN_ONLY_KEY = 0x4850  # the QGraphicsItem.data key of the mark


def screen_only(*items) -> None:
    """Mark graphics items to leave out of every exported figure."""
    for item in items:
        QGraphicsItem.setData(item, SCREEN_ONLY_KEY, True)  # pyqtgraph items shadow setData


def is_screen_only(item) -> bool:
    return bool(QGraphicsItem.data(item, SCREEN_ONLY_KEY))
