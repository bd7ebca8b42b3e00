"""Every action, menu and toolbar entry of the main window, declared here as data, and the one
function that builds them and wires each to its slot. No menu is found by its text."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QStyle, QToolBar

from app.export import menu as export_menu
from app.model.workspace_file import SUFFIX
from app.views.open_predictions import open_predictions_dialog
from app.views.video_view import VIDEO_FILTER
from app.visuals.binding import bind
from hpe_core.file_kinds import CHECKPOINT_SUFFIXES

DATASET_FILES = {".json", ".npz", ".mat", ".pkl"}  # COCO, npz layouts, MPI-INF-3DHP annot_data.mat, 3DPW pickles
OPEN_FILTER = ("All HPE Studio files (*" + " *".join(sorted(CHECKPOINT_SUFFIXES | DATASET_FILES | {SUFFIX}))
               + ");;Checkpoints (*" + " *".join(sorted(CHECKPOINT_SUFFIXES)) + f");;Workspaces (*{SUFFIX});;"
               + VIDEO_FILTER + ";;All files (*)")

# (name, text, shortcut, tip) — the README's shortcut table is this list.
SHORTCUTS = [
    ("open", "&Open…", "Ctrl+O", "Open a dataset file, checkpoint, video or workspace"),
    ("open_folder", "Open &Dataset Folder…", "Ctrl+Shift+O", "Open a dataset folder"),
    ("open_video", "Open &Video…", "Ctrl+Shift+V", "Open a video to run a checkpoint on"),
    ("open_predictions", "Open P&redictions…", "", "Open a predictions file (.npz, .npy, MMPose .json) like a "
                                                   "checkpoint"),
    ("open_boxes", "Open Person &Boxes…", "", "Crop the current dataset's samples to a detector's person boxes "
                                              "(a COCO results JSON)"),
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
    ("maximise", "&Maximise Panel", "Ctrl+M", "The raised analysis panel fills the window; again to restore"),
    ("reset_layout", "Reset &Layout", "", "Every panel back where it starts"),
    ("cancel", "&Cancel Jobs", "Esc", "Cancel the running jobs (training jobs too, after asking)"),
    ("demo", "Open the &Demo", "", "Open the built-in demo dataset and checkpoints"),
    ("training", "&Training…", "Ctrl+T", "Start, watch, cancel and resume training jobs"),
    ("show_embedding", "&Embedding Explorer", "Ctrl+1", "Embed, cluster and project a layer (PCA, LDA, UMAP, t-SNE)"),
    ("show_kernel", "&Kernel Inspector", "Ctrl+2", "conv1 filters, one filter's effect, feature maps"),
    ("show_compare", "&Compare Checkpoints", "Ctrl+3", "Two checkpoints side by side: metrics, CKA, predictions"),
    ("export_figure", "Export &Figure…", "Ctrl+Shift+E", "Export a figure of any view (PNG, SVG, PDF)"),
    ("export_report", "&Report…", "Ctrl+Shift+R", "hpe report: tables and figures of checkpoints / prediction "
                                                  "files side by side, as a background job"),
    ("export_views_report", "Export &Views Report…", "", "One HTML file and a PDF with every figure, table and "
                                                          "provenance of the open analysis views"),
]
CHECKABLE = {"frustums": True}  # name -> checked at start

# Menus in order: entries are action names, None (a separator) or "@<name>" (a submenu the
# window fills: "@recent" its recent files, "@panels" its docks' toggles).
MENUS = [
    ("&File", ["open", "open_folder", "open_video", "open_predictions", "open_boxes", "@recent", "demo", None, "save", "save_as",
               "export", None, "quit"]),
    ("&View", ["next", "previous", "play", "step_forward", "step_back", None, "reset_view", "align", "frustums",
               None, "maximise", "reset_layout", "@panels"]),
    ("&Analysis", ["show_embedding", "show_kernel", "show_compare", None, "export_figure", "export_report",
                   "export_views_report"]),
    ("&Jobs", ["cancel", "training"]),
]
SUBMENUS = {"@recent": ("Open &Recent", "recent_menu"), "@panels": ("&Panels", "panels_menu")}
# The toolbar: action names, None (a separator) and "@device" (the device chooser).
TOOLBAR = ["open", "open_video", "save", None, "previous", "play", "next", None, "@device"]
ICONS = {"open": "SP_DialogOpenButton", "open_video": "SP_MediaPlay", "save": "SP_DialogSaveButton",
         "previous": "SP_MediaSeekBackward", "play": "SP_MediaPlay", "next": "SP_MediaSeekForward",
         "cancel": "SP_BrowserStop", "reset_view": "SP_BrowserReload"}
ICON_TEXT = {"open_video": "Video", "previous": "Previous", "next": "Next", "play": "Play", "save": "Save"}


def slots(w) -> dict[str, Callable]:
    """What each action does, for the main window ``w`` (``triggered``; ``toggled`` if checkable)."""
    ws = w.workspace
    return {
        "open": lambda: _open_files(w), "open_folder": lambda: _open_folder(w),
        "open_video": w.video_view._on_open_clicked, "save": w.save_workspace,
        "save_as": lambda: w.save_workspace(ask=True), "export": w.video_view._on_export_clicked, "quit": w.close,
        "next": lambda: ws.step_selection(1), "previous": lambda: ws.step_selection(-1),
        "play": ws.playback.toggle, "step_forward": lambda: ws.playback.step(1),
        "step_back": lambda: ws.playback.step(-1), "reset_view": w.scene_view.reset_camera,
        "align": w.scene_view.cycle_align, "frustums": lambda on: setattr(ws.options, "frustums", on),
        "maximise": w.toggle_maximised, "reset_layout": w.reset_layout,
        "cancel": lambda: cancel_jobs(w), "demo": w.open_demo, "training": w.show_training,
        "show_embedding": lambda: export_menu.show_analysis(w, "embedding"),
        "show_kernel": lambda: export_menu.show_analysis(w, "kernel"),
        "show_compare": lambda: export_menu.show_analysis(w, "compare"),
        "export_figure": lambda: export_menu.export_figure(w), "export_report": lambda: export_menu.report(w),
        "export_views_report": lambda: export_menu.export_report(w),
        "open_predictions": lambda: open_predictions_dialog(w), "open_boxes": lambda: _open_boxes(w),
    }


def build_actions(window: QMainWindow) -> dict[str, QAction]:
    """Create every action of ``window`` (a ``MainWindow``), its menus and its toolbar."""
    acts: dict[str, QAction] = {}
    for name, text, key, tip in SHORTCUTS:
        act = QAction(text, window)
        if key:
            act.setShortcut(QKeySequence(key))
        act.setToolTip(f"{tip} ({key})" if key else tip)
        act.setStatusTip(tip)
        if name in CHECKABLE:
            act.setCheckable(True)
            act.setChecked(CHECKABLE[name])
        window.addAction(act)
        acts[name] = act
    for name, slot in slots(window).items():
        if name in CHECKABLE:
            acts[name].toggled.connect(slot)
        else:
            acts[name].triggered.connect(lambda _checked=False, slot=slot: slot())
    frustums = acts["frustums"]
    bind(window.workspace.options.events.frustums, lambda on: frustums.setChecked(bool(on)), frustums)
    _menus(window, acts)
    _toolbar(window, acts)
    return acts


def _menus(w, acts: dict[str, QAction]) -> None:
    for title, entries in MENUS:
        menu: QMenu = w.menuBar().addMenu(title)
        for entry in entries:
            if entry is None:
                menu.addSeparator()
            elif entry in SUBMENUS:
                text, attribute = SUBMENUS[entry]
                setattr(w, attribute, menu.addMenu(text))
            else:
                menu.addAction(acts[entry])


def _toolbar(w, acts: dict[str, QAction]) -> None:
    style = w.style()
    for name, icon in ICONS.items():
        acts[name].setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, icon)))
    for name, text in ICON_TEXT.items():
        acts[name].setIconText(text)
    tb = QToolBar("Main", w)
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for entry in TOOLBAR:
        if entry is None:
            tb.addSeparator()
        elif entry == "@device":
            tb.addWidget(w.device_view)
        else:
            tb.addAction(acts[entry])
    w.addToolBar(tb)


def cancel_jobs(w) -> None:
    """Esc / Jobs ▸ Cancel Jobs: cancel the running background jobs and, once the user agrees,
    the training jobs queued or running here (each running one saves a resumable checkpoint)."""
    from PySide6.QtWidgets import QMessageBox

    from app.model import messages

    w.workspace.tasks.cancel_visible()
    manager = w.training_jobs
    training = [j for j in manager.jobs() if j.record.state == "queued"] + manager.running()
    if not training:
        return
    answer = QMessageBox.question(w, "Cancel training jobs", messages.CANCEL_TRAINING.format(count=len(training)),
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    if answer == QMessageBox.StandardButton.Yes:
        for job in training:
            if job.record.state in ("queued", "running"):
                manager.cancel(job.id)


def _open_files(w) -> None:
    paths, _ = QFileDialog.getOpenFileNames(w, "Open", "", OPEN_FILTER)
    if paths:
        w.workspace.open_paths(paths)


def _open_folder(w) -> None:
    path = QFileDialog.getExistingDirectory(w, "Open dataset folder")
    if path:
        w.workspace.open_paths([path])


def _open_boxes(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Open person boxes", "", "COCO results (*.json);;All files (*)")
    if path:
        w.workspace.open_boxes(path)
