"""The main window: composes the views around one workspace; it computes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QVBoxLayout, QWidget)

from app.actions import build_actions
from app.demo import demo_checkpoints, demo_paths_job
from app.dock_layout import DockLayout, fit_to_screen, scrolled
from app.model import messages
from app.model.workspace_file import SUFFIX
from app.settings import Settings
from app.views.browser_view import BrowserView
from app.views.checkpoints_view import CheckpointsView
from app.views.device_view import DeviceView
from app.views.image_options import bind_image_options
from app.views.image_view import ImageView
from app.views.jobs_view import JobsView
from app.views.message_bar import MessageBar
from app.views.scene_view import SceneView
from app.views.timeline_view import TimelineView
from app.views.video_view import VideoView
from app.visuals.binding import bind
from app.workers.jobs import probe_devices_job
from app.workers.training_jobs import TrainingJobsManager, connect_workspace
from app.workspace import Workspace
from hpe_core import __version__


# Analysis views, built when their dock is first shown: name -> (dock title, module, class).
ANALYSIS_VIEWS = {"embedding": ("Embeddings", "app.views.embedding_view", "EmbeddingView"),
                  "kernel": ("Kernels", "app.views.kernel_view", "KernelView"),
                  "compare": ("Compare", "app.views.compare_view", "CompareView")}


class MainWindow(QMainWindow):
    def __init__(self, workspace: Workspace | None = None, settings: Settings | None = None) -> None:
        super().__init__()
        self.setWindowTitle(f"HPE Studio {__version__}")
        self.setObjectName("mainWindow")
        self.setWindowIcon(QIcon(str(Path(__file__).parent / "icons" / "hpe-studio.svg")))
        self.resize(1440, 900)
        self.setAcceptDrops(True)
        self.workspace = workspace or Workspace(self)
        self.settings = settings or Settings()
        self.workspace_path: Path | None = None
        self.workspace.device.spec, self.workspace.device.precision = self.settings.device()
        self.dock_layout = DockLayout(self)
        self._build_views()
        self.actions_ = build_actions(self)
        self._build_docks()
        self._build_training()
        self.dock_layout.remember_default()
        self._build_status_bar()
        self.workspace.message.connect(self._on_workspace_message)
        self.workspace.file_opened.connect(self._on_workspace_file_opened)
        bind(self.workspace.device.events, self._on_device_changed, self)
        self._rebuild_recent_menu()
        self._restore_layout()

    # ------------------------------------------------------------------ composition
    def _build_views(self) -> None:
        ws = self.workspace
        self.message_bar = MessageBar()
        self.image_view = ImageView(ws.feed, ws.options, ws.catalog)
        bind_image_options(self.image_view, ws.options, ws.feed)  # saved and restored with the workspace
        self.timeline_view = TimelineView(ws.playback)
        self.browser_view = BrowserView(ws)
        self.scene_view = SceneView(ws.catalog, ws.feed, ws.options, ws.hypotheses)
        self.checkpoints_view = CheckpointsView(ws)
        self.video_view = VideoView(ws)
        self.device_view = DeviceView(ws)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.image_view, 1)
        layout.addWidget(self.timeline_view)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        self.panels_menu.addAction(dock.toggleViewAction())
        self.dock_layout.add(dock)
        return dock

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.browser_dock = self._dock("Samples", "samplesDock", self.browser_view, left)
        self.scene_dock = self._dock("3D view", "sceneDock", self.scene_view, right)
        self.checkpoints_dock = self._dock("Checkpoints", "checkpointsDock", self.checkpoints_view, right)
        self.video_dock = self._dock("Video", "videoDock", self.video_view, right)
        self.tabifyDockWidget(self.checkpoints_dock, self.video_dock)
        self.analysis_docks = {name: self._lazy_dock(v[0], name, right) for name, v in ANALYSIS_VIEWS.items()}
        for dock in self.analysis_docks.values():
            self.tabifyDockWidget(self.scene_dock, dock)
        self.scene_dock.raise_()
        self.checkpoints_dock.raise_()
        self._default_dock_sizes()

    def _default_dock_sizes(self) -> None:
        self.resizeDocks([self.browser_dock, self.scene_dock], [380, 560], Qt.Orientation.Horizontal)
        self.resizeDocks([self.scene_dock, self.checkpoints_dock], [500, 280], Qt.Orientation.Vertical)

    def _lazy_dock(self, title: str, name: str, area) -> QDockWidget:
        """A dock whose view (and pyqtgraph) is built the first time it is shown: a fast start."""
        dock = self._dock(title, f"{name}Dock", QLabel(f"{title} loads when first shown"), area)
        dock.visibilityChanged.connect(lambda visible, n=name: visible and self.analysis_view(n))
        return dock

    def analysis_view(self, name: str) -> QWidget:
        """The analysis view ``name`` ("embedding", "kernel", "compare"), built on first use."""
        dock = self.analysis_docks[name]
        if not getattr(dock, "view", None):
            import importlib

            _, module, cls = ANALYSIS_VIEWS[name]
            dock.view = getattr(importlib.import_module(module), cls)(self.workspace)
            dock.setWidget(scrolled(dock.view))  # below its minimum size it scrolls, never grows the window
            full = getattr(dock.view, "full_view_requested", None)  # a view whose docked body is a summary
            if full is not None:
                full.connect(lambda d=dock: self.dock_layout.maximise(d))
        return dock.view

    def _build_training(self) -> None:
        """The training panel: a bottom dock, shown with Jobs ▸ Training… (Ctrl+T)."""
        self.training_jobs = TrainingJobsManager(parent=self)  # follows running jobs from the start
        connect_workspace(self.training_jobs, self.workspace)  # finished jobs' checkpoints join it
        self._training_view = None  # built when first shown (pyqtgraph loads then): a fast start
        self.training_dock = self._dock("Training", "trainingDock", QLabel("Training loads when first shown"),
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        self.training_dock.visibilityChanged.connect(lambda visible: visible and self.training_view)
        self.training_dock.hide()

    def show_training(self) -> None:
        """Show and raise the training panel (Jobs ▸ Training…)."""
        self.training_dock.show()
        self.training_dock.raise_()
        self.dock_layout.last_shown = self.training_dock

    @property
    def training_view(self):
        """The training panel (:class:`~app.views.training_view.TrainingView`), built on first use."""
        if self._training_view is None:
            from app.views.training_view import TrainingView

            self._training_view = TrainingView(self.training_jobs, self.workspace)
            self.training_dock.setWidget(scrolled(self._training_view))
        return self._training_view

    def _confirm_close_training(self) -> bool:
        """Running jobs: the panel asks to keep or stop them; False calls the closing off."""
        if self._training_view is None and not self.training_jobs.running():
            self.training_jobs.shutdown(stop=False)
            return True
        return self.training_view.confirm_close()

    def _build_status_bar(self) -> None:
        self.jobs_view = JobsView(self.workspace.tasks)
        self.device_label = QLabel(messages.DEVICE_UNKNOWN.format(spec=self.workspace.device.spec))
        self.statusBar().addPermanentWidget(self.jobs_view)
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().showMessage(messages.WELCOME, 15000)

    # ------------------------------------------------------------------ start-up
    def start(self, paths: list[str] | None = None, restore_last: bool = True) -> None:
        """Open ``paths``; with none, the last workspace, else the demo."""
        if paths:
            self.workspace.open_paths(paths)
        elif restore_last and self.settings.last_workspace_path.exists():
            self.workspace.open_workspace(self.settings.last_workspace_path)
        else:
            self.open_demo()

    def probe_devices(self) -> None:
        """List CUDA / MPS devices in a worker (torch loads there, not on the critical path)."""
        self.workspace.run_task(probe_devices_job(), "probe devices", lambda r: self.device_view.set_devices(*r),
                                lambda _e: None, hidden=True)

    def install_excepthook(self) -> None:
        """An exception escaping a slot becomes a message, not a crash."""
        import traceback

        def hook(kind, value, tb):
            text = "".join(traceback.format_exception(kind, value, tb))
            sys.stderr.write(text)
            self.workspace.message.emit("error", messages.BUG.format(name="HPE Studio", why=value)
                                        + "\n\n" + text)

        sys.excepthook = hook

    def open_demo(self) -> None:
        """Open the demo dataset and checkpoints: the first demo checkpoint (the preferred one) loads at
        once, while the dataset is made, and is active from the start; the others load after it."""
        first, *rest = demo_checkpoints() or [None]
        if first is not None:
            self.workspace.open_paths([first], on_complete=lambda: self.workspace.open_paths(rest) if rest else None)

        def done(paths):
            self.statusBar().clearMessage()
            self.workspace.open_paths(paths[:1])  # the dataset (its checkpoints are opening already)

        def failed(exc):
            self.workspace.message.emit("info", str(exc))

        self.statusBar().showMessage(messages.DEMO_OPENING, 5000)
        self.workspace.run_task(demo_paths_job(), "Demo", done, failed)

    # ------------------------------------------------------------------ workspace files
    def save_workspace(self, ask: bool = False) -> Path | None:
        path = self.workspace_path
        if ask or path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Save workspace", f"session{SUFFIX}",
                                                  f"Workspaces (*{SUFFIX})")
            if not name:
                return None
            path = Path(name if name.endswith(SUFFIX) else name + SUFFIX)
        saved = self.workspace.save_workspace(path)
        if saved is not None:
            self.workspace_path = saved
            self.settings.add_recent(saved)
            self._rebuild_recent_menu()
        return saved

    # ------------------------------------------------------------------ slots
    def _on_workspace_message(self, level: str, text: str) -> None:
        self.message_bar.show_message(level, text)
        self.statusBar().showMessage(text.split("\n")[0], 8000)

    def _on_device_changed(self, *_info) -> None:
        d = self.workspace.device
        self.device_label.setText(messages.DEVICE.format(device=d.in_use, precision=d.precision) if d.in_use
                                  else messages.DEVICE_UNKNOWN.format(spec=d.spec))
        self.settings.set_device(d.spec, d.precision)

    def _on_workspace_file_opened(self, path: str) -> None:
        if Path(path).resolve() == self.settings.last_workspace_path.resolve():
            return  # the session kept at closing: not the user's file (Ctrl+S asks for one)
        if path.endswith(SUFFIX):
            self.workspace_path = Path(path)
        self.settings.add_recent(path)
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.settings.recent_files()
        for path in files:
            act = menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _c=False, p=path: self.workspace.open_paths([p]))
        menu.addSeparator()
        clear = menu.addAction("Clear")
        clear.triggered.connect(lambda: (self.settings.clear_recent(), self._rebuild_recent_menu()))
        menu.setEnabled(True)

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.workspace.open_paths(paths)

    # ------------------------------------------------------------------ layout and shutdown
    def _restore_layout(self) -> None:
        geometry, state = self.settings.layout()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        fit_to_screen(self)

    def reset_layout(self) -> None:
        """View ▸ Reset Layout: every panel where it starts, the training panel hidden, and the
        saved layout forgotten."""
        self.dock_layout.reset()
        self._default_dock_sizes()
        self.settings.clear_layout()

    def toggle_maximised(self) -> None:
        """View ▸ Maximise Panel: the panel opened last (else the 3D view) fills the window; with a
        panel maximised, a panel opened since takes its place, else the layout comes back."""
        layout, last = self.dock_layout, self.dock_layout.last_shown
        opened = last is not None and last.isVisible()
        if layout.maximised is not None and (not opened or last is layout.maximised):
            layout.restore()
            return
        layout.maximise(last if opened else self.scene_dock)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.dock_layout._fit_later.start()

    def closeEvent(self, event) -> None:
        if not self._confirm_close_training():  # running jobs: keep them, stop them, or stay open
            event.ignore()
            return
        self.settings.save_layout(self.saveGeometry(), self.dock_layout.state_to_save())
        if self.workspace.catalog.datasets or self.workspace.catalog.checkpoints:
            self.workspace.save_workspace(self.settings.last_workspace_path, quiet=True)
        self.settings.sync()
        for dock in self.analysis_docks.values():
            if getattr(dock, "view", None):
                dock.view.shutdown()
        self.workspace.close()
        self.browser_view.shutdown()
        self.scene_view.close()
        super().closeEvent(event)
