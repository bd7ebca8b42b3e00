"""PyTorch datasets over a :class:`PoseDataset` and a loader that survives bad samples.

- :class:`PoseImageDataset`: ``{"image": (3, S, S) normalised float (the sample's person crop when
  the dataset has boxes, else the whole frame: :mod:`hpe_core.datasets.boxes`, as inference sees it),
  "joints_3d": (J, 3) mm root-relative (root row zeros, NaN where missing), "joints_2d": (J, 2) px in the S x S image,
  "visible": (J,) bool, "index": int}``.
- :class:`TwoViewDataset`: ``{"view1", "view2", "pose_id", "index", "index2"}``; ``view2`` is a
  different camera's image of the same ``pose_id`` (two augmentations of one image when the pose
  has a single view); both views share one flip decision, so a flip never teaches the encoder that
  a pose equals its mirror image.

A sample whose image cannot be read (or whose 3D root is missing) becomes a :class:`Skipped`
marker; :func:`collate` drops it and lists it under ``"skipped"``; :class:`PoseLoader` removes
that key, counts it (``skipped_count``, ``skipped``) and never yields an empty batch. Randomness
(augmentations, the choice of the second view) comes from torch's global generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from hpe_core.datasets.augment import get_augment
from hpe_core.datasets.boxes import row_region
from hpe_core.datasets.transforms import crop_box, crop_joints, normalize, to_float
from hpe_core.errors import DatasetError, InputError


@dataclass(frozen=True)
class Skipped:
    """A sample left out of a batch, and why."""

    index: int
    reason: str


def _indices(dataset, indices) -> np.ndarray:
    idx = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(dataset)):
        raise InputError(f"indices: out of range for a dataset of {len(dataset)} samples")
    return idx


class _Base(Dataset):
    def __init__(self, dataset, indices, image_size: int, augment) -> None:
        if int(image_size) < 8:
            raise InputError(f"image_size: expected at least 8 px, got {image_size}")
        self.dataset, self.indices, self.image_size = dataset, _indices(dataset, indices), int(image_size)
        self.augment = get_augment(augment, self.image_size, dataset.skeleton)
        self.skipped_count = 0  # counted in this process (the main one when num_workers=0)

    def __len__(self) -> int:
        return len(self.indices)

    def _view(self, i: int, flip: bool | None, with_joints: bool):
        """(normalised image, target dict or None) of dataset sample ``i``; the target holds
        ``joints_2d`` in the output image, root-relative ``joints_3d`` and ``visible``."""
        image = self.dataset.load_image(i)
        region = row_region(self.dataset, i, image.shape[:2])  # the person's crop, else the whole frame
        if region is None:
            raise DatasetError(f"{self.dataset.sample_name(i)}: no person box ({self.dataset.extra.get('boxes')})")
        x = to_float(crop_box(image, region, self.image_size))
        target = None
        if with_joints:
            target = {"joints_2d": crop_joints(self.dataset.joints_2d[i], region, self.image_size),
                      "joints_3d": self._root_relative(i), "visible": np.array(self.dataset.visible[i], bool)}
        if self.augment is not None:
            x, target = self.augment(x, target, flip=flip)
        return normalize(x), target

    def _root_relative(self, i: int) -> np.ndarray:
        skeleton = self.dataset.skeleton
        if self.dataset.joints_3d is None:
            return np.full((skeleton.num_joints, 3), np.nan)
        j3 = np.asarray(self.dataset.joints_3d[i], dtype=np.float64)
        root = j3[skeleton.root]
        if not np.isfinite(root).all():
            raise DatasetError(f"{self.dataset.sample_name(i)}: the root joint {skeleton.joint_names[skeleton.root]} is missing")
        return j3 - root

    def _skip(self, i: int, exc: Exception) -> Skipped:
        self.skipped_count += 1
        return Skipped(int(i), str(exc))


class PoseImageDataset(_Base):
    """Images with their root-relative 3D pose, for supervised regression (see module doc)."""

    def __init__(self, dataset, indices=None, image_size: int = 128, augment=None) -> None:
        super().__init__(dataset, indices, image_size, augment)

    def __getitem__(self, k: int):
        i = int(self.indices[k])
        try:
            image, target = self._view(i, None, with_joints=True)
        except (DatasetError, OSError) as exc:
            return self._skip(i, exc)
        return {"image": image, "joints_3d": torch.as_tensor(target["joints_3d"], dtype=torch.float32),
                "joints_2d": torch.as_tensor(target["joints_2d"], dtype=torch.float32),
                "visible": torch.from_numpy(np.array(target["visible"], bool)), "index": i}


class TwoViewDataset(_Base):
    """Positive pairs for contrastive learning: two cameras of one ``pose_id`` (see module doc)."""

    def __init__(self, dataset, indices=None, image_size: int = 128, augment="simclr") -> None:
        super().__init__(dataset, indices, image_size, augment)
        pose = np.asarray(dataset.pose_id)[self.indices]
        self.camera = np.asarray(dataset.camera_id)[self.indices]
        self.order = np.argsort(pose, kind="stable")
        ids, start, counts = np.unique(pose[self.order], return_index=True, return_counts=True)
        self.group_start = np.repeat(start, counts)[np.argsort(self.order, kind="stable")]
        self.group_size = np.repeat(counts, counts)[np.argsort(self.order, kind="stable")]
        self.pose = pose

    def partner(self, k: int) -> int:
        """Position (in ``indices``) of a random other camera's view of the pose of position ``k``."""
        start, size = int(self.group_start[k]), int(self.group_size[k])
        members = self.order[start:start + size]
        others = members[self.camera[members] != self.camera[k]]
        if len(others) == 0:
            return k
        return int(others[int(torch.randint(0, len(others), ()))])

    def __getitem__(self, k: int):
        k2 = self.partner(k)
        i, i2 = int(self.indices[k]), int(self.indices[k2])
        flip = bool(torch.rand(()) < 0.5)
        try:
            v1, _ = self._view(i, flip, with_joints=False)
            v2, _ = self._view(i2, flip, with_joints=False)
        except (DatasetError, OSError) as exc:
            return self._skip(i, exc)
        return {"view1": v1, "view2": v2, "pose_id": int(self.pose[k]), "index": i, "index2": i2}


def collate(items: list) -> dict:
    """``default_collate`` of the good items, plus ``"skipped"``: a list of (index, reason)."""
    good = [it for it in items if not isinstance(it, Skipped)]
    skipped = [(it.index, it.reason) for it in items if isinstance(it, Skipped)]
    batch = default_collate(good) if good else {}
    batch["skipped"] = skipped
    return batch


class PoseLoader(DataLoader):
    """A DataLoader that drops skipped samples, counts them, and never yields an empty batch."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skipped_count = 0
        self.skipped: list[tuple[int, str]] = []

    def __iter__(self):
        for batch in super().__iter__():
            gone = batch.pop("skipped", [])
            self.skipped_count += len(gone)
            self.skipped.extend(gone)
            if batch:
                yield batch


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_loader(ds: Dataset, batch_size: int, shuffle: bool = True, num_workers: int = 0, seed: int = 0,
                drop_last: bool = False) -> PoseLoader:
    """A :class:`PoseLoader` over ``ds`` with :func:`collate`; worker RNGs derive from ``seed``."""
    if batch_size < 1:
        raise InputError(f"batch_size: expected at least 1, got {batch_size}")
    generator = torch.Generator().manual_seed(int(seed))
    return PoseLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=num_workers, drop_last=drop_last,
                      collate_fn=collate, generator=generator, worker_init_fn=_seed_worker,
                      persistent_workers=False)
