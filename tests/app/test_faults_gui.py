"""The GUI's writers under faults (issue 30): a full disk (``RLIMIT_FSIZE`` in this process for
the write, ``SIGXFSZ`` ignored) and a read-only folder (as root, ``CAP_DAC_OVERRIDE`` left out of
this thread's effective capabilities for the write) give one message naming the file and the
cause, no traceback, no half file, the previous file whole; a workspace file listing a missing
dataset and a missing checkpoint names both in one message."""

from __future__ import annotations

import ctypes
import hashlib
import os
import resource
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from analysis_helpers import shown

from app.export import Figure, ReportSection, write_report
from app.export.dialog import ExportDialog
from app.model.workspace_file import WorkspaceState, save_workspace_file
from app.visuals.scatter_plot import ScatterPlot


@contextmanager
def full_disk(limit: int):
    """Writes of this process past ``limit`` bytes fail with EFBIG, as on a full disk."""
    old, handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield "file too large"
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, handler)


def _effective_dac_override(on: bool) -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0
    data[0].effective = (data[0].effective | 2) if on else (data[0].effective & ~2)  # bit 1: CAP_DAC_OVERRIDE
    assert libc.capset(ctypes.byref(header), data) == 0


@contextmanager
def read_only(folder):
    """``folder`` without write permission, for this thread even as root."""
    folder.chmod(0o555)
    root = os.geteuid() == 0
    if root:
        _effective_dac_override(False)
    try:
        yield "permission denied"
    finally:
        if root:
            _effective_dac_override(True)
        folder.chmod(0o755)


def digest(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def scatter(qtbot):
    plot = ScatterPlot(title="PCA")
    plot.resize(320, 240)
    shown(plot, qtbot)
    xy = np.random.default_rng(0).normal(size=(200, 2))
    plot.set_data(xy, np.arange(200))
    return Figure("embedding", "PCA", plot, {})


@pytest.mark.parametrize("fault", [lambda folder: full_disk(1024), read_only])
def test_export_dialog_says_why_and_keeps_the_previous_file(qtbot, scatter, tmp_path, fault):
    folder = tmp_path / "out"
    folder.mkdir()
    dialog = ExportDialog([scatter], folder=folder)
    qtbot.addWidget(dialog)
    dialog.accept()
    before = digest(folder)
    assert list(before) == ["embedding.png"]
    with fault(folder) as cause:
        dialog.accept()
    text = dialog.error.text()
    assert str(folder / "embedding.png") in text and cause in text and "Traceback" not in text
    assert digest(folder) == before


def test_report_export_on_a_full_disk_is_one_error(qtbot, scatter, tmp_path):
    with full_disk(4096), pytest.raises(ValueError) as info:  # an InputError: the export menu says it
        write_report(tmp_path / "report.html", [ReportSection("PCA", [scatter])])
    assert str(info.value).startswith(f"{tmp_path / 'report.html'}: cannot write (file too large")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fault", [lambda folder: full_disk(64), read_only])
def test_saving_the_workspace_says_why_and_keeps_the_previous_file(qtbot, window, tmp_path, fault):
    ws = window.workspace
    folder = tmp_path / "ws"
    folder.mkdir()
    path = ws.save_workspace(folder / "session.hpews")
    before = digest(folder)
    got = []
    ws.message.connect(lambda level, text: got.append((level, text)))
    with fault(folder) as cause:
        assert ws.save_workspace(path) is None
    assert got == [("error", f"Could not save {path}: cannot write ({got[0][1].split('(', 1)[1]}")]
    assert cause in got[0][1] and digest(folder) == before


def test_a_workspace_naming_missing_files_names_them_all_at_once(qtbot, window, files, tmp_path):
    ws = window.workspace
    missing_data, missing_ckpt = tmp_path / "gone_dataset", tmp_path / "gone.pt"
    path = save_workspace_file(tmp_path / "w.hpews", WorkspaceState(
        datasets=[{"path": str(files.dataset)}, {"path": str(missing_data)}],
        checkpoints=[str(missing_ckpt)]))
    got = []
    ws.message.connect(lambda level, text: got.append((level, text)))
    with qtbot.waitSignal(ws.workspace_loaded, timeout=30_000):
        ws.open_workspace(path)
    errors = [text for level, text in got if level == "error"]
    assert len(errors) == 1 and str(missing_data) in errors[0] and str(missing_ckpt) in errors[0], got
    assert ws.catalog.dataset is not None  # what could be opened was
