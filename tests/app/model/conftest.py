"""``tests/app/model`` tests the Qt-free GUI state: no QApplication, no display, no Xvfb.

The GUI tests' autouse fixtures (``tests/app/conftest.py``) need a ``qtbot``; these overrides
of the same names replace them here, so nothing in this folder starts Qt.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _dangling_qthreads():
    yield


@pytest.fixture(autouse=True)
def _patient_waits():
    yield
