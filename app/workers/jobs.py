"""The work behind the GUI's tasks: plain functions of ``progress`` that call ``hpe_core``.

Each ``*_job(...)`` returns ``fn(progress)`` for :class:`app.workers.Task`. Nothing here touches
Qt; torch and OpenCV are imported inside the functions, so they load in a worker thread.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import check_cancelled

CHECKPOINT_SUFFIXES = {".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".tar"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
Job = Callable[[Any], Any]


def classify(path: str | Path) -> str:
    """``"workspace"``, ``"checkpoint"``, ``"video"`` or ``"dataset"`` (the reader decides the rest)."""
    from app.workspace_file import is_workspace_file

    path = Path(path)
    suffix = path.suffix.lower()
    if is_workspace_file(path):
        return "workspace"
    if suffix in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return "dataset"


# ------------------------------------------------------------------------ datasets
def open_dataset_job(path: str | Path, skip_list: str | Path | None = None) -> Job:
    def run(progress):
        from hpe_core.datasets import open_dataset

        progress.set_status(f"Opening {Path(path).name}")
        return open_dataset(path, skip_list=skip_list)

    return run


# ------------------------------------------------------------------------ checkpoints
@dataclass
class LoadedCheckpoint:
    path: Path
    model: Any  # HPEModel, on ``device``, in eval mode
    info: Any  # CheckpointInfo
    device: str


def resolve_device(spec: str):
    from hpe_core.devices import resolve_device as resolve

    return resolve(spec)


def load_checkpoint_job(path: str | Path, device_spec: str = "auto") -> Job:
    def run(progress):
        progress.set_status(f"Loading {Path(path).name}")
        from hpe_core.models.checkpoint import load_checkpoint

        device = resolve_device(device_spec)
        model, info = load_checkpoint(path, device=device)
        model.eval()
        return LoadedCheckpoint(Path(path), model, info, str(device))

    return run


def move_checkpoint_job(loaded: LoadedCheckpoint, device_spec: str) -> Job:
    def run(progress):
        device = resolve_device(device_spec)
        loaded.model.to(device)
        loaded.device = str(device)
        return loaded

    return run


def image_size_of(model, default: int = 128) -> int:
    config = getattr(model, "config", {}) or {}
    for key in ("image_size", "input_size", "size"):
        if isinstance(config.get(key), int):
            return int(config[key])
    return default


def _predict(model, images: list[np.ndarray], device: str, precision: str) -> np.ndarray:
    """``(N, J, 3)`` root-relative mm predictions for a list of ``(H, W, 3)`` uint8 images."""
    import torch

    from hpe_core.datasets.transforms import to_tensor
    from hpe_core.devices import autocast

    size = image_size_of(model)
    batch = torch.stack([to_tensor(im, size) for im in images]).to(device)
    with torch.inference_mode(), autocast(torch.device(device), precision):
        out = model.predict_pose(batch)
    return out.float().cpu().numpy()


def predict_dataset_job(loaded: LoadedCheckpoint, dataset, indices: np.ndarray,
                        precision: str = "fp32", batch_size: int = 32) -> Job:
    """Predict rows ``indices`` of ``dataset``; partials ``{"indices", "joints"}`` per batch."""

    def run(progress):
        done, skipped = 0, 0
        progress.set_status(f"Predicting {len(indices)} samples")
        for start in range(0, len(indices), batch_size):
            check_cancelled(progress)
            chunk = [int(i) for i in indices[start:start + batch_size]]
            images, ok = [], []
            for i in chunk:
                try:
                    images.append(dataset.load_image(i))
                    ok.append(i)
                except (InputError, OSError):
                    skipped += 1
            if images:
                joints = _predict(loaded.model, images, loaded.device, precision)
                progress.partial({"indices": np.asarray(ok), "joints": joints})
            done += len(chunk)
            progress.set_progress(done / max(len(indices), 1))
        return {"done": done, "skipped": skipped}

    return run


# ------------------------------------------------------------------------ videos
@dataclass(frozen=True)
class VideoInfo:
    path: Path
    frames: int
    fps: float
    width: int
    height: int


def probe_video(path: str | Path) -> VideoInfo:
    """Open a video and decode its first frame; :class:`InputError` naming it otherwise."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    cap = cv2.VideoCapture(str(path))
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            raise InputError(f"{path}: cannot be decoded (not a video OpenCV can read)")
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0
        return VideoInfo(path, max(frames, 1), fps, frame.shape[1], frame.shape[0])
    finally:
        cap.release()


def probe_video_job(path: str | Path) -> Job:
    def run(progress):
        progress.set_status(f"Opening {Path(path).name}")
        return probe_video(path)

    return run


def predict_video_job(loaded: LoadedCheckpoint, info: VideoInfo, precision: str = "fp32",
                      batch_size: int = 8) -> Job:
    """Predict every frame; partials ``{"start", "joints"}``; returns ``(T, J, 3)``."""

    def run(progress):
        import cv2

        cap = cv2.VideoCapture(str(info.path))
        chunks: list[np.ndarray] = []
        progress.set_status(f"Predicting {info.path.name}")
        try:
            frame_no, batch = 0, []
            while True:
                check_cancelled(progress)
                ok, frame = cap.read()
                if ok:
                    batch.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                if batch and (len(batch) == batch_size or not ok):
                    joints = _predict(loaded.model, batch, loaded.device, precision)
                    progress.partial({"start": frame_no, "joints": joints})
                    chunks.append(joints)
                    frame_no += len(batch)
                    batch = []
                    progress.set_progress(min(frame_no / info.frames, 1.0))
                if not ok:
                    break
        finally:
            cap.release()
        if not chunks:
            raise InputError(f"{info.path}: no frame could be decoded")
        return np.concatenate(chunks)

    return run


def export_predictions(path: str | Path, joints: np.ndarray, skeleton: str, meta: dict) -> Path:
    """Write ``(T, J, 3)`` predictions as ``.npz``, ``.json`` or ``.csv`` (by suffix), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".json", ".csv"):
        raise InputError(f"{path}: export as .npz, .json or .csv")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if suffix == ".npz":
                np.savez(fh, joints_3d=joints.astype(np.float32), skeleton=np.array(skeleton),
                         meta=np.array(json.dumps(meta)))
            elif suffix == ".json":
                doc = {"skeleton": skeleton, "units": "mm", "frame": "root-relative camera frame",
                       **meta, "joints_3d": np.where(np.isfinite(joints), joints, None).tolist()}
                fh.write(json.dumps(doc).encode())
            else:
                header = "frame," + ",".join(f"j{j}_{a}" for j in range(joints.shape[1]) for a in "xyz")
                rows = [f"{t}," + ",".join(f"{v:.2f}" for v in joints[t].reshape(-1))
                        for t in range(len(joints))]
                fh.write(("\n".join([header, *rows]) + "\n").encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def probe_devices_job() -> Job:
    """The devices this machine offers: ``["cpu", "cuda:0", ..., "mps"]``."""

    def run(progress):
        import torch

        found = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            found.append("mps")
        names = {d: torch.cuda.get_device_name(int(d[5:])) for d in found if d.startswith("cuda")}
        return found, names

    return run
