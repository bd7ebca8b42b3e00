"""Lazy thumbnails: an LRU cache of ``QImage`` plus a loader that fetches only what was asked
for last (the rows on screen), in batches on a worker :class:`Task`, in the order they were asked
(a view paints its rows top-left first, so the first rows on screen come first)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from app.workers.task import Task
from hpe_core.errors import InputError

BATCH = 24


def to_qimage(image: np.ndarray) -> QImage:
    """``(H, W, 3)`` uint8 RGB → a ``QImage`` owning its pixels."""
    image = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    h, w = image.shape[:2]
    return QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def person_crop(dataset, i: int, image: np.ndarray) -> np.ndarray:
    """Row ``i``'s person crop of ``image`` when the dataset has boxes (what a model sees), else ``image``."""
    if not dataset.has("boxes"):
        return image
    from hpe_core.datasets.boxes import row_region
    from hpe_core.datasets.transforms import crop

    region = row_region(dataset, i, image.shape[:2])
    return image if region is None else crop(image, region)


class LRUCache:
    """A tiny least-recently-used map with a fixed capacity."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()

    def get(self, key):
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key, value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __contains__(self, key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()


class ThumbnailLoader(QObject):
    """``request(i)`` returns the cached thumbnail of row ``i`` or None and queues a load;
    ``thumbnail_ready(i)`` follows when it arrives. Stale requests (scrolled away) are dropped."""

    thumbnail_ready = Signal(int)

    def __init__(self, dataset, size: int = 96, capacity: int = 2000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dataset = dataset
        self.size = size
        self.cache = LRUCache(capacity)
        self.failed: set[int] = set()
        self.loads = 0  # images decoded so far (for tests and benchmarks)
        self._pending: OrderedDict[int, int] = OrderedDict()  # row -> the paint pass that asked for it
        self._pass = 0
        self._in_pass = False
        self._task: Task | None = None
        self._timer = QTimer(self, singleShot=True, interval=15)
        self._timer.timeout.connect(self._start_batch)
        self._closed = False

    def request(self, index: int) -> QImage | None:
        image = self.cache.get(index)
        if image is None and index not in self.failed and not self._closed:
            if not self._in_pass:  # the first request of a paint pass: it outranks every earlier pass
                self._in_pass = True
                self._pass += 1
                QTimer.singleShot(0, self._end_pass)
            self._pending.pop(index, None)
            self._pending[index] = self._pass
            if self._task is None and not self._timer.isActive():
                self._timer.start()
        return image

    def close(self) -> None:
        """Stop loading; the running batch is cancelled."""
        self._closed = True
        self._pending.clear()
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()

    def wait(self, msecs: int = 5000) -> bool:
        return self._task is None or self._task.wait(msecs)

    def _end_pass(self) -> None:
        self._in_pass = False

    def _start_batch(self) -> None:
        if self._closed or self._task is not None or not self._pending:
            return
        latest = max(self._pending.values())
        asked = [i for i, p in self._pending.items() if p == latest]  # the last pass, in its order
        keys = asked[:BATCH]
        # the rest of that pass waits for the next batch; earlier passes scrolled away (asked again if back)
        self._pending = OrderedDict((i, latest) for i in asked[BATCH:])
        self._task = Task(self._make_job(keys), name="thumbnails", parent=self, hidden=True)
        self._task.partial.connect(self._on_task_partial)
        self._task.finished.connect(self._on_task_finished)
        self._task.start()

    def _make_job(self, keys: list[int]):  # a dataset with person boxes: each row's crop, one per person
        dataset, size = self.dataset, self.size

        def run(progress):
            for i in keys:
                if progress.cancelled():
                    return
                try:
                    image = to_qimage(person_crop(dataset, i, dataset.load_image(i)))
                    thumb = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)
                except (InputError, OSError, ValueError):  # a broken image is shown as such
                    thumb = None
                progress.partial((i, thumb))

        return run

    def _on_task_partial(self, item) -> None:
        index, thumb = item
        self.loads += 1
        if thumb is None:
            self.failed.add(index)
        else:
            self.cache.put(index, thumb)
        self.thumbnail_ready.emit(index)

    def _on_task_finished(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.deleteLater()
        if self._pending and not self._closed:
            self._timer.start()
