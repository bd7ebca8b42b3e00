"""Pose datasets: one reader per format, the synthetic generator, augmentations, health checks.

``open_dataset(path)`` detects the format from the path:

- a folder with ``dataset.json`` (or that file, or its ``annotations.npz``): the native format;
- a folder holding ``ProcessedPanopticDataset/``, that folder, or one of its sequences: CMU Panoptic;
- ``data_3d_h36m*.npz`` (or a folder holding one): Human3.6M as prepared by VideoPose3D;
- a COCO keypoints ``.json`` (or a folder with ``annotations/person_keypoints_*.json``): COCO;
- a video file: its frames; a folder of images: those images.

Importing this package is cheap; OpenCV and torch load when first needed.
"""

from __future__ import annotations

from pathlib import Path

from hpe_core.datasets.base import PoseDataset, Sample
from hpe_core.errors import DatasetError

__all__ = ["open_dataset", "detect_format", "PoseDataset", "Sample", "FORMATS"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
FORMATS = ("native", "panoptic", "h36m", "coco", "video", "folder")


def detect_format(path: str | Path) -> str:
    """The format name of ``path``; :class:`DatasetError` saying what was looked for."""
    from hpe_core.datasets import coco, folder, h36m, native, panoptic

    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_file():
        suffix = path.suffix.lower()
        if path.name in (native.MANIFEST, native.ANNOTATIONS) and native.is_native(path.parent):
            return "native"
        if suffix in VIDEO_SUFFIXES:
            return "video"
        if suffix == ".npz" and h36m.is_h36m_file(path):
            return "h36m"
        if suffix == ".json":
            return "coco"
        raise DatasetError(f"{path}: not a dataset file (expected a dataset.json, a COCO keypoints .json, "
                           f"a Human3.6M data_3d_*.npz or a video {'/'.join(VIDEO_SUFFIXES)})")
    if native.is_native(path):
        return "native"
    if panoptic.is_panoptic(path):
        return "panoptic"
    if h36m.find_3d_file(path) is not None:
        return "h36m"
    if coco.find_annotation_file(path) is not None:
        return "coco"
    if folder.has_images(path):
        return "folder"
    raise DatasetError(
        f"{path}: no dataset found (looked for dataset.json, ProcessedPanopticDataset/ or hdImages/+hdJoints/, "
        f"data_3d_h36m*.npz, annotations/person_keypoints_*.json, image files)")


def open_dataset(path: str | Path, skip_list: str | Path | None = None, progress=None) -> PoseDataset:
    """Open the dataset at ``path`` (format detected), leaving out the samples of ``skip_list``.

    Nothing but annotations is read; images load one at a time through ``load_image``. A CMU
    Panoptic set is indexed on its first open (``progress``, a :class:`ProgressSink`, follows it;
    by default a bar on a terminal) and opens from the cached index afterwards.
    """
    from hpe_core.datasets import coco, folder, h36m, native, panoptic, video
    from hpe_core.datasets.skiplist import apply_skip_list, read_skip_list

    path = Path(path).expanduser()
    kind = detect_format(path)
    readers = {"native": native.read_native, "panoptic": panoptic.read_panoptic, "h36m": h36m.read_h36m,
               "coco": coco.read_coco, "video": video.read_video, "folder": folder.read_folder}
    dataset = panoptic.read_panoptic(path, progress) if kind == "panoptic" else readers[kind](path)
    if skip_list is not None:
        dataset = apply_skip_list(dataset, read_skip_list(skip_list))
        dataset.extra["skip_list"] = str(skip_list)
    return dataset
