"""Real files and small helpers for the analysis views' tests: a synthetic multi-view dataset
(actions, subjects, cameras), SimCLR / SimSiam encoders (ResNet18 width 8) and a 2-layer
regressor on each, made once per test session in a temporary folder."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

POSES, CAMERAS, SIZE = 16, 3, 64
_FILES: dict[str, SimpleNamespace] = {}


def make_analysis_files(root: Path) -> SimpleNamespace:
    import torch

    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.models import build_model, regressor_from, save_checkpoint
    from hpe_core.progress import NullProgress

    root.mkdir(parents=True, exist_ok=True)
    dataset = Path(synthesize(SynthSpec(root / "synth", poses=POSES, cameras=CAMERAS, size=SIZE, seed=0,
                                        subjects=3), NullProgress()))
    torch.manual_seed(0)
    simclr = build_model("simclr", "resnet18", width=8)
    torch.manual_seed(1)
    simsiam = build_model("simsiam", "resnet18", width=8)
    paths = {"dataset": dataset, "root": root, "cache": root / "cache"}
    for name, model in (("simclr", simclr), ("simsiam", simsiam)):
        paths[name] = save_checkpoint(root / f"{name}.pt", model)
        torch.manual_seed(2)
        reg = regressor_from(model, head_layers=2, pose_scale=100.0)
        paths[f"{name}_regress"] = save_checkpoint(root / f"{name}_regress2.pt", reg)
    paths["unlabelled"] = unlabelled_copy(dataset, root / "unlabelled")
    return SimpleNamespace(**paths)


def unlabelled_copy(src: Path, dst: Path) -> Path:
    """A copy of a native dataset without its action and subject labels."""
    from hpe_core.datasets.fileio import save_npz_stored

    shutil.copytree(src, dst)
    with np.load(dst / "annotations.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k not in ("action", "subject")}
    save_npz_stored(dst / "annotations.npz", arrays)
    doc = json.loads((dst / "dataset.json").read_text())
    doc.pop("action_names", None)
    doc.pop("subject_names", None)
    (dst / "dataset.json").write_text(json.dumps(doc))
    return dst


@pytest.fixture
def afiles(tmp_path_factory, monkeypatch):
    """The session's analysis files (made on first use); features are cached next to them."""
    if "files" not in _FILES:
        _FILES["files"] = make_analysis_files(tmp_path_factory.mktemp("analysis"))
    files = _FILES["files"]
    monkeypatch.setenv("HPE_STUDIO_CACHE", str(files.cache))
    return files


@contextmanager
def view_of_new_workspace(qtbot, view_class, size: tuple[int, int] = (1100, 650)):
    """A new workspace and a ``view_class`` of it, shown at ``size``; ``(workspace, view)``. The view
    shuts down and the workspace closes after."""
    from app.workspace import Workspace

    ws = Workspace()
    view = view_class(ws)
    view.resize(*size)
    shown(view, qtbot)
    yield ws, view
    view.shutdown()
    ws.close()


@pytest.fixture
def explorer(qtbot, afiles):
    """``(workspace, embedding explorer)`` over the analysis files' cache."""
    from app.views.embedding_view import EmbeddingView

    with view_of_new_workspace(qtbot, EmbeddingView) as pair:
        yield pair


def open_files(qtbot, ws, *paths, timeout: int = 30_000) -> None:
    """Open datasets / checkpoints in the workspace and wait until every job is over."""
    ws.open_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: not ws.tasks.tasks and len(ws.catalog.checkpoints) >= sum(
        1 for p in paths if str(p).endswith(".pt")), timeout=timeout)


def wait_done(qtbot, runner, timeout: int = 60_000) -> None:
    """Wait until a view's runner has no job left."""
    qtbot.waitUntil(lambda: not runner.running(), timeout=timeout)


def run_cli(args: list[str], capsys) -> dict:
    """``hpe ARGS --json`` in this process; the parsed JSON document."""
    from hpe_core.cli import main

    capsys.readouterr()
    code = main([*args, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def shown(widget, qtbot) -> None:
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)


def blank(image: np.ndarray, tolerance: int = 3) -> bool:
    """True when every pixel of an (H, W, C) image has (nearly) the same colour."""
    flat = image.reshape(-1, image.shape[-1]).astype(int)
    return bool((np.abs(flat - flat[0]).max(axis=1) <= tolerance).all())



def grab_array(widget) -> np.ndarray:
    """(H, W, 3) uint8 screenshot of a widget."""
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, :3 * image.width()].reshape(image.height(), image.width(), 3).copy()
