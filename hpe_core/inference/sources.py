"""What a path names, as the dataset :func:`~hpe_core.inference.predict` reads: an image file, a
folder of images, a video, a dataset of any format, or -- for a model that lifts 2D joints -- a
keypoints file (:mod:`hpe_core.datasets.keypoints`)."""

from __future__ import annotations

from pathlib import Path

from hpe_core.errors import InputError


def open_source(path: str | Path, predictor=None, joints: str | None = None, skip_list=None):
    """The :class:`~hpe_core.datasets.base.PoseDataset` of ``path`` for ``predictor``'s model."""
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.fileio import IMAGE_SUFFIXES
    from hpe_core.datasets.folder import read_image_file
    from hpe_core.datasets.keypoints import is_keypoints_file, read_keypoints_file

    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    family = None if predictor is None else predictor.family
    lifts = family is not None and "image" not in family.inputs and "pose2d" in family.inputs
    if path.is_file() and lifts and is_keypoints_file(path):
        return read_keypoints_file(path, joints, predictor.skeleton)
    if joints:
        raise InputError("--joints: only for a keypoints file lifted by a 2D-to-3D model")
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return read_image_file(path)
    return open_dataset(path, skip_list=skip_list)
