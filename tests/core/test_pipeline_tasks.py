"""Seed 001's tasks heatmap2d, lift and multitask: real short runs on a tiny synthetic set, the
schedules, the S1 validation split, and the datasets each task refuses (one line, exit 2)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hpe_core.models import load_checkpoint
from hpe_core.training.config import config_from_dict
from hpe_core.training.config_data import apply_overrides
from hpe_core.training.loop import run_training
from hpe_core.training.schedule import Schedule

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("data") / "tiny"
    synthesize(SynthSpec(out, poses=24, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return out


def config(dataset: Path, output: Path, task: str, *overrides: str):
    raw = {"task": task, "data": {"path": str(dataset), "image_size": 32},
           "model": {"width": 4, "options": {"linear_size": 32} if task == "lift" else {}},
           "optim": {"name": "adam", "lr": 0.001}, "schedule": {"name": "step", "step_epoch": 1},
           "train": {"epochs": 2, "batch_size": 8, "output": str(output), "log_every": 2, "seed": 3, "threads": 1}}
    if task == "multitask":
        raw["model"]["options"] = {"lifter": {"linear_size": 32}}
    return config_from_dict(apply_overrides(raw, list(overrides)))


def test_step_and_exponential_schedules():
    step = Schedule(name="step", steps_per_epoch=10, step_epoch=7, gamma=0.1)
    assert [step.factor(s) for s in (0, 69, 70, 99)] == [1.0, 1.0, 0.1, 0.1]
    exp = Schedule(name="exponential", steps_per_epoch=10, decay_rate=0.1, decay_epochs=4)
    assert exp.factor(0) == 1.0 and exp.factor(40) == pytest.approx(0.1) and exp.factor(20) == pytest.approx(0.1 ** 0.5)


def test_lift_trains_on_ground_truth_2d_and_stores_the_training_statistics(tiny, tmp_path):
    from hpe_core.datasets import open_dataset

    result = run_training(config(tiny, tmp_path / "lift", "lift", "train.epochs=3"))
    model, info = load_checkpoint(result.best_checkpoint)
    assert info.family == "lifter" and info.skeleton == "panoptic19"
    ds = open_dataset(tiny)
    from hpe_core.training.tasks.base import split_indices

    train = split_indices(ds, "train")
    x = np.asarray(ds.joints_2d[train], dtype=np.float64).reshape(len(train), -1)
    assert np.allclose(model.mean_2d.numpy(), x.mean(0), atol=1e-3)  # statistics of the training split
    test = result.final["test"]
    assert set(test) >= {"mpjpe", "pa_mpjpe", "loss"} and np.isfinite(test["mpjpe"])
    history = [h["train_loss"] for h in result.history]
    assert history[-1] < history[0]


def test_heatmap2d_reports_epe_and_pck_and_its_2d_feeds_a_lifter(tiny, tmp_path):
    hm = run_training(config(tiny, tmp_path / "hm", "heatmap2d", "model.options.deconv_strides=[4, 2]"))
    test = hm.final["test"]
    assert 0.0 <= test["pck"] <= 1.0 and test["epe"] > 0
    lift = run_training(config(tiny, tmp_path / "lift", "lift", f"pipeline.heatmap={hm.best_checkpoint}",
                               "pipeline.noise_std=1.0", "train.epochs=1"))
    assert lift.final["input_2d"].startswith("heatmap2d") and np.isfinite(lift.final["test"]["mpjpe"])


def test_multitask_trains_end_to_end_and_its_gradient_reaches_block_a(tiny, tmp_path):
    from hpe_core.training.tasks import make_task
    from hpe_core.datasets import open_dataset

    cfg = config(tiny, tmp_path / "mt", "multitask", "train.epochs=1")
    task = make_task(cfg, open_dataset(tiny), torch.device("cpu"))
    model = task.build_model()
    model.train()
    batch = next(iter(torch.utils.data.DataLoader(task.train_items(), batch_size=4)))
    task.loss(task.net(model), batch).backward()
    assert model.heatmap.encoder.conv1.weight.grad.abs().sum() > 0  # through soft-argmax and the lifter
    result = run_training(cfg)
    _, info = load_checkpoint(result.best_checkpoint)
    assert info.family == "multitask" and {"mpjpe", "pa_mpjpe", "epe", "pck"} <= set(result.final["test"])


def _hpe_train(tmp_path, raw) -> subprocess.CompletedProcess:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(raw))
    return subprocess.run([sys.executable, "-m", "hpe_core.cli", "train", str(cfg)], capture_output=True,
                          text=True, cwd=ROOT, timeout=240)


def test_an_image_only_dataset_given_to_lift_is_refused_in_one_line(tmp_path):
    import cv2

    folder = tmp_path / "images"
    folder.mkdir()
    for k in range(3):
        cv2.imwrite(str(folder / f"{k}.png"), np.full((16, 16, 3), 40 * k, np.uint8))
    result = _hpe_train(tmp_path, {"task": "lift", "data": {"path": str(folder)},
                                   "train": {"output": str(tmp_path / "run")}})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lift task needs the dataset column 'joints_2d'" in lines[0] and str(folder) in lines[0]


def test_s1_validation_needs_a_dataset_with_subject_s1(tiny, tmp_path):
    result = _hpe_train(tmp_path, {"task": "lift", "data": {"path": str(tiny), "validation": "S1"},
                                   "train": {"output": str(tmp_path / "run")}})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "data.validation S1" in result.stderr and "no subject S1" in result.stderr


def test_s1_validation_on_human36m_takes_s1_out_of_training(tmp_path):
    from hpe_core.datasets import open_dataset
    from hpe_core.training.tasks.base import split_indices

    rng = np.random.default_rng(0)
    data = {s: {"Walk": rng.normal(size=(4, 32, 3)).astype(np.float32)} for s in ("S1", "S5", "S9")}
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=np.array(data, dtype=object))
    ds = open_dataset(tmp_path)
    subject = np.asarray(ds.subject)
    names = ds.subject_names

    def subjects(split, validation):
        return sorted({names[k] for k in subject[split_indices(ds, split, validation)]})

    assert subjects("train", "default") == ["S1", "S5"] and subjects("val", "default") == ["S9"]
    assert subjects("train", "S1") == ["S5"] and subjects("val", "S1") == ["S1"] and subjects("test", "S1") == ["S9"]
