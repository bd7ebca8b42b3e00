"""The sample feed: the selected row, its image once loaded, and the :class:`SampleData` the
image and 3D views draw. It keeps one image (the selected one's), so every other is freed."""

from __future__ import annotations

import numpy as np
from psygnal import Signal

from app.model.sample_data import SampleData, build_sample


class SampleFeed:
    selection_changed = Signal(int)
    sample_changed = Signal(object)  # SampleData | None

    def __init__(self) -> None:
        self.selection = -1
        self.sample: SampleData | None = None
        self._image: tuple[int, np.ndarray | None] | None = None  # (index, image) of the selection

    def select(self, index: int) -> bool:
        """Make ``index`` the selection; True (and ``selection_changed``) when it changed."""
        if index == self.selection:
            return False
        self.selection = index
        if self._image is not None and self._image[0] != index:
            self._image = None
        self.selection_changed.emit(index)
        return True

    def has_image(self, index: int) -> bool:
        return self._image is not None and self._image[0] == index

    def set_image(self, index: int, image: np.ndarray | None) -> bool:
        """Keep the loaded image of ``index`` if it is still the selection."""
        if index != self.selection:
            return False
        self._image = (index, image)
        return True

    def clear(self) -> None:
        """No selection (a new dataset, or none): the sample goes too."""
        self.selection, self._image = -1, None
        self.show(None)

    def rebuild(self, dataset, prediction: np.ndarray | None, align: str, **extra) -> None:
        """Build and announce the selected row's sample, once its image is loaded (``extra``:
        :func:`build_sample`'s keywords: ``detected_2d``, ``heatmaps``, ``source``)."""
        if dataset is None or self.selection < 0 or not self.has_image(self.selection):
            return
        self.show(build_sample(dataset, self.selection, self._image[1], prediction, align, **extra))

    def show(self, sample: SampleData | None) -> None:
        self.sample = sample
        self.sample_changed.emit(sample)
