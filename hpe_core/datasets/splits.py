"""Train / val / test splits that never leak a pose into another split.

- By subject where a dataset defines a subject split (Human3.6M: S1, S5, S6, S7, S8 train;
  S9, S11 test, and validation as VideoPose3D evaluates);
- else a seeded 60/20/20 split of the distinct ``pose_id`` values, so every camera's view of a
  pose lands in the same split (the views of one pose are one sample for a model's purposes).
"""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test", "all")
FRACTIONS = (0.6, 0.2, 0.2)


def pose_split_codes(pose_id: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N,) int8 split code per row (0 train, 1 val, 2 test) from a seeded permutation of the
    distinct pose ids: ``round(0.6 P)`` poses train, ``round(0.2 P)`` val, the rest test."""
    ids, inverse = np.unique(np.asarray(pose_id), return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(ids))
    n_train = int(round(FRACTIONS[0] * len(ids)))
    n_val = int(round(FRACTIONS[1] * len(ids)))
    code_of_rank = np.full(len(ids), 2, np.int8)
    code_of_rank[:n_train] = 0
    code_of_rank[n_train:n_train + n_val] = 1
    per_id = np.empty(len(ids), np.int8)
    per_id[order] = code_of_rank
    return per_id[inverse.reshape(-1)]


def subject_mask(subject: np.ndarray, subject_names: list[str], split_subjects: dict, split: str) -> np.ndarray:
    """(N,) bool: rows whose subject is listed for ``split`` in ``split_subjects``."""
    names = set(split_subjects.get(split, ()))
    ids = [k for k, name in enumerate(subject_names) if name in names]
    return np.isin(np.asarray(subject), ids)
