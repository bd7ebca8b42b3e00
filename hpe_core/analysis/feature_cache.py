"""The embeddings' cache on disk: rows streamed to a raw file, resumable, sharded under torchrun.

``<key>.f16`` (or ``.f32``) holds the rows (float16 or float32, as asked: the meta says which),
``<key>.idx.npy`` their dataset positions, ``<key>.json`` the meta, written last: it marks the
entry complete. While a run extracts, each process appends to ``<key>.r<rank>of<world>.part``
(+ ``.part.idx``, raw int64 positions) and records a resume point (``.part.json``: rows written,
samples consumed, those skipped) every :data:`RESUME_EVERY_S` seconds and when cancelled; the
same run started again goes on from there. The disk work runs in a thread of each part's, beside
the model (:data:`WRITES_AHEAD` batches at most), so memory stays at a few batches whatever the
sample count.

Under ``torchrun`` (``WORLD_SIZE`` > 1: gloo on CPU, nccl on CUDA) each rank extracts a contiguous
shard of the samples and rank 0 joins the shards in rank order into the entry, so the entry is
the one a single process writes; the other ranks wait for it and read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

import numpy as np

from hpe_core.errors import DatasetError
from hpe_core.progress import Cancelled, ProgressSink, check_cancelled

CACHE_VERSION = 1
DTYPES = {"float16": ".f16", "float32": ".f32"}
RESUME_EVERY_S = 2.0
WRITES_AHEAD = 4  # batches a part's writer thread may hold before the extraction waits for it
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_F16_MAX = 65504.0


def shard(device: str = "cpu") -> tuple[int, int]:
    """``(rank, world size)`` that torchrun set, joining its process group (nccl when ``device`` is
    CUDA, each rank on the GPU of its local rank; gloo otherwise); ``(0, 1)`` alone."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        cuda = str(device).startswith(("cuda", "auto")) and torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


class FeatureCache:
    """A folder of cache entries (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def key(self, checkpoint_sha: str, dataset, layer: str, idx: np.ndarray, size: int, precision: str,
            dtype: str = "float16") -> str:
        stamp = {"v": CACHE_VERSION, "checkpoint": checkpoint_sha, "dataset": str(Path(dataset.path).resolve()),
                 "stamp": dataset_stamp(dataset), "layer": layer, "size": int(size), "precision": precision,
                 "indices": hashlib.sha256(np.ascontiguousarray(idx, np.int64).tobytes()).hexdigest()}
        if dtype != "float16":  # float16 entries keep the keys they always had
            stamp["dtype"] = dtype
        return hashlib.sha256(json.dumps(stamp, sort_keys=True).encode()).hexdigest()[:32]

    def data_path(self, key: str, dtype: str = "float16") -> Path:
        return self.folder / f"{key}{DTYPES[dtype]}"

    def read(self, key: str):
        """``(features memmap (M, d), positions (M,), skipped names)`` or None when absent or broken."""
        try:
            meta = json.loads((self.folder / f"{key}.json").read_text())
            rows, dims = (int(v) for v in meta["shape"])
            dtype = np.dtype(meta.get("dtype", "float16"))
            path = self.data_path(key, dtype.name)
            if path.stat().st_size != rows * dims * dtype.itemsize:
                return None
            feats = np.memmap(path, dtype=dtype, mode="r", shape=(rows, dims))
            positions = np.load(self.folder / f"{key}.idx.npy", allow_pickle=False)
            if positions.shape != (rows,):
                return None
            return feats, positions, list(meta.get("skipped", []))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @contextmanager
    def writing(self, key: str, rank: int = 0, world: int = 1):
        """Held while this rank writes ``key``'s part: a second writer of the same entry (another view's
        job, another process) waits, then finds the entry made (the caller reads the cache again)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.r{rank}of{world}.lock"
        with _LOCKS_GUARD:
            lock = _LOCKS.setdefault(str(path), threading.Lock())
        with lock, open(path, "a+b") as fh:
            try:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # other processes (released when fh closes)
            except ImportError:  # Windows: the threads of this process only
                pass
            yield

    def part(self, key: str, layer: str, dtype: str = "float16", rank: int = 0, world: int = 1) -> "Part":
        self.folder.mkdir(parents=True, exist_ok=True)
        return Part(self, key, layer, dtype, rank, world)


class Part:
    """One process's rows of an entry being written: appended, with a resume point."""

    def __init__(self, cache: FeatureCache, key: str, layer: str, dtype: str, rank: int, world: int) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"feature dtype {dtype!r}; valid: {', '.join(DTYPES)}")
        self.cache, self.key, self.layer, self.dtype = cache, key, layer, np.dtype(dtype)
        self.base = cache.folder / f"{key}.r{rank}of{world}.part"
        self.rows, self.dims, self.consumed, self.skipped = 0, None, 0, []
        try:  # a resume point of an earlier run of the same entry: go on from it
            state = json.loads(self.base.with_suffix(".part.json").read_text())
            self.rows, self.dims, self.consumed, self.skipped = (int(state["rows"]), state["dims"],
                                                                 int(state["consumed"]), list(state["skipped"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.fh = open(self.base, "ab")
        self.fh.truncate(self.rows * (self.dims or 0) * self.dtype.itemsize)  # past the resume point: dropped
        self.ih = open(self.base.with_suffix(".part.idx"), "ab")
        self.ih.truncate(self.rows * 8)
        self._saved = time.monotonic()
        # the disk work (writes, fsyncs, resume points) in one thread of its own, in order, so that it
        # overlaps the model's next batches; at most WRITES_AHEAD tasks wait (memory: that many batches)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="feature-part")
        self._pending: deque = deque()

    def _submit(self, task, *args) -> None:
        self._pending.append(self._writer.submit(task, *args))
        while len(self._pending) > WRITES_AHEAD:
            self._pending.popleft().result()  # a failed write (a full disk) raises here

    def _drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def write(self, rows: np.ndarray, positions: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype).reshape(rows.shape[0], -1)
        self.dims = rows.shape[1] if self.dims is None else self.dims
        self._submit(self._append, rows, np.ascontiguousarray(positions, np.int64))
        self.rows += rows.shape[0]

    def _append(self, rows: np.ndarray, positions: np.ndarray) -> None:
        self.fh.write(memoryview(rows).cast("B"))
        self.ih.write(memoryview(positions).cast("B"))

    def advance(self, consumed: int, skipped: list[str], force: bool = False) -> None:
        """``consumed`` samples of the shard done (written or skipped): a resume point now and then
        (with ``force``, now, and returns once it is on disk)."""
        self.consumed, self.skipped = consumed, self.skipped + list(skipped)
        if force or time.monotonic() - self._saved >= RESUME_EVERY_S:
            state = {"rows": self.rows, "dims": self.dims, "consumed": consumed, "skipped": list(self.skipped)}
            self._submit(self._save, state)  # after the rows it counts, in the writer's order
            self._saved = time.monotonic()
        if force:
            self._drain()

    def _save(self, state: dict) -> None:
        from hpe_core.atomic import atomic_write

        for fh in (self.fh, self.ih):
            fh.flush()
            os.fsync(fh.fileno())
        atomic_write(self.base.with_suffix(".part.json"), json.dumps(state).encode())

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._writer.shutdown(wait=True)
            for fh in (self.fh, self.ih):
                if not fh.closed:
                    fh.close()

    def positions(self) -> np.ndarray:
        return np.fromfile(self.base.with_suffix(".part.idx"), np.int64)[:self.rows]

    def remove(self) -> None:
        self.close()
        for suffix in ("", ".idx", ".json"):
            Path(f"{self.base}{suffix}").unlink(missing_ok=True)


def resume_point(cache: FeatureCache, keys: list[str], rank: int, world: int) -> int:
    """Samples of this rank's shard already in the parts of ``keys`` (0: none, or the parts disagree,
    e.g. a layer was added: then they are dropped and the shard starts again)."""
    points = []
    for key in keys:
        try:
            points.append(int(json.loads((cache.folder / f"{key}.r{rank}of{world}.part.json").read_text())["consumed"]))
        except (OSError, ValueError, KeyError, TypeError):
            points.append(0)
    if len(set(points)) > 1:
        for key in keys:
            for suffix in ("", ".idx", ".json"):
                (cache.folder / f"{key}.r{rank}of{world}.part{suffix}").unlink(missing_ok=True)
        return 0
    return points[0] if points else 0


def join_parts(cache: FeatureCache, key: str, layer: str, dtype: str, world: int) -> None:
    """Rank 0: the ranks' parts, in rank order, become the entry (meta written last)."""
    from hpe_core.atomic import atomic_write

    parts = [Part(cache, key, layer, dtype, r, world) for r in range(world)]
    tmp = cache.folder / f".{key}.{os.getpid()}.join"
    for part in parts:
        part.close()
    if world == 1:
        os.replace(parts[0].base, tmp)  # one process: its part is the entry
    else:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part.base, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 22)
            out.flush()
            os.fsync(out.fileno())
    dims = next((p.dims for p in parts if p.dims), 0)
    positions = np.concatenate([p.positions() for p in parts])
    os.replace(tmp, cache.data_path(key, dtype))
    atomic_write(cache.folder / f"{key}.idx.npy", _npy_bytes(positions))
    meta = {"version": CACHE_VERSION, "layer": layer, "shape": [len(positions), dims], "dtype": dtype,
            "skipped": [s for p in parts for s in p.skipped], "shards": world}
    atomic_write(cache.folder / f"{key}.json", json.dumps(meta).encode())  # written last: marks complete
    for part in parts:
        part.remove()


def extract_to_cache(model, batches: Iterable[tuple], layers: tuple[str, ...] | list[str], cache: FeatureCache,
                     keys: dict[str, str], device: str, precision: str, total: int, progress: ProgressSink,
                     dtype: str = "float16", rank: int = 0, world: int = 1, start: int = 0) -> tuple[int, list[str]]:
    """Run ``model`` over ``batches`` (this rank's shard from its sample ``start`` on, where the
    parts' resume point is) and stream each layer's rows into its part; then the entry is joined."""
    import torch

    from hpe_core.devices import autocast, check_precision, resolve_device

    check_precision(precision)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    parts = {layer: cache.part(keys[layer], layer, dtype, rank, world) for layer in layers}
    try:
        done = start
        for pos, images, bad in batches:
            check_cancelled(progress)
            done += len(pos) + len(bad)
            rows = None
            if images is not None:
                with torch.inference_mode(), autocast(dev, precision):
                    feats = model.features(images.to(dev), layers)
                    rows = {n: _host_rows(feats[n], dtype) for n in layers}
            for layer in layers:
                if rows is not None:
                    parts[layer].write(rows[layer], pos)
                parts[layer].advance(done, bad)
            progress.set_progress(0.98 * done / max(total, 1))
            progress.set_status(f"embedded {done} of {total} samples" + (f" (rank {rank})" if world > 1 else ""))
        for part in parts.values():
            part.advance(done, [], force=True)
    except Cancelled:
        for part in parts.values():
            part.advance(part.consumed, [], force=True)  # resumable from here
        raise
    finally:
        for part in parts.values():
            part.close()
    return _finish(cache, parts, keys, layers, dtype, rank, world)


def _host_rows(feats, dtype: str) -> np.ndarray:
    """``feats`` as host rows of ``dtype``; float16 made by torch (about 10 times numpy's conversion on
    a CPU without F16C use), clamped to its range so that a large activation is not infinite."""
    import torch

    if dtype == "float16":
        return feats.float().clamp(-_F16_MAX, _F16_MAX).to(torch.float16).cpu().numpy()
    return feats.float().cpu().numpy()


def _finish(cache: FeatureCache, parts: dict, keys: dict, layers, dtype: str, rank: int,
            world: int) -> tuple[int, list[str]]:
    """Every rank done: rank 0 joins the parts into the entries, the others wait; ``(rows, skipped)``."""
    first = next(iter(parts.values()))
    if world == 1 and first.rows == 0:
        for part in parts.values():
            part.remove()
        raise DatasetError(f"no image could be read ({len(first.skipped)} skipped; first: {first.skipped[:1]})")
    _barrier(world)
    if rank == 0:
        for layer in layers:
            join_parts(cache, keys[layer], layer, dtype, world)
    _barrier(world)
    found = cache.read(keys[layers[0]])
    return (len(found[1]), found[2]) if found else (0, [])


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def dataset_stamp(dataset) -> str:
    """Changes when the dataset's annotations change: its summary plus its files' sizes and times."""
    path = Path(dataset.path)
    parts = [json.dumps(dataset.info(), sort_keys=True, default=str)]
    files = [path] if path.is_file() else [p for p in sorted(path.iterdir()) if p.is_file()][:64]
    for p in files:
        st = p.stat()
        parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
