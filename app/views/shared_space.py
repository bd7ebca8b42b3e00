"""The embedding explorer's UniHPE mode: a ``unihpe`` checkpoint shows its shared space — the
image, 2D and 3D embeddings of the samples projected together (t-SNE by default), coloured and
shaped by modality, joined per sample (:class:`ModalityOverlay`) — and picking a sample's image
lists its nearest 2D and 3D poses across the dataset (:class:`RetrievalView`).

Everything shown is computed by :mod:`hpe_core.studies.unihpe_space` (``shared_space`` in a worker, the
retrieval on a pick); the pick itself is the workspace's selection (``workspace.select``), so
the image and 3D views follow it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QCheckBox, QComboBox, QSpinBox, QStackedWidget, QTableWidget, QVBoxLayout, QWidget

from app.model import messages as msg
from app.views.analysis_controls import AnalysisRunner, CheckpointCombo, RunStrip
from app.views.retrieval_view import RetrievalView
from app.visuals.binding import bind
from app.visuals.modality_overlay import ModalityOverlay
from app.visuals.scatter_plot import ScatterPlot

if TYPE_CHECKING:
    from app.workspace import Workspace

LINK_LIMIT = 500  # samples up to which the joining lines are drawn by default
TOP_K = 5


def is_unihpe(loaded) -> bool:
    """Whether ``loaded``'s family shares one space between modalities (its declared inputs/outputs)."""
    from hpe_core.models.families.capabilities import shares_a_space

    return loaded is not None and shares_a_space(loaded.info)


class Explorer(Protocol):
    """What the mode reads and sets of the embedding explorer that holds it (a QObject, its parent)."""

    workspace: Workspace
    checkpoint: CheckpointCombo
    method: QComboBox
    dims: QComboBox
    samples: QSpinBox
    layer: QComboBox
    clusters: QSpinBox
    colour: QComboBox
    strip: RunStrip
    runner: AnalysisRunner
    plot: ScatterPlot
    stack: QStackedWidget
    layers_table: QTableWidget
    silhouette: QWidget
    bundle: object
    result: object
    indices: np.ndarray


class SharedSpaceMode(QObject):
    """Owns the overlay on the explorer's 2D plot, the links toggle and the retrieval panel."""

    def __init__(self, view: Explorer) -> None:
        super().__init__(view)
        self.view, self.workspace = view, view.workspace
        self.space = None  # hpe_core.studies.unihpe_space.SharedSpace shown
        self.active = False
        self._checkpoint = None  # the path whose space is shown (for the t-SNE default)
        self.overlay = ModalityOverlay(view.plot, parent=self)
        self.links = QCheckBox("Join each sample's embeddings", checked=True,
                               toolTip="Thin lines from each sample's image embedding to its 2D and 3D ones")
        self.retrieval = RetrievalView()
        self.panel = QWidget()
        layout = QVBoxLayout(self.panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.links)
        layout.addWidget(self.retrieval, 1)
        self.panel.setVisible(False)
        self._links_chosen = False  # the user set the toggle: a large space no longer turns it off
        self.links.toggled.connect(self.overlay.set_links)
        self.links.clicked.connect(lambda: setattr(self, "_links_chosen", True))
        self.overlay.image_clicked.connect(self.workspace.select)
        self._hover_connected = False
        if view.card is not None:
            view.card.watch(view.plot)  # the card goes when the mouse leaves the plot it describes
        bind(self.workspace.feed.selection_changed, self._on_feed_selection_changed, self)
        bind(self.workspace.catalog.current_dataset_changed, self._on_catalog_dataset_changed, self)

    # ------------------------------------------------------------------ running
    def maybe_run(self) -> bool:
        """Run the shared space when the explorer's checkpoint is a UniHPE one (True), else
        leave this mode (False: the ordinary explorer runs)."""
        ws = self.workspace
        loaded, entry = self.view.checkpoint.loaded(), ws.catalog.datasets.get(ws.catalog.current_key)
        if not is_unihpe(loaded) or entry is None:
            self.leave()
            return False
        self.run(loaded, entry)
        return True

    def run(self, loaded, entry) -> None:
        """Compute the shared space of ``loaded`` over the dataset ``entry`` in the view's runner."""
        from hpe_core.studies.unihpe_space import SharedSpaceSpec, shared_space

        v = self.view
        if self._checkpoint != str(loaded.path):  # a new UniHPE checkpoint: t-SNE, 2D
            self._checkpoint = str(loaded.path)
            for combo, value in ((v.method, "tsne"), (v.dims, 2)):
                combo.blockSignals(True)
                combo.setCurrentIndex(combo.findData(value))
                combo.blockSignals(False)
        self.enter()
        if int(v.dims.currentData()) != 2:
            v.strip.show_message("info", msg.SHARED_SPACE_2D)
        spec = SharedSpaceSpec(str(loaded.path), entry.dataset, max_samples=int(v.samples.value()) or None,
                               method=v.method.currentData(), dims=2, device=self.workspace.device.spec)
        label = v.method.currentText()
        v.runner.start(lambda progress: shared_space(spec, progress), f"Shared space ({label})",
                       on_done=self._on_task_done)

    def enter(self) -> None:
        self.active = True
        v = self.view
        if not self._hover_connected and v.card is not None:  # after the explorer's own: these lines win
            v.plot.hovered.connect(self._on_plot_hovered)
            self._hover_connected = True
        v.bundle = v.result = None  # the one-layer result (its clusters) says nothing of these points
        v.indices = np.zeros(0, np.int64)
        for widget in self._one_layer_controls():
            widget.setEnabled(False)
        self.panel.setVisible(True)
        self._show_cluster_parts(False)
        self.view.stack.setCurrentWidget(self.view.plot)

    def _one_layer_controls(self):
        """Controls of the ordinary explorer that the shared space has no use for."""
        v = self.view
        return (v.layer, v.clusters, v.colour)

    def _show_cluster_parts(self, on: bool) -> None:
        """The per-layer table and the silhouette plot speak of k-means clusters of one layer,
        which the shared space does not have: they make room for the retrieval panel."""
        self.view.layers_table.setVisible(on)
        self.view.silhouette.setVisible(on)
        structure = getattr(self.view, "structure", None)  # the label silhouettes and the scan over k
        if structure is not None:
            structure.setVisible(on)

    def leave(self) -> None:
        """Back to the ordinary explorer (another checkpoint)."""
        if not self.active:
            return
        self.active, self.space, self._checkpoint = False, None, None
        self.overlay.hide()
        self.panel.setVisible(False)
        self._show_cluster_parts(True)
        for widget in self._one_layer_controls():
            widget.setEnabled(True)
        self.retrieval.clear()

    def _on_task_done(self, space) -> None:
        v = self.view
        self.space = space
        n = len(space.indices)
        if n > LINK_LIMIT and self.links.isChecked() and not self._links_chosen:
            self.links.setChecked(False)
            v.strip.show_message("info", msg.SHARED_LINKS_OFF.format(samples=n))
        self.overlay.set_data(space.coords, space.modality, space.indices)
        self.overlay.set_links(self.links.isChecked())
        self.overlay.show()
        # hover and the selection tools; a sample's image rows last, so the plot's hover ring
        # (at the last row of a dataset index) marks the image point whichever point is hovered
        order = np.argsort(-space.modality.astype(np.int64), kind="stable")
        v.plot.set_data(space.coords[order], np.tile(space.indices, 3)[order])
        v.plot.set_axis_labels(f"{v.method.currentText()} 1", f"{v.method.currentText()} 2")
        v.plot.plot_item.setTitle(f"{v.method.currentText()} of the shared space", size="10pt")
        if not (n > LINK_LIMIT):
            v.strip.show_message("info", msg.SHARED_SPACE.format(samples=n, method=v.method.currentText(),
                                                                 top1=space.info["top1_image_pose3d"]))
        self.show_retrieval(self.workspace.feed.selection)

    def figures(self) -> list:
        """The shared-space plot (and the retrieval poses when shown) for export."""
        from app.export import Figure
        from app.workers.analysis_jobs import provenance

        space = self.space
        if space is None:
            return []
        prov = provenance(dataset=str(getattr(self.workspace.catalog.dataset, "path", "")), **space.info)
        out = [Figure("shared_space", f"{self.view.method.currentText()} of the UniHPE shared space "
                      f"({len(space.indices)} samples; image, 2D and 3D embeddings)", self.view.plot, prov)]
        if self.retrieval.poses is not None and self.retrieval.hits:
            out.append(Figure("best_3d_match", self.retrieval.title.text(), self.retrieval.poses, prov))
        return out

    # ------------------------------------------------------------------ retrieval
    def neighbours(self, index: int) -> dict[str, list[tuple[int, float]]]:
        """hpe_core's top-k 2D and 3D poses nearest to the image embedding of sample ``index``."""
        return {target: self.space.neighbours(index, target, "image", TOP_K) for target in ("pose2d", "pose3d")}

    def show_retrieval(self, index: int) -> None:
        space, ds = self.space, self.workspace.catalog.dataset
        if space is None or ds is None or index < 0:
            self.retrieval.clear()
            self.overlay.mark(-1)
            return
        if space.row_of(index) < 0:
            self.overlay.mark(-1)
            self.retrieval.clear(msg.RETRIEVAL_NOT_IN_SPACE.format(name=ds.sample_name(index)))
            return
        hits = self.neighbours(index)
        named = {k: [(ds.sample_name(i), i, c) for i, c in v] for k, v in hits.items()}
        self.retrieval.show_hits(msg.RETRIEVAL_TITLE.format(name=ds.sample_name(index), samples=len(space.indices)),
                                 named, index, _same_pose(ds, index, space.indices))
        self.overlay.mark(index, [(k, i) for k, v in hits.items() for i, _c in v[:1]])
        best, cosine = hits["pose3d"][0]
        own = space.joints_3d[space.row_of(index)]
        match = space.joints_3d[space.row_of(best)]
        root = ds.skeleton.root
        self.retrieval.show_poses(ds.skeleton, own - own[root], match - match[root],
                                  {"gt": f"{ds.sample_name(index)} (picked)",
                                   "a": f"best 3D match {ds.sample_name(best)} (cos {cosine:.3f})"})

    def _on_plot_hovered(self, index: int) -> None:
        """The hover card of a sample of the space: the error of the UniHPE checkpoint shown
        (named), not the active checkpoint's."""
        if not self.active or index < 0 or self.view.card is None:
            return
        from PySide6.QtGui import QCursor

        from app.views.embedding_colours import describe_sample

        lines = describe_sample(index, np.zeros(0, np.int64), None, self.workspace, self.view.checkpoint.currentData())
        self.view.card.show_sample(index, lines, QCursor.pos())

    def _on_feed_selection_changed(self, index: int) -> None:
        if self.active and self.space is not None:
            self.show_retrieval(int(index))

    def _on_catalog_dataset_changed(self, _entry) -> None:
        if self.active:
            self.view.runner.cancel()
            self.space = None
            self.overlay.hide()
            self.view.plot.clear_data()
            self.retrieval.clear()


def _same_pose(dataset, index: int, indices: np.ndarray) -> frozenset[int]:
    """Samples of ``indices`` showing the same physical pose as ``index`` (its ``pose_id``)."""
    pose_id = getattr(dataset, "pose_id", None)
    if pose_id is None:
        return frozenset()
    ids = np.asarray(pose_id)
    same = indices[ids[indices] == ids[int(index)]]
    return frozenset(int(i) for i in same if int(i) != int(index))
