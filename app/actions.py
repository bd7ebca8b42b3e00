"""Menus, toolbar and keyboard shortcuts of the main window (declared here, wired to slots)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMainWindow, QStyle, QToolBar

from app.views.video_view import VIDEO_FILTER
from app.workers.jobs import CHECKPOINT_SUFFIXES
from app.model.workspace_file import SUFFIX
from app.visuals.binding import bind

OPEN_FILTER = ("All HPE Studio files (*" + " *".join(sorted(CHECKPOINT_SUFFIXES | {SUFFIX, ".json", ".npz"}))
               + ");;Checkpoints (*" + " *".join(sorted(CHECKPOINT_SUFFIXES)) + f");;Workspaces (*{SUFFIX});;"
               + VIDEO_FILTER + ";;All files (*)")

# (name, text, shortcut, tip) — the README's shortcut table is this list.
SHORTCUTS = [
    ("open", "&Open…", "Ctrl+O", "Open a dataset file, checkpoint, video or workspace"),
    ("open_folder", "Open &Dataset Folder…", "Ctrl+Shift+O", "Open a dataset folder"),
    ("open_video", "Open &Video…", "Ctrl+Shift+V", "Open a video to run a checkpoint on"),
    ("save", "&Save Workspace", "Ctrl+S", "Save what is open to a workspace file"),
    ("save_as", "Save Workspace &As…", "Ctrl+Shift+S", "Save the workspace under a new name"),
    ("export", "&Export Video Predictions…", "Ctrl+E", "Save the video's predictions (.npz, .json, .csv)"),
    ("quit", "&Quit", "Ctrl+Q", "Quit HPE Studio"),
    ("next", "&Next Sample", "N", "Select the next sample of the list"),
    ("previous", "&Previous Sample", "P", "Select the previous sample of the list"),
    ("play", "&Play / Pause", "Space", "Play through the sequence or the video"),
    ("step_forward", "Step &Forward", ".", "Next frame of the sequence or video"),
    ("step_back", "Step &Back", ",", "Previous frame of the sequence or video"),
    ("reset_view", "&Reset 3D View", "R", "Reset the 3D camera"),
    ("align", "Cycle &Alignment", "A", "None → rigid → Procrustes alignment of the prediction"),
    ("frustums", "Show &Cameras", "F", "Show the dataset's camera frustums"),
    ("cancel", "&Cancel Jobs", "Esc", "Cancel the running jobs"),
    ("demo", "Open the &Demo", "", "Open the built-in demo dataset and checkpoints"),
]


def build_actions(window: QMainWindow) -> dict[str, QAction]:
    """Create every action, the menus and the toolbar of ``window`` (a ``MainWindow``)."""
    acts: dict[str, QAction] = {}
    for name, text, key, tip in SHORTCUTS:
        act = QAction(text, window)
        if key:
            act.setShortcut(QKeySequence(key))
        act.setToolTip(f"{tip} ({key})" if key else tip)
        act.setStatusTip(tip)
        window.addAction(act)
        acts[name] = act
    acts["frustums"].setCheckable(True)
    acts["frustums"].setChecked(True)
    _connect(window, acts)
    _menus(window, acts)
    _toolbar(window, acts)
    return acts


def _connect(w, acts: dict[str, QAction]) -> None:
    ws = w.workspace
    acts["open"].triggered.connect(lambda: _open_files(w))
    acts["open_folder"].triggered.connect(lambda: _open_folder(w))
    acts["open_video"].triggered.connect(w.video_view._on_open_clicked)
    acts["save"].triggered.connect(w.save_workspace)
    acts["save_as"].triggered.connect(lambda: w.save_workspace(ask=True))
    acts["export"].triggered.connect(w.video_view._on_export_clicked)
    acts["quit"].triggered.connect(w.close)
    acts["next"].triggered.connect(lambda: ws.step_selection(1))
    acts["previous"].triggered.connect(lambda: ws.step_selection(-1))
    acts["play"].triggered.connect(ws.playback.toggle)
    acts["step_forward"].triggered.connect(lambda: ws.playback.step(1))
    acts["step_back"].triggered.connect(lambda: ws.playback.step(-1))
    acts["reset_view"].triggered.connect(w.scene_view.reset_camera)
    acts["align"].triggered.connect(w.scene_view.cycle_align)
    acts["frustums"].toggled.connect(lambda on: setattr(ws.options, "frustums", on))
    frustums = acts["frustums"]
    bind(ws.options.events.frustums, lambda on: frustums.setChecked(bool(on)), frustums)
    acts["cancel"].triggered.connect(ws.tasks.cancel_visible)
    acts["demo"].triggered.connect(w.open_demo)


def _menus(w, acts: dict[str, QAction]) -> None:
    bar = w.menuBar()
    file = bar.addMenu("&File")
    for name in ("open", "open_folder", "open_video"):
        file.addAction(acts[name])
    w.recent_menu = file.addMenu("Open &Recent")
    file.addAction(acts["demo"])
    file.addSeparator()
    for name in ("save", "save_as", "export"):
        file.addAction(acts[name])
    file.addSeparator()
    file.addAction(acts["quit"])
    view = bar.addMenu("&View")
    for name in ("next", "previous", "play", "step_forward", "step_back"):
        view.addAction(acts[name])
    view.addSeparator()
    for name in ("reset_view", "align", "frustums"):
        view.addAction(acts[name])
    view.addSeparator()
    w.panels_menu = view.addMenu("&Panels")
    jobs = bar.addMenu("&Jobs")
    jobs.addAction(acts["cancel"])


ICONS = {"open": "SP_DialogOpenButton", "open_video": "SP_MediaPlay", "save": "SP_DialogSaveButton",
         "previous": "SP_MediaSeekBackward", "play": "SP_MediaPlay", "next": "SP_MediaSeekForward",
         "cancel": "SP_BrowserStop", "reset_view": "SP_BrowserReload"}


def _toolbar(w, acts: dict[str, QAction]) -> None:
    style = w.style()
    for name, icon in ICONS.items():
        acts[name].setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, icon)))
    acts["open_video"].setIconText("Video")
    acts["previous"].setIconText("Previous")
    acts["next"].setIconText("Next")
    acts["play"].setIconText("Play")
    acts["save"].setIconText("Save")
    tb = QToolBar("Main", w)
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for name in ("open", "open_video", "save"):
        tb.addAction(acts[name])
    tb.addSeparator()
    for name in ("previous", "play", "next"):
        tb.addAction(acts[name])
    tb.addSeparator()
    tb.addWidget(w.device_view)
    w.addToolBar(tb)


def _open_files(w) -> None:
    paths, _ = QFileDialog.getOpenFileNames(w, "Open", "", OPEN_FILTER)
    if paths:
        w.workspace.open_paths(paths)


def _open_folder(w) -> None:
    path = QFileDialog.getExistingDirectory(w, "Open dataset folder")
    if path:
        w.workspace.open_paths([path])
