"""The ``vae_lift`` task on a real (tiny) synthetic set: the unsupervised step never reads a 3D
label, the two players update only their own weights, validation figures and histograms."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from hpe_core.datasets import open_dataset
from hpe_core.training.config import config_from_dict
from hpe_core.training.optim import make_optimizer
from hpe_core.training.tasks import make_task


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("data") / "tiny"
    synthesize(SynthSpec(out, poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return out


class ThreeDLabelRead(AssertionError):
    pass


class No3D:
    """A dataset whose 3D joints raise when anything reads them (every other column passes)."""

    def __init__(self, dataset) -> None:
        self._d = dataset

    def __len__(self) -> int:
        return len(self._d)

    def __getattr__(self, name):
        if name == "joints_3d":
            raise ThreeDLabelRead("joints_3d was read")
        return getattr(self._d, name)

    def column(self, name):
        if name == "joints_3d":
            raise ThreeDLabelRead("joints_3d was read")
        return self._d.column(name)

    base_column = column

    def sample(self, i):
        raise ThreeDLabelRead("a whole sample (with its joints_3d) was read")


def config(path: Path, **vae):
    return config_from_dict({"task": "vae_lift", "data": {"path": str(path)},
                             "vae": {"neurons": 16, "latent_dim": 4, "hypotheses": 3, **vae},
                             "optim": {"name": "adam", "lr": 1e-3}, "train": {"batch_size": 8, "seed": 2}})


def _batch(task, n=8):
    items = task.train_items()
    return default_collate([items[i] for i in range(n)])


def _setup(dataset, cfg):
    task = make_task(cfg, dataset, torch.device("cpu"))
    model = task.build_model().train()
    opt = make_optimizer(cfg.optim, task.param_groups(model, cfg.optim.lr, cfg.optim.lr))
    return task, model, opt


def test_unsupervised_training_never_reads_a_3d_label(tiny):
    task, model, opt = _setup(No3D(open_dataset(tiny)), config(tiny))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    checked = []
    loss = task.train_step(model, _batch(task), opt, epoch=15, check=checked.append)
    assert torch.isfinite(loss) and len(checked) == 2  # the discriminator's and the generator's
    after = model.state_dict()
    for part in ("encoder.", "decoder.", "discriminator."):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(part)), part


def test_the_guard_catches_the_supervised_variant(tiny):
    """The control: the same guard does fire when training reads 3D labels."""
    with pytest.raises(ThreeDLabelRead):
        task, model, opt = _setup(No3D(open_dataset(tiny)), config(tiny, supervised=True))
        task.train_step(model, _batch(task), opt, epoch=15, check=lambda loss: None)


def test_each_player_steps_only_its_own_weights(tiny):
    task, model, opt = _setup(open_dataset(tiny), config(tiny))
    gen = {id(p) for p in model.generator_parameters()}
    x = _batch(task)["pose2d"]
    d_loss = model.discriminator(x[:, 1:].flatten(1)).mean() + model.encode(x)[0].sum() * 0  # touches G too
    g_before = [p.detach().clone() for p in model.generator_parameters()]
    task._update(opt, d_loss, list(model.discriminator.parameters()), 1.0, None, lambda loss: None)
    assert all(torch.equal(a, b) for a, b in zip(g_before, model.generator_parameters()))
    assert not any(id(p) in gen for p in opt.state)  # Adam kept no moments for the generator
    used = [n for n, _ in model.discriminator.named_parameters() if ".bn1." not in n]  # HPE3D keeps unused BNs
    assert len(opt.state) == len(used)


def test_gradient_clipping_bounds_the_discriminator_step(tiny):
    task, model, opt = _setup(open_dataset(tiny), config(tiny))
    params = list(model.discriminator.parameters())
    loss = model.discriminator(_batch(task)["pose2d"][:, 1:].flatten(1)).sum() * 1e6
    task._update(opt, loss, params, 1.0, None, lambda loss: None)
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None]))
    assert float(norm) == pytest.approx(1.0, rel=1e-4)


def test_supervised_variant_is_refused_on_a_2d_only_dataset(tiny, tmp_path):
    from hpe_core.errors import InputError

    class TwoDOnly(No3D):
        def has(self, name):
            return name != "joints_3d" and self._d.has(name)

    with pytest.raises(InputError, match="2D-only dataset; vae.supervised needs 3D joints"):
        make_task(config(tiny, supervised=True), TwoDOnly(open_dataset(tiny)), torch.device("cpu"))


def test_validation_reports_mean_and_best_hypothesis_and_a_histogram(tiny):
    from hpe_core.training.tasks.vae_lift import HIST_EDGES_MM

    task, model, opt = _setup(open_dataset(tiny), config(tiny))
    model.eval()
    loader = torch.utils.data.DataLoader(task.eval_items("val"), batch_size=5, collate_fn=task.collate())
    out = task.evaluate(model, loader, lambda sums: sums)
    for key in ("mpjpe", "n_mpjpe", "pa_mpjpe", "bh_mpjpe", "bh_n_mpjpe", "bh_pa_mpjpe", "recon", "kl", "loss"):
        assert out[key] >= 0, key
    assert out["pa_mpjpe"] <= out["n_mpjpe"] + 1e-9  # a similarity fits at least as well as a scale
    hist = out["histograms"]["pjpe"]
    assert hist["edges_mm"] == list(HIST_EDGES_MM)
    joints = sum(int(task.dataset.visible[i].sum()) for i in task.val_indices)
    assert sum(hist["counts"]) == joints  # every evaluated joint lands in one bin


def test_a_run_logs_a_histogram_at_every_validation_and_saves_a_vae_lifter(tiny, tmp_path):
    from hpe_core.models.checkpoint import load_checkpoint
    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training
    from hpe_core.training.tasks.vae_lift import HIST_EDGES_MM

    cfg = config_from_dict({"task": "vae_lift", "data": {"path": str(tiny)},
                            "vae": {"neurons": 16, "latent_dim": 4, "hypotheses": 3, "beta_warmup": 1,
                                    "beta_cycle": 2, "beta_hold": 1},
                            "optim": {"name": "adam", "lr": 1e-3},
                            "train": {"epochs": 3, "batch_size": 8, "seed": 2, "threads": 1,
                                      "output": str(tmp_path / "run")}})
    events = EventWriter(None)
    result = run_training(cfg, events=events)
    assert result.reason == "finished"
    metrics = [e for e in events.events if e["type"] == "metric" and e["split"] == "val"]
    assert len(metrics) == 3
    for e in metrics:
        hist = e["histograms"]["pjpe"]
        assert len(hist["counts"]) == len(HIST_EDGES_MM) - 1 and sum(hist["counts"]) > 0
        assert e["metrics"]["bh_pa_mpjpe"] is not None and "histograms" not in e["metrics"]
    final = result.final
    assert set(final) >= {"test", "baseline_test"} and final["baseline_test"]["pa_mpjpe"] > 0
    model, info = load_checkpoint(result.last_checkpoint)
    assert info.family == "vae_lifter" and info.joints == 19 and info.skeleton == "panoptic19"
    assert info.feature_dims == {"latent": 4, "pose": 57}


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory) -> Path:
    from hpe_core.training.loop import run_training

    out = tmp_path_factory.mktemp("vae_run")
    cfg = config_from_dict({"task": "vae_lift", "data": {"path": str(tiny)},
                            "vae": {"neurons": 16, "latent_dim": 4, "hypotheses": 3},
                            "optim": {"name": "adam", "lr": 1e-3},
                            "train": {"epochs": 1, "batch_size": 8, "seed": 2, "threads": 1, "output": str(out)}})
    return run_training(cfg).last_checkpoint


def test_hpe_evaluate_scores_the_mean_and_the_best_of_k_hypotheses(tiny, trained):
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    run = lambda *a: subprocess.run([sys.executable, "-m", "hpe_core.cli", "evaluate", str(trained), str(tiny),  # noqa: E731
                                     "--split", "all", "--json", *a], capture_output=True, text=True, cwd=root,
                                    timeout=240)
    result = run("--hypotheses", "6")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    best = report["best_of_k"]
    assert best["hypotheses"] == 6 and report["samples"] == 80
    for key in ("mpjpe", "pa_mpjpe", "n_mpjpe"):
        assert 0 < best[key] and np.isfinite(best[key])
    # the latent draws are seeded: the same command gives the same numbers
    assert json.loads(run("--hypotheses", "6").stdout)["best_of_k"] == best
    assert "best_of_k" not in json.loads(run("--hypotheses", "0").stdout)
    bad = run("--hypotheses", "-1")
    assert bad.returncode == 2 and "--hypotheses" in bad.stderr and "Traceback" not in bad.stderr


def test_the_latent_is_a_feature_of_the_embedding_explorer(tiny, trained, tmp_path):
    from hpe_core.analysis.features import EmbedSpec, compute_embeddings
    from hpe_core.models.checkpoint import load_checkpoint
    from hpe_core.models.vae_lifter import normalise_2d

    emb = compute_embeddings(EmbedSpec(trained, tiny, layers=("latent", "pose"), cache_dir=tmp_path, device="cpu"))
    assert emb.features["latent"].shape == (80, 4) and emb.features["pose"].shape == (80, 57)
    model, _ = load_checkpoint(trained)
    ds = open_dataset(tiny)
    with torch.no_grad():
        x, _ = normalise_2d(torch.tensor(ds.joints_2d), torch.tensor(ds.visible), ds.skeleton.root)
        mu, _ = model.encode(x)
    assert np.allclose(np.asarray(emb.features["latent"], np.float32), mu.numpy(), atol=2e-3 * float(mu.abs().max()))


@pytest.mark.parametrize("key,value,message", [
    ("beta_hold", 40, "vae.beta_hold: must be 0 or more and less than vae.beta_cycle"),
    ("flip_prob", 1.5, "vae.flip_prob: must be a probability"),
    ("hypotheses", -2, "vae.hypotheses: must be 0 or more"),
    ("neurons", 0, "vae.neurons: must be at least 1"),
])
def test_bad_vae_settings_are_named(key, value, message):
    from hpe_core.errors import InputError
    from hpe_core.training.config import validate

    with pytest.raises(InputError, match=message):
        validate(config_from_dict({"task": "vae_lift", "data": {"path": "demo"}, "vae": {key: value}}))


def test_the_fk_decoder_trains_from_2d_alone_and_keeps_its_bone_lengths(tiny):
    from hpe_core.kinematics import bone_lengths

    task, model, opt = _setup(No3D(open_dataset(tiny)), config(tiny, pose_head="fk"))
    for _ in range(3):
        loss = task.train_step(model, _batch(task), opt, epoch=15, check=lambda loss: None)
        assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        pose = model(_batch(task)["pose2d"])["pose"] * model.config["unit_mm"]
    lengths = bone_lengths(pose.double().numpy(), "panoptic19")
    assert np.allclose(lengths, np.asarray(model.config["bone_lengths"])[None], rtol=1e-5)


def test_hpe_predict_lifts_a_dataset_and_evaluate_pred_scores_it_like_the_checkpoint(tiny, trained, tmp_path):
    import json
    import subprocess
    import sys

    from hpe_core.predictions import load_prediction

    root = Path(__file__).resolve().parents[2]
    hpe = lambda *a: subprocess.run([sys.executable, "-m", "hpe_core.cli", *a], capture_output=True,  # noqa: E731
                                    text=True, cwd=root, timeout=240)
    out = tmp_path / "lifted.npz"
    result = hpe("predict", str(trained), str(tiny), "--out", str(out))
    assert result.returncode == 0, result.stderr
    pred = load_prediction(out)
    assert pred.joints_3d.shape == (80, 19, 3) and pred.hypotheses.shape == (80, 10, 19, 3)
    assert pred.latent.shape == (80, 4) and pred.frame == "root_relative"
    from_file = json.loads(hpe("evaluate", "--pred", str(out), str(tiny), "--split", "all", "--json").stdout)
    from_ckpt = json.loads(hpe("evaluate", str(trained), str(tiny), "--split", "all", "--json").stdout)
    for key in ("mpjpe", "pa_mpjpe", "n_mpjpe"):
        assert from_file["metrics"][key] == pytest.approx(from_ckpt["metrics"][key], rel=1e-6)
    bad = hpe("predict", str(trained), str(tiny), "--out", str(tmp_path / "x.json"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
