"""PyTorch datasets and the loader: exact inference path, positive pairs, bad samples skipped."""

import numpy as np
import pytest
import torch

from hpe_core.datasets import open_dataset
from hpe_core.datasets.synthetic import SynthSpec, planted_faults, synthesize
from hpe_core.datasets.torch_data import PoseImageDataset, Skipped, TwoViewDataset, collate, make_loader
from hpe_core.datasets.transforms import to_tensor
from hpe_core.errors import InputError


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return open_dataset(synthesize(SynthSpec(tmp_path_factory.mktemp("t") / "d", poses=12, cameras=3, size=48, seed=9)))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    spec = SynthSpec(tmp_path_factory.mktemp("t") / "f", poses=40, cameras=2, size=40, seed=4, corrupt=0.05)
    return open_dataset(synthesize(spec)), planted_faults(spec)


def test_pose_items_match_inference_preprocessing_and_are_root_relative(clean):
    ds = PoseImageDataset(clean, [0, 5, 7], image_size=48)
    item = ds[1]
    torch.testing.assert_close(item["image"], to_tensor(clean.load_image(5), 48))
    assert item["joints_3d"].shape == (19, 3) and item["joints_3d"].dtype == torch.float32
    assert torch.all(item["joints_3d"][clean.skeleton.root] == 0)
    np.testing.assert_allclose(item["joints_3d"].numpy() + clean.joints_3d[5][0], clean.joints_3d[5], atol=1e-3)
    np.testing.assert_allclose(item["joints_2d"].numpy(), clean.joints_2d[5], atol=1e-4)
    assert item["index"] == 5 and item["visible"].dtype == torch.bool


def test_pose_items_upsampled_keep_joints_on_the_image(clean):
    item = PoseImageDataset(clean, [3], image_size=96)[0]
    assert item["image"].shape == (3, 96, 96)
    np.testing.assert_allclose(item["joints_2d"].numpy(), (clean.joints_2d[3] + 0.5) * 2 - 0.5, atol=1e-4)


def test_augmented_flip_swaps_visibility_with_the_joints(clean):
    ds = PoseImageDataset(clean, [4], image_size=48, augment="pose")
    left, right = clean.skeleton.index("lWrist"), clean.skeleton.index("rWrist")
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed)
        item = ds[0]
        j3 = item["joints_3d"].numpy()
        ref = clean.joints_3d[4] - clean.joints_3d[4][0]
        flipped = np.isclose(np.linalg.norm(j3[left]), np.linalg.norm(ref[right]), atol=1e-2) and \
            not np.isclose(np.linalg.norm(ref[left]), np.linalg.norm(ref[right]), atol=1e-2)
        seen.add(bool(flipped))
    assert seen == {True, False}, "the pose preset flips some samples and not others"


def test_two_view_batches_never_pair_two_poses(clean):
    ds = TwoViewDataset(clean, clean.split_indices("all"), image_size=32, augment=None)  # pairing only
    loader = make_loader(ds, batch_size=8, shuffle=True, num_workers=0, seed=3)
    pairs = 0
    for _ in range(3):
        for batch in loader:
            idx, idx2 = batch["index"].numpy(), batch["index2"].numpy()
            np.testing.assert_array_equal(clean.pose_id[idx], clean.pose_id[idx2])
            np.testing.assert_array_equal(clean.pose_id[idx], batch["pose_id"].numpy())
            assert np.all(clean.camera_id[idx] != clean.camera_id[idx2])
            assert batch["view1"].shape == batch["view2"].shape == (len(idx), 3, 32, 32)
            pairs += len(idx)
    assert pairs == 3 * len(clean)


def test_a_pose_with_one_view_pairs_with_itself(clean):
    keep = np.flatnonzero(clean.camera_id == 0)
    ds = TwoViewDataset(clean, keep[:4], image_size=48)
    torch.manual_seed(0)
    item = ds[2]
    assert item["index"] == item["index2"] == keep[2]
    assert not torch.equal(item["view1"], item["view2"]), "two different augmentations of one image"


@pytest.mark.parametrize("kind", ["pose", "two_view"])
def test_bad_samples_are_skipped_and_counted_across_workers(faulty, kind):
    ds_full, faults = faulty
    bad = {i for i, f in faults.items() if f == "truncated"}
    assert bad
    ds = PoseImageDataset(ds_full, None, 40) if kind == "pose" else TwoViewDataset(ds_full, np.arange(len(ds_full)), 40)
    loader = make_loader(ds, batch_size=7, shuffle=True, num_workers=2, seed=1)
    seen = []
    for batch in loader:
        seen.extend(batch["index"].tolist())
        assert len(batch["index"]) > 0
    skipped = {i for i, _ in loader.skipped}
    if kind == "pose":
        assert skipped == bad and loader.skipped_count == len(bad)
        assert sorted(seen) == sorted(set(range(len(ds_full))) - bad)
    else:  # a pair is skipped when either of its views is unreadable
        assert bad <= skipped and not set(seen) & bad
        assert len(seen) + loader.skipped_count == len(ds_full)
    assert all("truncated" in reason for _, reason in loader.skipped)


def test_loader_is_deterministic_for_a_seed(clean):
    ds = PoseImageDataset(clean, None, 48, augment="simclr")
    first = lambda seed: next(iter(make_loader(ds, 6, shuffle=True, num_workers=2, seed=seed)))
    a, b, c = first(5), first(5), first(6)
    assert torch.equal(a["index"], b["index"]) and torch.equal(a["image"], b["image"])
    assert not torch.equal(a["index"], c["index"])


def test_collate_drops_skipped_and_bad_arguments_are_input_errors(clean):
    batch = collate([Skipped(3, "broken"), {"x": torch.ones(2), "index": 1}])
    assert batch["skipped"] == [(3, "broken")] and batch["x"].shape == (1, 2)
    assert collate([Skipped(1, "a")]) == {"skipped": [(1, "a")]}
    with pytest.raises(InputError, match="out of range"):
        PoseImageDataset(clean, [len(clean)])
    with pytest.raises(InputError, match="batch_size"):
        make_loader(PoseImageDataset(clean), 0)
