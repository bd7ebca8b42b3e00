"""Deterministic, resumable batches for the loop.

- The order of an epoch is a permutation drawn from ``(seed, epoch)`` only, so a resumed run
  regenerates it and skips the batches already done without loading them.
- Every sample is produced with torch's (and Python's) global RNG seeded from ``(seed, epoch,
  index)`` (and restored after), so its augmentation does not depend on worker count, on which
  worker loads it, or on where a run was interrupted. (NumPy's global RNG is not seeded: sample
  randomness must come from torch, as it does in :mod:`hpe_core.datasets.augment`.)
- Under torchrun a global batch of ``B`` is cut into ``world_size`` consecutive slices, one per rank.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from hpe_core.errors import InputError
from hpe_core.training.state import forked_rng, sample_seed


class SeededItems(Dataset):
    """``dataset[i]`` under RNGs seeded by ``(seed, epoch, i)``; set :attr:`epoch` before iterating."""

    def __init__(self, dataset, seed: int) -> None:
        self.dataset, self.seed, self.epoch = dataset, int(seed), 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        with forked_rng(sample_seed(self.seed, self.epoch, int(i))):
            return self.dataset[i]


class EpochBatches:
    """Batch sampler of one epoch: lists of dataset positions for this rank.

    ``n`` samples, global ``batch_size``; ``drop_last`` keeps only full global batches (training),
    otherwise the tail is a smaller batch (evaluation). ``start`` skips that many batches.
    """

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int, shuffle: bool = True,
                 drop_last: bool = True, rank: int = 0, world_size: int = 1, start: int = 0,
                 max_batches: int | None = None) -> None:
        if batch_size % world_size:
            raise InputError(f"train.batch_size: {batch_size} is not divisible by the "
                             f"{world_size} processes of this torchrun job")
        self.n, self.batch_size, self.seed, self.epoch = n, batch_size, seed, epoch
        self.shuffle, self.drop_last, self.rank, self.world = shuffle, drop_last, rank, world_size
        self.start, self.max_batches = start, max_batches

    def __len__(self) -> int:
        return max(self.total() - self.start, 0)

    def total(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        count = full if self.drop_last else full + (rest > 0)
        return count if self.max_batches is None else min(count, self.max_batches)

    def order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.n)

    def __iter__(self):
        order = self.order()
        for b in range(self.start, self.total()):
            chunk = order[b * self.batch_size:(b + 1) * self.batch_size]
            per = -(-len(chunk) // self.world)
            mine = chunk[self.rank * per:(self.rank + 1) * per]
            yield [int(i) for i in mine]


def steps_per_epoch(n: int, batch_size: int, max_steps: int | None) -> int:
    """Optimizer steps in one epoch of ``n`` samples; :class:`InputError` if there are none."""
    steps = n // batch_size
    if steps == 0:
        raise InputError(f"train.batch_size: {batch_size} is larger than the {n} training samples")
    return steps if max_steps is None else max(1, min(steps, max_steps))


def epoch_loader(items: SeededItems, sampler: EpochBatches, num_workers: int, collate) -> DataLoader:
    """A DataLoader over ``sampler`` that never draws from the global torch RNG."""
    items.epoch = sampler.epoch
    generator = torch.Generator().manual_seed(sample_seed(items.seed, sampler.epoch, -1) % 2**63)
    return DataLoader(items, batch_sampler=sampler, num_workers=num_workers, collate_fn=collate,
                      generator=generator, persistent_workers=False)


def subset(indices: np.ndarray, limit: int | None, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """At most ``limit`` of ``indices``, a seeded choice kept in the original order.

    With ``groups`` (one label per index, e.g. its ``pose_id``) whole groups are kept, so every
    chosen pose keeps all its views (a pose cut down to one view would pair with itself).
    """
    indices = np.asarray(indices)
    if limit is None or limit >= len(indices):
        return indices
    rng = np.random.default_rng([seed, 7])
    if groups is None:
        return indices[np.sort(rng.choice(len(indices), size=limit, replace=False))]
    labels, inverse = np.unique(np.asarray(groups), return_inverse=True)
    sizes = np.bincount(inverse)
    order = rng.permutation(len(labels))
    keep = order[: max(1, int(np.searchsorted(np.cumsum(sizes[order]), limit, side="right")))]
    return indices[np.isin(inverse, keep)]
