"""Embeddings: the same numbers as the model, a disk cache keyed right, skipped images, errors."""

import numpy as np
import pytest
import torch

from analysis_assets import BROKEN, IMAGE_SIZE, make_assets
from hpe_core.analysis import EmbedRunSpec, EmbedSpec, compute_embeddings, embed
from hpe_core.datasets import open_dataset
from hpe_core.datasets.transforms import to_tensor
from hpe_core.errors import InputError
from hpe_core.models import load_checkpoint
from hpe_core.progress import Cancelled, RecordingProgress


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_assets(tmp_path_factory.mktemp("embeddings"))


def _spec(assets, tmp_path, **kw):
    base = dict(checkpoint=assets.simclr, dataset=assets.dataset, layers=("encoder", "layer2", "projection"),
                device="cpu", batch_size=4, image_size=IMAGE_SIZE, cache_dir=tmp_path / "cache")
    return EmbedSpec(**{**base, **kw})


def test_features_equal_the_model_and_skip_the_broken_image(assets, tmp_path):
    emb = compute_embeddings(_spec(assets, tmp_path, indices=tuple(range(10))))
    assert emb.indices.tolist() == [i for i in range(10) if i != BROKEN]
    assert len(emb.skipped) == 1 and "not a readable image" in emb.skipped[0]
    model, _ = load_checkpoint(assets.simclr)
    dataset = open_dataset(assets.dataset)
    x = torch.stack([to_tensor(dataset.load_image(int(i)), IMAGE_SIZE) for i in emb.indices])
    with torch.no_grad():
        ref = model.features(x, ("encoder", "layer2", "projection"))
    for name in ("encoder", "layer2", "projection"):
        got = emb.features[name]
        assert got.dtype == np.float16 and got.shape == tuple(ref[name].shape)
        np.testing.assert_allclose(got.astype(np.float32), ref[name].numpy(), rtol=2e-3, atol=2e-3)


def test_second_run_reads_the_cache_and_keys_differ(assets, tmp_path):
    first = compute_embeddings(_spec(assets, tmp_path, split="test"))
    assert not any(first.cached.values())
    again = compute_embeddings(_spec(assets, tmp_path, split="test"))
    assert all(again.cached.values())
    np.testing.assert_array_equal(np.asarray(again.features["encoder"]), np.asarray(first.features["encoder"]))
    np.testing.assert_array_equal(again.indices, first.indices)
    other_split = compute_embeddings(_spec(assets, tmp_path, split="train", layers=("encoder",)))
    other_model = compute_embeddings(_spec(assets, tmp_path, split="test", layers=("encoder",),
                                           checkpoint=assets.simsiam))
    paths = {first.cache_paths["encoder"], other_split.cache_paths["encoder"], other_model.cache_paths["encoder"]}
    assert len(paths) == 3 and not other_model.cached["encoder"]
    assert first.cache_paths["encoder"] != first.cache_paths["layer2"]


def test_a_damaged_cache_file_is_recomputed(assets, tmp_path):
    spec = _spec(assets, tmp_path, layers=("encoder",), max_samples=6)
    first = compute_embeddings(spec)
    expected = np.array(first.features["encoder"])
    path = first.cache_paths["encoder"]
    path.write_bytes(path.read_bytes()[:-2])  # truncated
    again = compute_embeddings(spec)
    assert not again.cached["encoder"]
    np.testing.assert_array_equal(np.asarray(again.features["encoder"]), expected)


def test_a_cancelled_extraction_resumes_where_it_stopped(assets, tmp_path):
    spec = _spec(assets, tmp_path, indices=tuple(range(20)))
    with pytest.raises(Cancelled):
        compute_embeddings(spec, RecordingProgress(cancel_after=2))
    left = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert left and all(".part" in name or name.endswith(".lock") for name in left)  # a resume point, no entry
    progress = RecordingProgress()
    resumed = compute_embeddings(spec, progress)
    done = [int(s.split()[1]) for s in progress.statuses if s.startswith("embedded")]
    assert 12 <= done[0] <= 13  # 8 samples were in the parts: then a batch of 4 (and the broken image if there)
    whole = compute_embeddings(_spec(assets, tmp_path, indices=tuple(range(20)), cache_dir=tmp_path / "other"))
    for layer in spec.layers:
        np.testing.assert_array_equal(np.asarray(resumed.features[layer]), np.asarray(whole.features[layer]))
    np.testing.assert_array_equal(resumed.indices, whole.indices)
    assert resumed.skipped == whole.skipped
    assert not [p for p in (tmp_path / "cache").iterdir() if ".part" in p.name]


def test_two_threads_asking_for_the_same_features_extract_them_once(assets, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    spec = _spec(assets, tmp_path, layers=("encoder",), indices=tuple(range(12)))
    progress = [RecordingProgress(), RecordingProgress()]
    with ThreadPoolExecutor(2) as pool:  # as the explorer and Compare do at once
        a, b = pool.map(compute_embeddings, [spec, spec], progress)
    extracted = [any(s.startswith("embedded") for s in p.statuses) for p in progress]
    assert sorted(extracted) == [False, True]  # one wrote the entry, the other waited and read it
    np.testing.assert_array_equal(np.asarray(a.features["encoder"]), np.asarray(b.features["encoder"]))
    assert len(a.indices) == 11 and a.indices.tolist() == b.indices.tolist()


def test_float32_features_are_stated_and_kept_apart(assets, tmp_path):
    half = compute_embeddings(_spec(assets, tmp_path, layers=("encoder",), max_samples=6))
    full = compute_embeddings(_spec(assets, tmp_path, layers=("encoder",), max_samples=6, dtype="float32"))
    assert full.features["encoder"].dtype == np.float32 and full.cache_paths["encoder"].suffix == ".f32"
    assert full.cache_paths["encoder"].stem != half.cache_paths["encoder"].stem
    np.testing.assert_allclose(np.asarray(half.features["encoder"], np.float32), full.features["encoder"],
                               rtol=1e-3, atol=1e-3)  # float16's 11-bit mantissa: 2^-11 relative


def test_unknown_layer_lists_the_valid_ones(assets, tmp_path):
    with pytest.raises(InputError, match="has the layers conv1, layer1, layer2, layer3, layer4, encoder, projection"):
        compute_embeddings(_spec(assets, tmp_path, layers=("pose",)))


def test_pipeline_labels_lda_and_silhouette(assets, tmp_path):
    from sklearn.metrics import silhouette_score

    spec = EmbedRunSpec(_spec(assets, tmp_path, layers=("encoder",)), method="lda", dims=2, clusters=3,
                        color_by="camera", out=tmp_path / "coords.npz")
    result = embed(spec)
    emb = compute_embeddings(spec.embed)
    features = np.asarray(emb.features["encoder"], np.float64)
    assert result.coords.shape == (29, 2)
    assert result.silhouette["clusters"] == pytest.approx(silhouette_score(features, result.clusters), abs=1e-6)
    assert result.silhouette["camera"] == pytest.approx(silhouette_score(features, result.labels), abs=1e-6)
    with np.load(result.out, allow_pickle=False) as saved:
        np.testing.assert_array_equal(saved["coords"], result.coords)
        np.testing.assert_array_equal(saved["index"], emb.indices)
        assert saved["label_names"].tolist() == emb.labels("camera")[1]


@pytest.mark.parametrize("labels, message", [(np.zeros(30, int), "LDA needs at least 2 classes"),
                                             (np.zeros(29, int), "29 labels for 30 samples")])
def test_given_features_errors(tmp_path, labels, message):
    np.save(tmp_path / "f.npy", np.random.default_rng(0).normal(size=(30, 5)))
    np.save(tmp_path / "l.npy", labels)
    with pytest.raises(InputError, match=message):
        embed(EmbedRunSpec(features_path=tmp_path / "f.npy", labels_path=tmp_path / "l.npy", method="lda",
                           clusters=0))


def test_given_features_refuse_pickles(tmp_path):
    np.save(tmp_path / "f.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="not a plain .npy array"):
        embed(EmbedRunSpec(features_path=tmp_path / "f.npy"))


def test_torchrun_two_gloo_processes_give_the_features_of_one(assets, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    common = [str(assets.simclr), str(assets.dataset), "--device", "cpu", "--batch-size", "4", "--image-size",
              str(IMAGE_SIZE), "--clusters", "2", "--json"]
    outs = {}
    for name, launcher in (("one", [sys.executable, "-m", "hpe_core.cli"]),
                           ("two", [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                                    "-m", "hpe_core.cli"])):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HPE_STUDIO_CACHE": str(tmp_path / name),
               "PYTHONPATH": str(root)}
        result = subprocess.run([*launcher, "embed", *common, "--out", str(tmp_path / f"{name}.npz")], cwd=root,
                                capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        outs[name] = json.loads(result.stdout[result.stdout.index("{"):])
    assert outs["two"]["shards"] == 2 and outs["one"]["shards"] == 1 and not outs["two"]["from_cache"]
    one, two = (np.fromfile(outs[k]["cache"], np.float16) for k in ("one", "two"))
    # joined in rank order: the same rows; the shards' batches differ from one process's, and a conv
    # library may sum in another order for another batch: one float16 step (2^-11 relative) at most
    assert len(one) == len(two) > 0
    np.testing.assert_allclose(one.astype(np.float32), two.astype(np.float32), rtol=2 ** -10, atol=1e-6)
    assert outs["one"]["silhouette"] == pytest.approx(outs["two"]["silhouette"], abs=1e-3)
    assert not [p for p in Path(outs["two"]["cache"]).parent.iterdir() if ".part" in p.name]
