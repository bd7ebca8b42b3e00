"""Splits: 60/20/20 by pose, every view of a pose in one split, seeded; by subject where defined."""

import numpy as np
import pytest

from hpe_core.datasets.base import NoImages, PoseDataset
from hpe_core.datasets.splits import pose_split_codes, subject_mask
from hpe_core.errors import InputError
from hpe_core.skeleton import PANOPTIC19


def _dataset(pose_id, **kw):
    return PoseDataset(path="mem", format="test", skeleton=PANOPTIC19, size=len(pose_id),
                       columns={"pose_id": np.asarray(pose_id)}, images=NoImages("none"), **kw)


@pytest.mark.parametrize("poses, cameras", [(10, 1), (97, 4), (1000, 3)])
def test_pose_split_fractions_and_no_leak(poses, cameras):
    rng = np.random.default_rng(poses)
    pose_id = rng.permutation(np.repeat(rng.choice(10 * poses, poses, replace=False), cameras))
    ds = _dataset(pose_id)
    parts = {s: ds.split_indices(s) for s in ("train", "val", "test")}
    ids = {s: set(pose_id[idx].tolist()) for s, idx in parts.items()}
    assert [len(ids[s]) for s in ("train", "val")] == [round(0.6 * poses), round(0.2 * poses)]
    assert sum(len(v) for v in ids.values()) == poses and not (ids["train"] & ids["val"] or ids["train"] & ids["test"])
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(len(pose_id)))
    np.testing.assert_array_equal(ds.split_indices("all"), np.arange(len(pose_id)))


def test_pose_split_is_seeded_and_order_independent():
    pose_id = np.repeat(np.arange(50), 2)
    a, b, c = pose_split_codes(pose_id, 0), pose_split_codes(pose_id, 0), pose_split_codes(pose_id, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    shuffled = np.random.default_rng(3).permutation(len(pose_id))
    np.testing.assert_array_equal(pose_split_codes(pose_id[shuffled], 0), a[shuffled])


def test_subject_split_and_selection():
    subject = np.array([0, 1, 2, 0, 2])
    names = ["S1", "S9", "S11"]
    split = {"train": ["S1"], "test": ["S9", "S11"], "val": ["S9", "S11"]}
    np.testing.assert_array_equal(subject_mask(subject, names, split, "test"), [False, True, True, False, True])
    ds = _dataset(np.arange(5), names={"subject": names}, subject_split=split)
    ds._sources["subject"] = subject
    ds._provided.add("subject")
    np.testing.assert_array_equal(ds.split_indices("train"), [0, 3])
    sub = ds.select(np.array([1, 2, 3]))
    np.testing.assert_array_equal(sub.split_indices("train"), [2])
    np.testing.assert_array_equal(sub.pose_id, [1, 2, 3])
    with pytest.raises(InputError, match="train, val, test, all"):
        ds.split_indices("holdout")
