"""``hpe-studio --self-test`` from the source tree: the real program, in its own process, on Xvfb.

It opens the demo, renders every view once, writes a screenshot and exits 0; with no demo in
the installation it exits 1 and names the step that failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("window", "demo", "3D view", "embeddings", "kernels", "compare", "training panel", "heatmaps and lifting",
         "screenshot")


def self_test(tmp_path: Path, cache: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "HPE_STUDIO_CONFIG_DIR": str(tmp_path / "config"),
               "HPE_STUDIO_CACHE": str(cache), "QT_QPA_PLATFORM": "xcb",
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **env}
    # --timeout: each wait's guard; the first run makes the demo set (over 60 s on a busy CI machine)
    return subprocess.run([sys.executable, "-m", "app", "--self-test", "--size", "1200x800", "--timeout", "450",
                           *args], cwd=tmp_path,
                          env=environ, capture_output=True, text=True, timeout=540)


def test_self_test_renders_every_view_and_exits_0(tmp_path, demo_cache):
    shot = tmp_path / "out" / "shot.png"
    result = self_test(tmp_path, demo_cache, "--screenshot", str(shot))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for step in STEPS:
        assert any(line.startswith(f"self-test: {step} ok") for line in lines), (step, result.stdout)
    assert lines[-1].startswith("self-test: passed")
    image = QImage(str(shot))
    assert image.width() == 1200 and image.height() >= 800  # the training dock may make the window taller
    for view in ("3d", "embeddings", "kernels", "compare", "training", "heatmaps"):
        part = QImage(str(tmp_path / "out" / f"shot-{view}.png"))
        assert not part.isNull() and part.width() > 100, view
        colours = {part.pixel(x, y) for x in range(0, part.width(), 13) for y in range(0, part.height(), 11)}
        assert len(colours) > 8, view  # drawn, not blank


def test_self_test_without_the_demo_names_the_failing_step_and_exits_1(tmp_path):
    empty = tmp_path / "no-resources"
    empty.mkdir()
    result = self_test(tmp_path, tmp_path / "cache", HPE_STUDIO_RESOURCES=str(empty))
    assert result.returncode == 1
    assert "self-test: FAILED at demo: the demo checkpoints are missing" in result.stderr
    assert "Traceback" not in result.stderr
