"""Shared pieces of the analysis views: a checkpoint picker that follows the workspace, the
projection's settings (split, t-SNE perplexity, UMAP neighbours and min-dist), a run / cancel /
progress strip with a message line, and the runner of a view's current job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QToolButton, QWidget)

from app.model import messages
from app.model import messages as msg
from app.model.catalog import checkpoint_label
from app.visuals.binding import bind
from app.workers.analysis_jobs import LAYER_ORDER
from app.workers.task import Task, TaskSlot

if TYPE_CHECKING:
    from app.workspace import Workspace

LEVEL_STYLE = {"error": "color: #ff8a8a;", "warning": "color: #ffd27a;", "info": "color: #9ecbff;"}
METHOD_LABELS = {"pca": "PCA", "lda": "LDA", "umap": "UMAP", "tsne": "t-SNE"}


class CheckpointCombo(QComboBox):
    """Lists the workspace's open checkpoints (data: the workspace key); keeps the choice."""

    def __init__(self, workspace: Workspace, prefer_active: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.prefer_active = prefer_active
        self.setMinimumContentsLength(14)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        bind(workspace.catalog.checkpoints_changed, self.refill, self)
        self.refill()

    def refill(self) -> None:
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        for key, loaded in self.workspace.catalog.checkpoints.items():
            self.addItem(checkpoint_label(loaded.path, self.workspace.catalog.checkpoints), key)
            self.setItemData(self.count() - 1, key, Qt.ItemDataRole.ToolTipRole)
        pick = self.findData(current)
        if pick < 0 and self.prefer_active:
            pick = self.findData(self.workspace.catalog.active_key)
        self.setCurrentIndex(max(pick, 0) if self.count() else -1)
        self.blockSignals(False)
        if self.currentData() != current:
            self.currentIndexChanged.emit(self.currentIndex())

    def loaded(self):
        """The chosen ``LoadedCheckpoint`` or None."""
        key = self.currentData()
        return self.workspace.catalog.checkpoints.get(key) if key else None

    def model_or_message(self, what: str) -> tuple[object | None, str | None]:
        """(the chosen entry, None) when it has a model to analyse; else (None, the message: none
        chosen, or a predictions file chosen, which has poses but no weights)."""
        loaded = self.loaded()
        if loaded is None:
            return None, msg.NEED_CHECKPOINT_TO_ANALYSE
        if getattr(loaded, "model", None) is None:
            return None, msg.NOT_A_MODEL.format(name=loaded.path.name, what=what)
        return loaded, None

    def select_key(self, key: str) -> None:
        i = self.findData(key)
        if i >= 0:
            self.setCurrentIndex(i)


class ProjectionOptions(QWidget):
    """The samples' split and the projection's own settings, passed to
    ``hpe_core.analysis.projections`` (:meth:`values` are ``EmbedRequest`` fields): t-SNE's
    perplexity, UMAP's neighbours and min-dist; each shows only with its method
    (:meth:`set_method`). ``changed`` when one is edited."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.split = QComboBox(objectName="split", toolTip="Which samples: a split of the dataset, or all")
        for s in ("all", "train", "val", "test"):
            self.split.addItem(s, s)
        self.perplexity = QDoubleSpinBox(objectName="perplexity", minimum=2.0, maximum=500.0, value=30.0,
                                         decimals=0, singleStep=5.0, prefix="perplexity ",
                                         toolTip="t-SNE perplexity: about how many neighbours each point keeps")
        self.neighbours = QSpinBox(objectName="neighbours", minimum=2, maximum=500, value=15, prefix="neighbours ",
                                   toolTip="UMAP n_neighbors: local (small) against global (large) structure")
        self.min_dist = QDoubleSpinBox(objectName="minDist", minimum=0.0, maximum=1.0, value=0.1, decimals=2,
                                       singleStep=0.05, prefix="min-dist ",
                                       toolTip="UMAP min_dist: how tightly points may pack")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("split"))
        for w in (self.split, self.perplexity, self.neighbours, self.min_dist):
            layout.addWidget(w)
        self.split.currentIndexChanged.connect(self.changed)
        for spin in (self.perplexity, self.neighbours, self.min_dist):
            spin.setKeyboardTracking(False)  # recompute once the value is typed, not per digit
            spin.valueChanged.connect(self.changed)
        self.set_method("pca")

    def set_method(self, method: str) -> None:
        self.perplexity.setVisible(method == "tsne")
        self.neighbours.setVisible(method == "umap")
        self.min_dist.setVisible(method == "umap")

    def values(self) -> dict:
        return {"split": self.split.currentData(), "perplexity": float(self.perplexity.value()),
                "n_neighbors": int(self.neighbours.value()), "min_dist": float(self.min_dist.value())}


def layer_combo(tip: str) -> QComboBox:
    """The layers an analysis can read, in the network's order (data: the name); the encoder chosen."""
    combo = QComboBox(toolTip=tip)
    for name in LAYER_ORDER:
        combo.addItem(name, name)
    combo.setCurrentIndex(combo.findData("encoder"))
    return combo


def method_combo(tip: str) -> QComboBox:
    """The projections of :data:`METHOD_LABELS` (data: the method's key)."""
    combo = QComboBox(toolTip=tip)
    for key, label in METHOD_LABELS.items():
        combo.addItem(label, key)
    return combo


def controls_row(widgets: list[QWidget]) -> QScrollArea:
    """A row of controls that scrolls sideways when its dock is narrower than the row, so a
    view's minimum width never forces the window wider."""
    inner = QWidget()
    row = QHBoxLayout(inner)
    row.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    area = QScrollArea()
    area.setWidget(inner)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setFixedHeight(inner.sizeHint().height() + area.horizontalScrollBar().sizeHint().height() + 2)
    area.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    return area


class RunStrip(QWidget):
    """Run and cancel buttons, a progress bar, a status text and a message line."""

    run_clicked = Signal()
    cancel_clicked = Signal()
    export_clicked = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.run = QPushButton("Run")
        self.run.setToolTip("Compute in the background (changing a setting recomputes)")
        self.cancel = QToolButton(text="Cancel")
        self.cancel.setEnabled(False)
        self.export = QToolButton(text="Export…")
        self.export.setToolTip("Export this view's figures (PNG, SVG, PDF)")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(160)
        self.bar.setMinimumWidth(40)
        self.status = QLabel("")
        self.status.setStyleSheet("color: #9aa0ad;")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.level = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.run, self.cancel, self.bar, self.status):
            layout.addWidget(w)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.export)
        self.run.clicked.connect(self.run_clicked)
        self.cancel.clicked.connect(self.cancel_clicked)
        self.export.clicked.connect(self.export_clicked)

    def set_running(self, running: bool) -> None:
        self.cancel.setEnabled(running)
        if not running:
            self.bar.setValue(0)
            self.status.setText("")

    def set_progress(self, fraction: float) -> None:
        self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))

    def show_message(self, level: str, text: str) -> None:
        self.level = level if text else ""
        self.message.setText(text.split("\n\n")[0])
        self.message.setToolTip(text)
        self.message.setStyleSheet(LEVEL_STYLE.get(level, ""))

    def clear_message(self) -> None:
        self.show_message("", "")


class AnalysisRunner(QObject):
    """A view's current job: one :class:`TaskSlot` on the workspace's task manager, shown on a
    :class:`RunStrip`. A new job cancels the old one; signals of an old job are ignored; a
    failure becomes a message in the strip (and, for a bug, a workspace message with the trace)."""

    def __init__(self, workspace: Workspace, strip: RunStrip, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.strip = strip
        self.slot = TaskSlot(self)
        self.last_error: BaseException | None = None
        strip.cancel_clicked.connect(self.cancel)

    @property
    def task(self) -> Task | None:
        return self.slot.task

    def running(self) -> bool:
        return self.slot.task is not None

    def start(self, fn, name: str, on_partial=None, on_done=None, on_failed=None, hidden: bool = False) -> Task:
        task = Task(fn, name=name, parent=self, report_errors=False, hidden=hidden)  # the strip says it
        current = lambda t=task: self.slot.task is t  # noqa: E731
        task.progress_changed.connect(lambda f: current() and self.strip.set_progress(f))
        task.status_changed.connect(lambda s: current() and self.strip.status.setText(s))
        if on_partial is not None:
            task.partial.connect(lambda item: current() and on_partial(item))
        if on_done is not None:
            task.done.connect(lambda result: current() and on_done(result))
        task.failed.connect(lambda exc, t=task: current() and self._on_failed(t, exc, on_failed))
        task.finished.connect(lambda: self.strip.set_running(self.slot.task is not None
                                                             and self.slot.task.is_running()))
        self.last_error = None
        self.strip.clear_message()
        self.strip.set_running(True)
        self.strip.status.setText(msg.RUNNING.format(what=name))
        return self.slot.start(task, self.workspace.tasks)

    def cancel(self) -> None:
        self.slot.cancel()

    def _on_failed(self, task: Task, exc: BaseException, on_failed) -> None:
        self.last_error = exc
        bad_input = messages.is_user_error(exc)
        text = (msg.ANALYSIS_FAILED if bad_input else msg.ANALYSIS_BUG).format(what=task.name, why=str(exc) or type(exc).__name__)
        self.strip.show_message("error", text)
        if not bad_input:
            self.workspace.message.emit("error", messages.with_traceback(exc, text))
        if on_failed is not None:
            on_failed(exc)
