"""The dark theme: an unchecked check box is as visible as a checked one (Part maps, Cameras,
Join lines...)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QCheckBox, QStyle, QStyleOptionButton

from analysis_helpers import grab_array


@pytest.fixture
def dark(qapp):
    """The application in the product's style; the previous style, palette and sheet after."""
    from app.style import apply_style

    saved = (qapp.style().name(), qapp.palette(), qapp.styleSheet())
    apply_style(qapp)
    yield qapp
    qapp.setStyleSheet(saved[2])
    qapp.setStyle(saved[0])
    qapp.setPalette(saved[1])


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB colours (..., 3) in 0..255."""
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def test_an_unchecked_check_box_stands_out_from_the_dark_window(qtbot, dark):
    box = QCheckBox("Part maps")
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    option = QStyleOptionButton()
    box.initStyleOption(option)
    rect = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    pixels = grab_array(box)[..., :3].astype(np.float64)
    scale = pixels.shape[1] / box.width()  # device pixels per widget pixel
    x0, y0 = int(rect.left() * scale), int(rect.top() * scale)
    x1, y1 = int((rect.right() + 1) * scale), int((rect.bottom() + 1) * scale)
    ring = np.concatenate([pixels[y0:y1, x0], pixels[y0:y1, x1 - 1], pixels[y0, x0:x1], pixels[y1 - 1, x0:x1]])
    window = luminance(box.palette().window().color().getRgb()[:3])
    edge = luminance(ring).max()
    # the indicator's edge against the window: WCAG 2.1's 3:1 for user-interface components
    contrast = (max(edge, window) + 0.05) / (min(edge, window) + 0.05)
    assert contrast >= 3.0, contrast
