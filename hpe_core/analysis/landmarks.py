"""UMAP and t-SNE of large sets: fit on landmarks, place the rest out of sample.

Above :data:`LANDMARK_FROM` samples a map is fitted on :data:`LANDMARKS` rows drawn at random
(seeded), and every other row is placed on it by the library's own out-of-sample method
(umap-learn's ``UMAP.transform``, openTSNE's ``TSNEEmbedding.transform``), a chunk at a time. The
map grows in place: ``progress.partial`` gets the (N, dims) coordinates so far every
:data:`SNAPSHOT_SECONDS` (rows not placed yet are NaN, which the views leave out), and a cancel
stops between chunks. The result's ``info["how"]`` says how the map was made.
"""

from __future__ import annotations

import time

import numpy as np

from hpe_core.progress import ProgressSink, check_cancelled, stage

LANDMARK_FROM = 50_000   # a full fit up to here (about a minute on 2 cores), landmarks above
LANDMARKS = 20_000       # rows the map is fitted on
CHUNK = 20_000           # rows placed per call to the library's transform
SNAPSHOT_SECONDS = 3.0   # at most this long between two snapshots of the growing map


def use_landmarks(n: int, landmarks: int | None) -> int:
    """Landmarks to fit on: ``landmarks`` (0: none), else :data:`LANDMARKS` above :data:`LANDMARK_FROM`."""
    if landmarks is not None:
        return int(landmarks) if 0 < int(landmarks) < n else 0
    return LANDMARKS if n > LANDMARK_FROM else 0


class _Spread:
    """Passes a landmark map's partial (m, dims) coordinates on as (N, dims), NaN elsewhere."""

    def __init__(self, progress: ProgressSink, rows: np.ndarray, n: int) -> None:
        self._p, self._rows, self._n = progress, rows, n

    def set_progress(self, fraction: float) -> None:
        self._p.set_progress(fraction)

    def set_status(self, text: str) -> None:
        self._p.set_status(text)

    def partial(self, result) -> None:
        coords = np.asarray(result, np.float32)
        if coords.ndim == 2 and len(coords) == len(self._rows):
            full = np.full((self._n, coords.shape[1]), np.nan, np.float32)
            full[self._rows] = coords
            self._p.partial(full)

    def cancelled(self) -> bool:
        return self._p.cancelled()


def project_by_landmarks(x, dims: int, seed: int, count: int, fit, placement: str,
                         progress: ProgressSink) -> tuple[np.ndarray, dict]:
    """``fit(rows (m, D) float32, progress) -> (coords (m, dims), place, info)`` with
    ``place(rows (B, D)) -> (B, dims)``; returns ``(coords (N, dims) float32, info)``."""
    n = x.shape[0]
    rows = np.sort(np.random.default_rng(seed).choice(n, count, replace=False))
    progress.set_status(f"fitting the map on {count:,} landmarks of {n:,} samples")
    coords = np.full((n, dims), np.nan, np.float32)
    fitted, place, info = fit(np.asarray(x[rows], np.float32), _Spread(stage(progress, 0.0, 0.4), rows, n))
    coords[rows] = fitted
    progress.partial(coords.copy())
    rest = np.ones(n, bool)
    rest[rows] = False
    rest = np.flatnonzero(rest)
    last = time.monotonic()
    for a in range(0, len(rest), CHUNK):
        check_cancelled(progress)
        chunk = rest[a:a + CHUNK]
        coords[chunk] = place(np.asarray(x[chunk], np.float32))
        done = min(a + CHUNK, len(rest))
        progress.set_progress(0.4 + 0.6 * done / max(len(rest), 1))
        progress.set_status(f"placed {done:,} of {len(rest):,} samples on the landmarks' map")
        if time.monotonic() - last >= SNAPSHOT_SECONDS or done == len(rest):
            progress.partial(coords.copy())
            last = time.monotonic()
    info.update({"how": f"landmarks: fitted on {count:,} seeded samples, the other {n - count:,} placed by "
                        f"{placement}", "landmarks": int(count)})
    return coords, info
