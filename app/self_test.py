"""``hpe-studio --self-test [--screenshot FILE]``: does this installation work?

Opens the built-in demo, then renders every view once: the 3D view, the embeddings (PCA of a
few hundred samples), the conv1 kernels, the comparison of the two demo regression checkpoints,
the training panel, and seed 001's heatmaps over the image with the lifter's 3D pose. Each step must finish without an error message and produce a non-blank image;
the window is saved to FILE (``hpe-studio-self-test.png`` in the current folder by default) and
each view next to it (``FILE-<view>.png``). Prints one line per step and exits 0, or prints
``self-test: FAILED at <step>: <why>`` on standard error and exits 1.

Settings go to a temporary folder (the user's layout and last workspace are not touched); the
demo dataset is generated into the user's cache the first time, as a normal start does.

:func:`wait_until_settled` (nothing loading, the shown sample predicted) is also what
``--screenshot`` waits for.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

SAMPLES = 300  # per analysis: enough for a real picture, quick on a laptop


class SelfTestFailure(Exception):
    pass


def process_age() -> float:
    """Seconds since this process started (Linux ``/proc``; elsewhere since this module loaded)."""
    try:
        with open("/proc/self/stat") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return time.time() - (boot + ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, StopIteration):
        return time.monotonic() - _LOADED


_LOADED = time.monotonic()


def settled(ws) -> bool:
    """Nothing is loading, and the shown sample has its prediction unless none can come."""
    if any(not t.hidden and t is not ws.predicting.task for t in ws.tasks.tasks):
        return False
    sample = ws.feed.sample
    if sample is None:
        return ws.catalog.dataset is None
    ck = ws.catalog.checkpoint
    return sample.pred_3d is not None or sample.detected_2d is not None or ck is None or not ck.has_pose_head


def wait_until_settled(app, window, timeout: float) -> None:
    """Spin the event loop until :func:`settled` holds for a moment, or time is up."""
    deadline = time.monotonic() + timeout
    since = None
    while time.monotonic() < deadline:
        app.processEvents()
        if settled(window.workspace):
            since = since or time.monotonic()
            if time.monotonic() - since > 0.5:
                break
        else:
            since = None
        time.sleep(0.01)


class SelfTest:
    def __init__(self, app, window, screenshot: Path, timeout: float = 300.0) -> None:
        self.app, self.window, self.timeout = app, window, timeout
        self.screenshot = screenshot
        self.step = "start"
        self.images: dict[str, object] = {}

    # ------------------------------------------------------------------ helpers
    def say(self, text: str) -> None:
        print(f"self-test: {text}", flush=True)

    def wait(self, condition, what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not condition():
            self._check_errors()
            if time.monotonic() > deadline:
                raise SelfTestFailure(f"timed out waiting for {what}")
            self.app.processEvents()
            time.sleep(0.01)
        self._check_errors()

    def _check_errors(self) -> None:
        errors = [text for level, text in self.window.message_bar.history if level == "error"]
        if errors:
            raise SelfTestFailure(errors[-1].split("\n\n")[0])

    def grab(self, name: str, widget) -> None:
        self.app.processEvents()
        image = widget.grab().toImage()
        if image.isNull() or image.width() < 16 or image.height() < 16:
            raise SelfTestFailure(f"{name}: nothing was drawn")
        self._not_blank(name, image)
        self.images[name] = image

    @staticmethod
    def _not_blank(name: str, image) -> None:
        w, h = image.width(), image.height()
        colours = {image.pixel(x, y) for x in range(0, w, max(w // 40, 1)) for y in range(0, h, max(h // 30, 1))}
        if len(colours) < 8:
            raise SelfTestFailure(f"{name}: the rendering is blank ({len(colours)} colours)")

    def _analysis(self, name: str):
        dock = self.window.analysis_docks[name]
        dock.show()
        dock.raise_()
        view = self.window.analysis_view(name)
        self.app.processEvents()
        return view

    def _strip_error(self, view) -> None:
        if view.strip.level == "error":
            raise SelfTestFailure(view.strip.message.toolTip() or view.strip.message.text())

    def _finish(self, name: str, view, shown, what: str) -> None:
        """Wait until ``shown()`` and ``view``'s job ended, check its strip, grab it as ``name``."""
        self.wait(lambda: shown() and not view.runner.running(), what)
        self._strip_error(view)
        self.grab(name, view)

    @staticmethod
    def _run_pca(view) -> None:
        """Run ``view``'s projection as a PCA of :data:`SAMPLES` samples."""
        view.method.setCurrentIndex(view.method.findData("pca"))
        view.samples.setValue(SAMPLES)
        view.run()

    @staticmethod
    def _demo_keys() -> dict[str, str]:
        """The demo checkpoints' workspace keys by file name, in the demo's order."""
        from app.demo import demo_checkpoints
        from app.workspace import path_key

        return {p.name: path_key(p) for p in demo_checkpoints()}

    # ------------------------------------------------------------------ steps
    def run(self) -> int:
        started = time.monotonic()
        steps = [("window", self.first_frame), ("demo", self.open_demo), ("3D view", self.scene),
                 ("embeddings", self.embeddings), ("kernels", self.kernels), ("compare", self.compare),
                 ("training panel", self.training), ("heatmaps and lifting", self.seed001),
                 ("screenshot", self.save)]
        try:
            for self.step, fn in steps:
                t0 = time.monotonic()
                detail = fn()
                self.say(f"{self.step} ok ({time.monotonic() - t0:.1f} s){': ' + detail if detail else ''}")
        except SelfTestFailure as exc:
            print(f"self-test: FAILED at {self.step}: {exc}", file=sys.stderr, flush=True)
            return 1
        except Exception as exc:  # a bug: say where, with the traceback
            import traceback

            traceback.print_exc()
            print(f"self-test: FAILED at {self.step}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            return 1
        self.say(f"passed in {time.monotonic() - started:.1f} s")
        return 0

    def first_frame(self) -> str:
        win = self.window
        self.wait(lambda: bool(win.windowHandle() and win.windowHandle().isExposed()), "the window to show", 60)
        self.app.processEvents()
        self.grab("window", win)
        return f"first frame {process_age():.2f} s after the process started"

    def open_demo(self) -> str:
        from app.demo import demo_checkpoints

        ws, expected = self.window.workspace, demo_checkpoints()
        if len(expected) < 2:
            raise SelfTestFailure(f"the demo checkpoints are missing (found {len(expected)} of 2)")
        self.window.open_demo()
        first_run = max(self.timeout, 600)  # the first start makes the demo set (a minute or more)
        self.wait(lambda: ws.catalog.dataset is not None and len(ws.catalog.checkpoints) == len(expected), "the demo to open",
                  first_run)
        self.wait(lambda: settled(ws) and ws.feed.sample is not None and ws.feed.sample.pred_3d is not None,
                  "the first prediction")
        return f"{len(ws.catalog.dataset)} samples, {len(ws.catalog.checkpoints)} checkpoints"

    def scene(self) -> str:
        import numpy as np

        view = self.window.scene_view
        self.window.scene_dock.raise_()
        pixels = np.asarray(view.render(size=(320, 240)))
        if pixels.ndim != 3 or float(pixels[..., :3].std()) < 1.0:
            raise SelfTestFailure("the OpenGL rendering is blank")
        self.grab("3d", view)
        return f"OpenGL image {pixels.shape[1]}x{pixels.shape[0]}"

    def embeddings(self) -> str:
        view = self._analysis("embedding")
        self._run_pca(view)
        self._finish("embeddings", view, lambda: view.result is not None, "the embedding")
        return f"{len(view.result.indices)} samples"

    def kernels(self) -> str:
        view = self._analysis("kernel")
        view.refresh()
        self._finish("kernels", view, lambda: view.bundle is not None, "the conv1 kernels")
        return f"{len(view.bundle.report.classes)} filters"

    def compare(self) -> str:
        view = self._analysis("compare")
        keys = list(self._demo_keys().values())[:2]  # the two regression checkpoints
        view.checkpoint_a.select_key(keys[0])
        view.checkpoint_b.select_key(keys[1])
        self._run_pca(view)
        self._finish("compare", view, lambda: view.bundle is not None, "the comparison")
        return f"{view.bundle.compare.samples} samples"

    def training(self) -> str:
        self.window.training_dock.show()
        self.window.training_dock.raise_()
        view = self.window.training_view
        from hpe_core.commands.train import presets_dir

        if not view.load_config_file(presets_dir() / "simclr_cpu.yaml"):
            raise SelfTestFailure("the preset simclr_cpu could not be read")
        view.form.revalidate()
        if view.form.error or not view.start.isEnabled():
            raise SelfTestFailure(f"the preset {view.preset.currentText()} does not validate: {view.form.error}")
        self.grab("training", view)
        return f"preset {view.preset.currentText()}"

    def seed001(self) -> str:
        """The demo lifter lifting the demo heatmap net's 2D: heatmaps over the image, the
        predicted 2D and the lifted pose in the 3D view; then the first checkpoint again."""
        ws = self.window.workspace
        keys = self._demo_keys()
        if "heatmap2d.pt" not in keys or "lifter.pt" not in keys:
            raise SelfTestFailure("the demo's heatmap2d.pt and lifter.pt are missing")
        first = ws.catalog.active_key
        ws.set_active_checkpoint(keys["lifter.pt"])
        ws.set_lift_source(keys["heatmap2d.pt"])

        def missing() -> list[str]:
            s = ws.feed.sample
            if s is None or s.index != ws.feed.selection:
                return ["the selected sample"]
            return [name for name, value in (("the lifted pose", s.pred_3d), ("the heatmaps", s.heatmaps),
                                             ("the predicted 2D", s.detected_2d)) if value is None]

        try:
            self.wait(lambda: not missing(), "the heatmaps and the lifted pose")
        except SelfTestFailure:
            raise SelfTestFailure(f"timed out waiting for {', '.join(missing()) or 'the sample'} "
                                  f"(sample {ws.feed.selection}; jobs: {[t.name for t in ws.tasks.tasks]})") from None
        view = self.window.image_view
        view.select_heatmap("all")
        self.grab("heatmaps", view)
        if not view.canvas.heatmap_drawn or not view.canvas.detected_points:
            raise SelfTestFailure("the heatmaps or the predicted 2D joints were not drawn")
        if not len(self.window.scene_view.skeletons.pred.joints):
            raise SelfTestFailure("the lifted pose is not in the 3D view")
        joints = len(ws.feed.sample.heatmaps.heatmaps)
        ws.set_lift_source(None)
        ws.set_active_checkpoint(first)
        return f"{joints} heatmaps, the lifted pose in the 3D view"

    def save(self) -> str:
        self.grab("window", self.window)
        self.screenshot.parent.mkdir(parents=True, exist_ok=True)
        if not self.images["window"].save(str(self.screenshot)):
            raise SelfTestFailure(f"could not write {self.screenshot}")
        stem = self.screenshot.with_suffix("")
        for name, image in self.images.items():
            if name != "window":
                image.save(f"{stem}-{name}{self.screenshot.suffix or '.png'}")
        return str(self.screenshot)


def prepare_environment() -> None:
    """Settings in a temporary folder, so the test neither reads nor changes the user's."""
    if not os.environ.get("HPE_STUDIO_CONFIG_DIR"):
        import tempfile

        os.environ["HPE_STUDIO_CONFIG_DIR"] = tempfile.mkdtemp(prefix="hpe-studio-self-test-")


def run(app, window, screenshot: str | None, timeout: float) -> int:
    path = Path(screenshot or "hpe-studio-self-test.png").expanduser().resolve()
    code = SelfTest(app, window, path, timeout).run()
    window.close()
    # A worker still busy (the device probe importing torch on a slow machine) must end before
    # the interpreter does: Qt aborts on a QThread destroyed while it runs.
    for task in window.workspace.tasks.tasks:
        task.wait(int(timeout * 1000))
    return code
