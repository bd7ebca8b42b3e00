"""Pose datasets: one reader per format, the synthetic generator, augmentations, health checks.

``open_dataset(path)`` detects the format from the path:

- a folder with ``dataset.json`` (or that file, or its ``annotations.npz``): the native format;
- a folder holding ``ProcessedPanopticDataset/``, that folder, or one of its sequences: CMU Panoptic;
- ``data_3d_h36m*.npz`` (or a folder holding one): Human3.6M as prepared by VideoPose3D;
- a COCO keypoints ``.json`` (or a folder with ``annotations/person_keypoints_*.json``): COCO;
- mmpose's body3d ``.npz`` (``imgname``, ``center``, ``scale``, ``part``, ``S``; or a folder holding
  one, in ``annotations/`` or ``annotation_body3d/fps*/``): Human3.6M / MPI-INF-3DHP with images;
- ``annot_data.mat`` (or a test sequence ``TS*/``, or the folder of them): MPI-INF-3DHP's test set;
- a ``.pkl`` sequence file, a ``sequenceFiles/`` split folder or the folder holding it: 3DPW;
- a video file: its frames; a folder of images: those images.

Importing this package is cheap; OpenCV and torch load when first needed.
"""

from __future__ import annotations

from pathlib import Path

from hpe_core.datasets.base import PoseDataset, Sample
from hpe_core.errors import DatasetError

__all__ = ["open_dataset", "detect_format", "PoseDataset", "Sample", "FORMATS"]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
FORMATS = ("native", "panoptic", "h36m", "coco", "mmpose", "mpi3dhp", "pw3d", "video", "folder")


def _file_format(path: Path) -> str:
    from hpe_core.datasets import h36m, mmpose, mpi3dhp, native

    suffix = path.suffix.lower()
    if path.name in (native.MANIFEST, native.ANNOTATIONS) and native.is_native(path.parent):
        return "native"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix == ".npz" and h36m.is_h36m_file(path):
        return "h36m"
    if suffix == ".npz" and mmpose.is_mmpose_file(path):
        return "mmpose"
    if path.name == mpi3dhp.ANNOTATIONS:
        return "mpi3dhp"
    if suffix == ".pkl":
        return "pw3d"
    if suffix == ".json":
        return "coco"
    raise DatasetError(f"{path}: not a dataset file (expected a dataset.json, a COCO keypoints .json, "
                       f"a Human3.6M data_3d_*.npz, an mmpose body3d .npz, an MPI-INF-3DHP annot_data.mat, "
                       f"a 3DPW .pkl or a video {'/'.join(VIDEO_SUFFIXES)})")


def detect_format(path: str | Path) -> str:
    """The format name of ``path``; :class:`DatasetError` saying what was looked for."""
    from hpe_core.datasets import coco, folder, h36m, mmpose, mpi3dhp, native, panoptic, pw3d

    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_file():
        return _file_format(path)
    if native.is_native(path):
        return "native"
    if (path / native.ANNOTATIONS).is_file():  # a native set whose manifest is gone: say so, not "no dataset"
        raise DatasetError(f"{path}: a damaged HPE Studio dataset: {native.ANNOTATIONS} is there but its manifest "
                           f"{native.MANIFEST} is missing (copy the folder again, or rewrite it with hpe data synth)")
    if panoptic.is_panoptic(path):
        return "panoptic"
    if h36m.find_3d_file(path) is not None:
        return "h36m"
    if coco.find_annotation_file(path) is not None:
        return "coco"
    if mpi3dhp.find_sequences(path):
        return "mpi3dhp"
    if pw3d.find_sequence_files(path):
        return "pw3d"
    if mmpose.find_files(path):
        return "mmpose"
    if folder.has_images(path):
        return "folder"
    raise DatasetError(
        f"{path}: no dataset found (looked for dataset.json, ProcessedPanopticDataset/ or hdImages/+hdJoints/, "
        f"data_3d_h36m*.npz, annotations/person_keypoints_*.json, TS*/annot_data.mat, sequenceFiles/*/*.pkl, "
        f"mmpose body3d *.npz, image files)")


def open_dataset(path: str | Path, skip_list: str | Path | None = None, progress=None,
                 images: str | Path | None = None) -> PoseDataset:
    """Open the dataset at ``path`` (format detected), leaving out the samples of ``skip_list``;
    ``images``: the folder of an mmpose body3d file's images when they are not beside it.

    Nothing but annotations is read; images load one at a time through ``load_image``. A CMU
    Panoptic set is indexed on its first open (``progress``, a :class:`ProgressSink`, follows it;
    by default a bar on a terminal) and opens from the cached index afterwards.
    """
    from hpe_core.datasets import coco, folder, h36m, mmpose, mpi3dhp, native, panoptic, pw3d, video
    from hpe_core.datasets.skiplist import apply_skip_list, read_skip_list
    from hpe_core.errors import InputError

    path = Path(path).expanduser()
    kind = detect_format(path)
    if images is not None and kind != "mmpose":
        raise InputError(f"--images: only mmpose's body3d layout takes an image folder; {path} is {kind}")
    readers = {"native": native.read_native, "panoptic": panoptic.read_panoptic, "h36m": h36m.read_h36m,
               "coco": coco.read_coco, "mmpose": mmpose.read_mmpose, "mpi3dhp": mpi3dhp.read_mpi3dhp,
               "pw3d": pw3d.read_pw3d, "video": video.read_video, "folder": folder.read_folder}
    if kind == "panoptic":
        dataset = panoptic.read_panoptic(path, progress)
    else:
        dataset = mmpose.read_mmpose(path, images) if kind == "mmpose" else readers[kind](path)
    if skip_list is not None:
        dataset = apply_skip_list(dataset, read_skip_list(skip_list))
        dataset.extra["skip_list"] = str(skip_list)
    return dataset
