"""The dataset browser: a virtualised grid of samples with filters and sorting.

A pick made in an analysis view (a lasso or rectangle) shows as a chip above the grid, never as
a hidden filter: it says how many samples it keeps and its ✕ button lists every sample again.
Problems of the current dataset (files that could not be read) show in a notice of their own,
which goes with the dataset: another dataset shows its own, or none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QSize, Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QListView, QSizePolicy, QStyle, QToolButton,
                               QVBoxLayout, QWidget)

from typing import TYPE_CHECKING

from app.model import browsing
from app.views.sample_model import IndexRole, SampleDelegate, SampleListModel
from app.visuals.binding import bind

if TYPE_CHECKING:
    from app.workspace import Workspace

FILTER_LABELS = {"action": "All actions", "subject": "All subjects", "camera": "All cameras",
                 "split": "All splits"}


class BrowserView(QWidget):
    """Lists ``workspace.browse.rows``; clicking a sample calls ``workspace.select``."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.catalog, self.browse, self.feed = workspace.catalog, workspace.browse, workspace.feed
        self._build_controls()
        self.pick_chip, self.pick_label, self.pick_clear = self._make_chip()
        self.notice = QLabel("", objectName="datasetNotice", wordWrap=True)
        self.notice.setStyleSheet("color: #ffd27a;")
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.notice.hide()
        self.model = SampleListModel(self)
        self.list = self._make_list()
        self.footer = QLabel("")
        self.footer.setObjectName("browserFooter")
        self.footer.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.footer.setWordWrap(True)  # the statistics wrap onto another line, never cut
        self._build_layout()
        self._updating = False
        self._shown_state, self._shown_key = None, None  # what the rows shown were listed by
        self._repaint_later = QTimer(self, singleShot=True, interval=200)
        self._repaint_later.timeout.connect(self._on_predictions_arrived)
        self._wire()

    def _build_controls(self) -> None:
        """The dataset chooser and its close button, a filter per label, the sort."""
        self.datasets = QComboBox()
        self.datasets.setToolTip("Open datasets")
        self.datasets.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.datasets.setMinimumContentsLength(10)
        self.close_button = QToolButton(toolTip="Close this dataset")
        self.close_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self.filters = {name: QComboBox(toolTip=f"Show one {name} only") for name in browsing.FILTERS}
        for combo in self.filters.values():
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.sort = QComboBox(toolTip="Sort by prediction error")
        for key, label in browsing.SORTS.items():
            self.sort.addItem(label, key)

    def _wire(self) -> None:
        ws = self.workspace
        self.datasets.activated.connect(self._on_datasets_activated)
        self.close_button.clicked.connect(self._on_close_clicked)
        self.sort.activated.connect(lambda _i: ws.set_sort(self.sort.currentData()))
        for name, combo in self.filters.items():
            combo.activated.connect(lambda _i, n=name: self._on_filter_activated(n))
        self.list.selectionModel().currentChanged.connect(self._on_list_current_changed)
        self.pick_clear.clicked.connect(lambda: ws.select_samples([]))
        bind(self.catalog.notes_changed, self._on_catalog_notes_changed, self)
        bind(self.catalog.datasets_changed, self._on_catalog_datasets_changed, self)
        bind(self.catalog.current_dataset_changed, self._on_catalog_current_dataset_changed, self)
        bind(self.browse.rows_changed, self._on_browse_rows_changed, self)
        bind(ws.cache.changed, self._on_cache_changed, self)
        bind(self.feed.selection_changed, self._on_feed_selection_changed, self)

    def _make_list(self) -> QListView:
        view = QListView()
        view.setModel(self.model)
        view.setItemDelegate(SampleDelegate(view))
        view.setViewMode(QListView.ViewMode.ListMode)
        view.setFlow(QListView.Flow.LeftToRight)
        view.setWrapping(True)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setUniformItemSizes(True)
        view.setGridSize(QSize(108, 124))
        view.setLayoutMode(QListView.LayoutMode.SinglePass)
        view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        view.verticalScrollBar().setSingleStep(24)
        return view

    def _make_chip(self) -> tuple[QWidget, QLabel, QToolButton]:
        chip = QWidget(objectName="pickChip")
        chip.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        chip.setStyleSheet("#pickChip { background: #3a4a63; border: 1px solid #5d7bab; border-radius: 9px; }"
                           " QLabel { color: #e6eefc; }")
        label = QLabel("")
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        clear = QToolButton(toolTip="Remove this selection: list every sample again")
        clear.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        clear.setAutoRaise(True)
        clear.setAccessibleName("Remove selection")
        row = QHBoxLayout(chip)
        row.setContentsMargins(8, 1, 2, 1)
        row.addWidget(label, 1)
        row.addWidget(clear)
        chip.hide()
        return chip, label, clear

    def _build_layout(self) -> None:
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.datasets, 0, 0, 1, 2)
        grid.addWidget(self.close_button, 0, 2)
        grid.addWidget(self.filters["action"], 1, 0)
        grid.addWidget(self.filters["subject"], 1, 1, 1, 2)
        grid.addWidget(self.filters["camera"], 2, 0)
        grid.addWidget(self.filters["split"], 2, 1, 1, 2)
        grid.addWidget(self.sort, 3, 0, 1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(grid)
        layout.addWidget(self.notice)
        layout.addWidget(self.pick_chip)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.footer)

    def shutdown(self) -> None:
        """Stop loading thumbnails and wait for the loader's thread."""
        for loader in [self.model.loader, *self.model.retired]:
            if loader is not None:
                loader.close()
                loader.wait()

    # ------------------------------------------------------------------ user → workspace
    def _on_datasets_activated(self, _index: int) -> None:
        key = self.datasets.currentData()
        if key and key != self.catalog.current_key:
            self.workspace.set_current_dataset(key)

    def _on_close_clicked(self) -> None:
        if self.catalog.current_key:
            self.workspace.close_dataset(self.catalog.current_key)

    def _on_filter_activated(self, name: str) -> None:
        self.workspace.set_filter(name, self.filters[name].currentData())

    def _on_list_current_changed(self, current, _previous) -> None:
        if self._updating or not current.isValid():
            return
        self.workspace.select(int(current.data(IndexRole)))

    # ------------------------------------------------------------------ workspace → view
    def _on_catalog_datasets_changed(self) -> None:
        self.datasets.clear()
        for key, entry in self.catalog.datasets.items():
            self.datasets.addItem(Path(key).name or key, key)
            self.datasets.setItemData(self.datasets.count() - 1, key, Qt.ItemDataRole.ToolTipRole)
        self._sync_dataset_combo()

    def _sync_dataset_combo(self) -> None:
        i = self.datasets.findData(self.catalog.current_key)
        self.datasets.setCurrentIndex(i)

    def _on_catalog_current_dataset_changed(self, entry) -> None:
        self._sync_dataset_combo()
        ds = None if entry is None else entry.dataset
        self.model.set_dataset(ds)
        choices = {} if ds is None else browsing.filter_choices(ds)
        for name, combo in self.filters.items():
            combo.clear()
            combo.addItem(FILTER_LABELS[name], None)
            for value, label in choices.get(name, []):
                combo.addItem(label, value)
            combo.setEnabled(combo.count() > 1)
        self._on_catalog_notes_changed(self.catalog.current_key)
        self._on_browse_rows_changed()

    def _on_browse_rows_changed(self) -> None:
        store = self.workspace.predictions()
        # the same filters, sort and pick as shown (new errors re-sorted the rows): the rows move,
        # the view does not (the scroll position and the picked sample stay)
        resorted = self.browse.state is self._shown_state and self.catalog.current_key == self._shown_key
        self._shown_state, self._shown_key = self.browse.state, self.catalog.current_key
        place = self.list.verticalScrollBar().value()
        self._updating = True
        self.model.set_rows(self.browse.rows, None if store is None else store.ranking)
        self._updating = False
        state = self.browse.state
        for name, combo in self.filters.items():
            combo.setCurrentIndex(max(combo.findData(state.filters.get(name)), 0))
        self.sort.setCurrentIndex(max(self.sort.findData(state.sort), 0))
        picked = state.picked
        self.pick_chip.setVisible(picked is not None)
        if picked is not None:
            self.pick_label.setText(f"Selection: {len(self.browse.rows):,} of {len(picked):,} picked samples shown"
                                    if len(self.browse.rows) != len(picked) else f"Selection: {len(picked):,} samples")
        self._on_feed_selection_changed(self.feed.selection, scroll=not resorted)
        if resorted:
            self.list.doItemsLayout()  # the scroll range of the new rows, then the place it had
            self.list.verticalScrollBar().setValue(place)
        self._update_footer()

    def _on_cache_changed(self, pair, _rows) -> None:
        if pair == (self.catalog.current_key, self.catalog.active_key) and not self._repaint_later.isActive():
            self._repaint_later.start()

    def _on_predictions_arrived(self) -> None:
        store = self.workspace.predictions()
        self.model.errors_updated(None if store is None else store.ranking)
        self._update_footer()

    def _on_catalog_notes_changed(self, key) -> None:
        if key != self.catalog.current_key:
            return
        entry = self.catalog.entry
        notes = [] if entry is None else list(entry.notes)
        self.notice.setText("\n".join(notes))
        self.notice.setToolTip("\n".join(notes))
        self.notice.setVisible(bool(notes))

    def _on_feed_selection_changed(self, index: int, scroll: bool = True) -> None:
        row = self.model.row_of(index)
        if row < 0:  # the shown sample is not listed: no other one may look selected
            self._updating = True
            self.list.selectionModel().clear()
            self._updating = False
            return
        self._updating = True
        mi = self.model.index(row)
        self.list.selectionModel().setCurrentIndex(mi, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if scroll:
            self.list.scrollTo(mi)
        self._updating = False

    def _update_footer(self) -> None:
        ds = self.catalog.dataset
        if ds is None:
            self.footer.setText("No dataset open")
            return
        shown = len(self.browse.rows)
        text = f"{shown:,} samples" if shown == len(ds) else f"{shown:,} of {len(ds):,} samples"
        store = self.workspace.predictions()
        if store is not None:  # statistics over the rows shown (after the filters), not the dataset
            text += footer_statistics(store, np.asarray(self.browse.rows, np.int64))
        self.footer.setText(text)


def footer_statistics(store, rows: np.ndarray) -> str:
    """`` · 812 predicted · PA-MPJPE mean 61.2 · median 55.0 mm`` over ``rows``."""
    rows = rows[(rows >= 0) & (rows < len(store.predicted))]
    predicted = int(store.predicted[rows].sum())
    text = f" · {predicted:,} predicted"
    err = np.asarray(store.ranking, np.float64)[rows]
    err = err[np.isfinite(err)]
    if err.size:
        text += f" · {store.ranking_label} mean {err.mean():.1f} · median {np.median(err):.1f} mm"
    return text
