"""A folder of images (searched recursively, sorted by path): samples without annotations."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hpe_core.datasets.base import PoseDataset
from hpe_core.datasets.fileio import IMAGE_SUFFIXES, image_file_problem, read_image
from hpe_core.errors import DatasetError
from hpe_core.skeleton import PANOPTIC19


def _walk(root: Path):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."):
                yield Path(folder, name).relative_to(root).as_posix()


def has_images(path: Path) -> bool:
    return next(_walk(path), None) is not None


class FileImages:
    """Images named by relative paths under ``root``."""

    def __init__(self, root: Path, names) -> None:
        self.root, self.names = Path(root), names

    def path(self, row: int) -> Path:
        return self.root / str(self.names[row])

    def name(self, row: int) -> str:
        return str(self.names[row])

    def load(self, row: int) -> np.ndarray:
        return read_image(self.path(row))


def read_folder(root: str | Path) -> PoseDataset:
    """The images under ``root``; a file that is plainly not a whole image (empty, truncated,
    another content: :func:`image_file_problem`, its first and last bytes) is no sample: it is
    listed in ``dataset.unreadable`` as ``(name, why)``."""
    root = Path(root)
    found = list(_walk(root))
    if len(found) == 0:
        raise DatasetError(f"{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    problems = [(name, image_file_problem(root / name)) for name in found]
    unreadable = [(name, why) for name, why in problems if why]
    names = np.array([name for name, why in problems if not why])
    if len(names) == 0:
        listed = "; ".join(f"{name}: {why}" for name, why in unreadable[:10])
        more = f" and {len(unreadable) - 10} more" if len(unreadable) > 10 else ""
        raise DatasetError(f"{root}: none of its {len(found)} image files can be read ({listed}{more})")
    dataset = PoseDataset(path=root, format="folder", skeleton=PANOPTIC19, size=len(names), columns={},
                          images=FileImages(root, names))
    dataset.unreadable = unreadable
    return dataset


def read_image_file(path: str | Path) -> PoseDataset:
    """One image file as a dataset of one sample (named by the file's name)."""
    path = Path(path)
    why = image_file_problem(path)
    if why:
        raise DatasetError(f"{path}: {why}")
    return PoseDataset(path=path, format="folder", skeleton=PANOPTIC19, size=1, columns={},
                       images=FileImages(path.parent, np.array([path.name])))
