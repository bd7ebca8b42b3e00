"""UniHPE's shared space (hpe_core.studies.unihpe_space): cosine retrieval against a slow reference, the
partner ranks against the validation's top-k counts, and the space of a real checkpoint."""

import numpy as np
import pytest
import torch

from hpe_core.errors import InputError
from hpe_core.training.crossmodal import cross_modal_sums
from hpe_core.studies.unihpe_space import MODALITIES, SharedSpaceSpec, retrieval_ranks, retrieve, shared_space


def _slow_cosine_order(q, gallery):
    sims = []
    for row in gallery:
        dot = sum(a * b for a, b in zip(q, row))
        sims.append(dot / (np.sqrt(sum(a * a for a in q)) * np.sqrt(sum(b * b for b in row))))
    return sorted(range(len(gallery)), key=lambda i: (-sims[i], i)), sims


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_retrieve_is_the_cosine_ranking(seed):
    rng = np.random.default_rng(seed)
    gallery = rng.normal(size=(40, 8)) * rng.uniform(0.1, 5, size=(40, 1))  # not unit rows: cosine, not dot
    q = rng.normal(size=8)
    order, sims = retrieve(q, gallery, 5)
    want, slow = _slow_cosine_order(q, gallery)
    assert order.tolist() == want[:5]
    np.testing.assert_allclose(sims, [slow[i] for i in want[:5]], rtol=1e-12)
    with pytest.raises(InputError, match="retrieval"):
        retrieve(q[:3], gallery)


def test_partner_ranks_agree_with_the_validation_top_k():
    g = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(30, 16, generator=g), dim=1)
    b = torch.nn.functional.normalize(a + 0.8 * torch.randn(30, 16, generator=g), dim=1)
    ranks = retrieval_ranks(a.numpy(), b.numpy())
    sums = cross_modal_sums({"image": a, "pose3d": b})
    assert (ranks == 0).sum() == sums["top1_image_pose3d"] and (ranks < 5).sum() == sums["top5_image_pose3d"]
    assert 0 < (ranks == 0).sum() < 30


def test_the_shared_space_of_a_real_checkpoint(tmp_path):
    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.models import build_model
    from hpe_core.models.checkpoint import save_checkpoint
    from hpe_core.progress import NullProgress

    synthesize(SynthSpec(tmp_path / "d", poses=8, cameras=3, size=32, subjects=2, seed=0), NullProgress())
    torch.manual_seed(0)
    model = build_model("unihpe", "resnet18", width=4, image_size=32, dim=16, pose_width=16, pose_depth=1,
                        pose_heads=2, decoder_hidden=32)
    ckpt = save_checkpoint(tmp_path / "u.pt", model)
    space = shared_space(SharedSpaceSpec(ckpt, tmp_path / "d", max_samples=20, method="pca"))
    n = len(space.indices)
    assert n == 20 and space.coords.shape == (3 * n, 2)
    assert np.bincount(space.modality).tolist() == [n, n, n]
    for name in MODALITIES:
        np.testing.assert_allclose(np.linalg.norm(space.embeddings[name], axis=1), 1.0, atol=1e-5)
    ds = open_dataset(tmp_path / "d")
    np.testing.assert_array_equal(space.joints_3d, np.asarray(ds.joints_3d)[space.indices])
    pick = int(space.indices[3])
    hits = space.neighbours(pick, "pose3d")
    order, sims = retrieve(space.embeddings["image"][3], space.embeddings["pose3d"], 5)
    assert hits == [(int(space.indices[o]), float(s)) for o, s in zip(order, sims)]
    ranks = retrieval_ranks(space.embeddings["image"], space.embeddings["pose3d"])
    assert space.info["top1_image_pose3d"] == pytest.approx(np.mean(ranks == 0))
    missing = next(i for i in range(len(ds)) if i not in set(space.indices.tolist()))
    with pytest.raises(InputError, match="not among"):
        space.neighbours(missing, "pose3d")
    regressor = save_checkpoint(tmp_path / "r.pt", build_model("regressor", "resnet18", width=4))
    with pytest.raises(Exception, match="unihpe"):
        shared_space(SharedSpaceSpec(regressor, tmp_path / "d", max_samples=20, method="pca"))


def test_hpe_shared_space_reports_retrieval_and_writes_the_space(tmp_path, capsys):
    import json

    from hpe_core.cli import main
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.models import build_model
    from hpe_core.models.checkpoint import save_checkpoint
    from hpe_core.progress import NullProgress

    synthesize(SynthSpec(tmp_path / "d", poses=6, cameras=3, size=32, subjects=2, seed=1), NullProgress())
    torch.manual_seed(1)
    ckpt = save_checkpoint(tmp_path / "u.pt", build_model("unihpe", "resnet18", width=4, image_size=32, dim=16,
                                                          pose_width=16, pose_depth=1, pose_heads=2,
                                                          decoder_hidden=32))
    out = tmp_path / "space.npz"
    args = ["shared-space", str(ckpt), str(tmp_path / "d"), "--max-samples", "0", "--method", "pca",
            "--pick", "4", "--top-k", "3", "--out", str(out), "--device", "cpu"]
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    space = shared_space(SharedSpaceSpec(ckpt, tmp_path / "d", max_samples=None, method="pca"))
    assert doc["samples"] == 18 and doc["top1_image_pose3d"] == pytest.approx(space.info["top1_image_pose3d"])
    assert [(h["index"], h["cosine"]) for h in doc["picks"][0]["pose3d"]] == pytest.approx(
        space.neighbours(4, "pose3d", k=3))
    saved = np.load(out)
    assert saved["coords"].shape == (54, 2) and saved["modality"].tolist() == space.modality.tolist()
    np.testing.assert_allclose(saved["pose2d"], space.embeddings["pose2d"])
    assert main(args[:3] + ["--pick", "99"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--pick 99" in err[0]
