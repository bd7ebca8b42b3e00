"""GUI benchmarks, each against a baseline measured in the same run; prints ratios.

1. launch → window shown: ``hpe-studio`` vs a bare PySide6 ``QMainWindow`` (aim ≤ 2 s, with
   torch / umap / sklearn off the critical path);
2. 3D playback frames/s at 800×600: the 3D view's skeletons, floor and frustums updated every
   frame vs an empty canvas redrawn (aim ≥ 60 under Xvfb's software OpenGL);
3. the browser's repaint while scrolling 100,000 samples vs 1,000 (a virtualised list costs
   the same at any length);
4. the embedding explorer's 100,000-point scatter (first draw, repaint while panning, recolour,
   hover latency, lasso) vs pyqtgraph's own ``ScatterPlotItem`` (``gui_explorer_bench.py``);
5. the start timeline on the demo (``start_timeline.py``): window painted, the visible thumbnails,
   the first prediction of the active checkpoint and all of them, on a fresh cache (the first
   start) and again on the same folders (a restart), with the load average (aim on 2 cores:
   painted ≤ 3 s, thumbnails ≤ 8 s, first prediction ≤ 15 s); and the checkpoints made active on
   the way (one: the preferred checkpoint from the start, no flip).

``python3 bench/gui_bench.py timeline [--record]`` runs the timeline alone.

Run: ``xvfb-run -a -s "-screen 0 1600x1200x24" python3 bench/gui_bench.py``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
os.environ.setdefault("HPE_STUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="hpe-bench-"))

BARE_QT = ("import sys, time; from PySide6.QtWidgets import QApplication, QMainWindow; a = QApplication([]); "
           "w = QMainWindow(); w.resize(1440, 900); w.show()\n"
           "while not (w.windowHandle() and w.windowHandle().isExposed()): a.processEvents()\n"
           "a.processEvents(); print(f'shown {time.time():.6f} -', flush=True)")


def _launch(cmd: list[str]) -> tuple[float, str]:
    t0 = time.time()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=os.environ)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("shown ")), None)
    if line is None:
        raise RuntimeError(f"{cmd}: no 'shown' line\n{out.stdout}\n{out.stderr}")
    _, stamp, heavy = line.split()
    return float(stamp) - t0, heavy


def bench_launch(repeats: int = 3) -> None:
    app = [_launch([sys.executable, "-m", "app", "--fresh", "--quit-after-show"]) for _ in range(repeats)]
    bare = [_launch([sys.executable, "-c", BARE_QT])[0] for _ in range(repeats)]
    t_app, t_bare = statistics.median(t for t, _ in app), statistics.median(bare)
    print(f"launch → window shown: hpe-studio {t_app:.2f} s, bare Qt window {t_bare:.2f} s, "
          f"ratio {t_app / t_bare:.2f}x; heavy modules loaded when shown: {app[0][1]} (aim ≤ 2 s)")


def _qapp():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _fps(canvas, step, seconds: float = 2.0) -> float:
    """Frames drawn per second when ``step(i)`` changes the scene before every frame."""
    app = _qapp()
    drawn = [0]
    canvas.events.draw.connect(lambda _e: drawn.__setitem__(0, drawn[0] + 1), position="last")
    canvas.show()
    for _ in range(20):
        app.processEvents()
    start, i = time.perf_counter(), 0
    drawn[0] = 0
    while time.perf_counter() - start < seconds:
        step(i)
        canvas.update()
        app.processEvents()
        i += 1
    return drawn[0] / (time.perf_counter() - start)


def bench_playback() -> None:
    from app.views.scene_view import make_canvas
    from app.visuals.floor_visual import FloorVisual
    from app.visuals.frustum_visual import FrustumVisual, frustum_segments
    from app.visuals.skeleton_visual import SkeletonVisual
    from hpe_core.geometry import look_at
    from hpe_core.skeleton import PANOPTIC19 as SK

    _qapp()
    base_canvas, _ = make_canvas(size=(800, 600))
    baseline = _fps(base_canvas, lambda i: None)
    base_canvas.close()

    canvas, view = make_canvas(size=(800, 600))
    FloorVisual(parent=view.scene).set_data(3000.0, 500.0)
    segs = []
    K = np.array([[500.0, 0, 400], [0, 500, 300], [0, 0, 1]])
    for c in range(8):
        a = 2 * np.pi * c / 8
        R, t = look_at((3500 * np.cos(a), 3500 * np.sin(a), 1800), (0, 0, 900), up=(0, 0, 1))
        segs.append(frustum_segments(K, R, t, 800, 600, 300.0))
    FrustumVisual(parent=view.scene).set_data(np.concatenate(segs), np.full((16 * 8, 4), 0.6, np.float32))
    gt, pred = SkeletonVisual(parent=view.scene), SkeletonVisual(parent=view.scene)
    rng = np.random.default_rng(0)
    poses = np.cumsum(rng.normal(0, 8, (600, SK.num_joints, 3)), axis=0) + rng.normal(0, 300, (1, SK.num_joints, 3))
    poses[..., 2] += 900
    bones = np.asarray(SK.bones)

    def step(i: int) -> None:
        p = poses[i % len(poses)]
        gt.set_data(p, bones, SK.joint_colours, SK.bone_colours)
        pred.set_data(p + 40, bones, SK.joint_colours * 0.5 + 0.5, SK.bone_colours * 0.5 + 0.5)

    fps = _fps(canvas, step)
    canvas.close()
    print(f"3D playback at 800×600: {fps:.0f} frames/s with two skeletons + floor + 8 frustums, "
          f"empty canvas {baseline:.0f} frames/s, ratio {fps / baseline:.2f} (aim ≥ 60 frames/s)")


class _Images:
    def __init__(self, size: int = 48) -> None:
        self.size = size

    def path(self, row):
        return None

    def name(self, row):
        return f"#{row}"

    def load(self, row):
        image = np.empty((self.size, self.size, 3), np.uint8)
        image[:] = (row * 37 % 256, row * 91 % 256, 128)
        return image


def _dataset(n: int):
    from hpe_core.datasets.base import PoseDataset
    from hpe_core.skeleton import PANOPTIC19

    cols = {"joints_2d": np.zeros((n, 19, 2), np.float32), "camera_id": np.zeros(n, np.int32)}
    return PoseDataset(path=f"/virtual/{n}", format="bench", skeleton=PANOPTIC19, size=n, columns=cols,
                       images=_Images())


def _scroll_repaint_ms(n: int, steps: int = 60) -> float:
    from app.views.browser_view import BrowserView
    from app.workspace import Workspace

    app = _qapp()
    ws = Workspace()
    view = BrowserView(ws)
    view.resize(380, 800)
    view.show()
    ws.add_dataset(_dataset(n))
    bar = view.list.verticalScrollBar()
    times = []
    for value in np.linspace(0, bar.maximum(), steps).astype(int):
        bar.setValue(int(value))
        t0 = time.perf_counter()
        view.list.viewport().repaint()
        times.append(time.perf_counter() - t0)
        for _ in range(3):
            app.processEvents()
    ws.close()
    view.shutdown()
    view.close()
    return statistics.median(times) * 1000


def bench_browser() -> None:
    small, big = _scroll_repaint_ms(1_000), _scroll_repaint_ms(100_000)
    print(f"browser repaint while scrolling: 100,000 samples {big:.2f} ms, 1,000 samples {small:.2f} ms, "
          f"ratio {big / small:.2f} (a frame at 60 Hz is 16.7 ms)")


def _timeline(folder: Path, limit_s: float) -> dict:
    """One start of the app on ``folder``'s cache and settings: {event: seconds, "active": ..., "count": ...}."""
    env = {**os.environ, "HPE_STUDIO_CACHE": str(folder / "cache"), "HPE_STUDIO_CONFIG_DIR": str(folder / "config"),
           "HPE_STUDIO_DATA_DIR": str(folder / "data")}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "start_timeline.py"), str(limit_s)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=limit_s + 120)
    found: dict = {}
    for line in out.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "event":
            name, seconds = rest.split()
            found[name] = float(seconds)
        elif kind in ("active", "predicted"):
            found["active" if kind == "active" else "count"] = rest
    if "painted" not in found:
        raise RuntimeError(f"start_timeline did not paint\n{out.stdout}\n{out.stderr[-2000:]}")
    return found


def _say(found: dict) -> str:
    def at(name):
        return f"{found[name]:.1f} s" if name in found else "not reached"

    return (f"window painted {at('painted')}, visible thumbnails {at('thumbnails')}, first prediction of the "
            f"active checkpoint {at('predicted')}, all predicted {at('all')} ({found.get('count', '-')}); "
            f"checkpoints made active in turn: {found.get('active', '-')}")


def bench_timeline(limit_s: float = 300.0) -> None:
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="hpe-start-"))
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
        first = _timeline(folder, limit_s)
        print(f"first start (fresh cache): {_say(first)}; {load} (aim painted ≤ 3 s, thumbnails ≤ 8 s, first "
              f"prediction ≤ 15 s on 2 cores)")
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
        again = _timeline(folder, limit_s)
        print(f"restart (same folders): {_say(again)}; {load} (aim as at first start)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_explorer() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gui_explorer_bench

    gui_explorer_bench.main(100_000)


if __name__ == "__main__":
    from record import recording

    if "timeline" in sys.argv[1:]:  # the start timeline alone (with or without --record)
        with recording("gui_bench_timeline"):
            bench_timeline()
        sys.exit(0)
    with recording("gui_bench"):
        bench_timeline()
        bench_launch()
        bench_playback()
        bench_browser()
        bench_explorer()
