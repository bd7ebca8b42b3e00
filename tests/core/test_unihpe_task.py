"""The unihpe task: three stages from one checkpoint to the next, what each stage trains and
freezes, its validation figures, bad datasets, and ``hpe ablate unihpe``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hpe_core.models.checkpoint import load_checkpoint
from hpe_core.training.config import config_from_dict
from hpe_core.training.loop import run_training
from test_datasets_formats import _coco

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {"dim": 16, "pose_width": 16, "pose_depth": 1, "pose_heads": 2, "decoder_hidden": 32}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("data") / "tiny"
    synthesize(SynthSpec(out, poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return out


def _config(dataset, out, stage, init=None, **unihpe):
    return config_from_dict({
        "task": "unihpe", "data": {"path": str(dataset), "image_size": 32},
        "model": {"width": 4, "init": str(init) if init else None, "options": dict(OPTIONS)},
        "unihpe": {"stage": stage, **unihpe}, "optim": {"name": "adam", "lr": 0.01},
        "train": {"epochs": 1, "batch_size": 8, "max_steps_per_epoch": 3, "output": str(out), "threads": 1}})


def _state(path, prefixes):
    model, _ = load_checkpoint(path)
    return {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}, model


@pytest.fixture(scope="module")
def stages(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    s1 = run_training(_config(tiny, out / "s1", 1))
    s2 = run_training(_config(tiny, out / "s2", 2, s1.best_checkpoint, triplet=True))
    s3 = run_training(_config(tiny, out / "s3", 3, s2.best_checkpoint, triplet=True))
    return s1, s2, s3


POSE = ("pose2d_encoder.", "pose3d_encoder.")
IMAGE = ("encoder.", "image_proj.")
DECODERS = ("decoder2d.", "decoder3d.", "tokens.")


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stage1_trains_only_the_pose_encoders(stages):
    s1, _, _ = stages
    assert s1.reason == "finished" and s1.step == 3
    _, model = _state(s1.last_checkpoint, POSE)
    assert model.config["tau0"] == pytest.approx(1 / 14) and model.config["tau_min"] == pytest.approx(0.01)
    assert "cos_pose2d_pose3d" in s1.history[-1] and "top1_pose2d_pose3d" in s1.history[-1]
    assert "cos_image_pose2d" not in s1.history[-1]  # no image is read in stage 1


def test_stage2_really_freezes_the_pose_encoders_and_trains_the_image_encoder(stages):
    s1, s2, _ = stages
    assert s2.reason == "finished" and s2.step == 3
    before_pose, _ = _state(s1.best_checkpoint, POSE + DECODERS)
    after_pose, model = _state(s2.last_checkpoint, POSE + DECODERS)
    assert _same(before_pose, after_pose)  # unchanged after three optimizer steps, bit for bit
    before_img, _ = _state(s1.best_checkpoint, IMAGE)
    after_img, _ = _state(s2.last_checkpoint, IMAGE)
    changed = [k for k in before_img if not torch.equal(before_img[k], after_img[k])]
    assert any(k.startswith("image_proj") for k in changed) and any(k.startswith("encoder.layer4") for k in changed)
    # the temperature restarted at the stage's tau0 = 1/5 and stays in [1/10, 1e4]
    assert model.config["tau0"] == pytest.approx(0.2) and model.config["tau_min"] == pytest.approx(0.1)
    for row in s2.history:
        assert 0.1 - 1e-6 <= row["tau"] <= 1e4
        for key in ("cos_image_pose2d", "cos_image_pose3d", "cos_pose2d_pose3d", "cos_mean",
                    "top1_image_pose3d", "top5_image_pose3d"):
            assert np.isfinite(row[key])
        assert 0 <= row["top1_image_pose3d"] <= row["top5_image_pose3d"] <= 1
    # the frozen 2D-3D pair keeps its stage-1 agreement: the same embeddings, the same cosine
    assert s2.history[-1]["cos_pose2d_pose3d"] == pytest.approx(s1.history[-1]["cos_pose2d_pose3d"], abs=1e-5)


def test_stage2_optimizer_holds_no_frozen_parameter(tiny, stages, tmp_path):
    from hpe_core.training.tasks import make_task
    from hpe_core.datasets import open_dataset

    s1, _, _ = stages
    config = _config(tiny, tmp_path, 2, s1.best_checkpoint)
    task = make_task(config, open_dataset(tiny), torch.device("cpu"))
    model = task.build_model()
    trained = {id(p) for g in task.param_groups(model, 1e-3, 1e-3) for p in g["params"]}
    names = [n for n, p in model.named_parameters() if id(p) in trained]
    assert names and all(n.startswith(IMAGE + ("temperature.",)) for n in names)


def test_stage3_trains_everything_and_reports_every_path(stages):
    _, s2, s3 = stages
    assert s3.reason == "finished"
    for prefixes in (POSE, IMAGE, ("decoder3d.",)):
        before, _ = _state(s2.best_checkpoint, prefixes)
        after, _ = _state(s3.last_checkpoint, prefixes)
        assert not _same(before, after)
    row = s3.history[-1]
    assert 0.2 - 1e-6 <= row["tau"] <= 1e4
    for key in ("image_to_3d_mpjpe", "image_to_3d_pa_mpjpe", "pose2d_to_3d_mpjpe", "pose2d_to_3d_pa_mpjpe",
                "image_to_2d_pck", "image_to_2d_epe"):
        assert np.isfinite(row[key]) and row[key] >= 0
    assert row["pose2d_to_3d_pa_mpjpe"] <= row["pose2d_to_3d_mpjpe"] + 1e-6


def test_hpe_evaluate_reports_the_three_paths_of_one_checkpoint(tiny, stages):
    _, _, s3 = stages
    result = subprocess.run([sys.executable, "-m", "hpe_core.cli", "evaluate", str(s3.best_checkpoint), str(tiny),
                             "--split", "all", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    paths = doc["unihpe"]["paths"]
    assert set(paths) == {"image_to_2d", "image_to_3d", "pose2d_to_3d"}
    for p in ("image_to_3d", "pose2d_to_3d"):
        assert paths[p]["mpjpe"] > 0 and paths[p]["pa_mpjpe"] > 0
    assert 0 <= paths["image_to_2d"]["pck2d"] <= 1 and paths["image_to_2d"]["epe"] > 0
    # the image path of the three is the one the ordinary 3D report scores
    assert doc["metrics"]["mpjpe"] == pytest.approx(paths["image_to_3d"]["mpjpe"], rel=1e-4)
    assert -1 <= doc["unihpe"]["crossmodal"]["cos_mean"] <= 1


def _train_cli(tmp_path, dataset, stage, **extra):
    cfg = tmp_path / "c.json"
    raw = {"task": "unihpe", "data": {"path": str(dataset), "image_size": 32}, "model": {"width": 4, **extra},
           "unihpe": {"stage": stage}, "train": {"epochs": 1, "batch_size": 2, "output": str(tmp_path / "run")}}
    cfg.write_text(json.dumps(raw))
    return subprocess.run([sys.executable, "-m", "hpe_core.cli", "train", str(cfg)], capture_output=True,
                          text=True, cwd=ROOT, timeout=240)


def _one_line(result, *words):
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for w in words:
        assert w in lines[0], lines[0]


def test_a_dataset_without_3d_joints_is_refused_in_one_line(tmp_path):
    root, _, _ = _coco(tmp_path)
    _one_line(_train_cli(tmp_path, root, 1), "unihpe", "'joints_3d'", str(root))


def test_joints_without_images_serve_stage1_but_stage3_refuses_them_in_one_line(tmp_path):
    # (every reader that has 3D joints also has 2D ones: projected with its cameras when not stored)
    data = {"S1": {"Walk": np.zeros((3, 32, 3), np.float32)}}
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=np.array(data, dtype=object))
    from hpe_core.datasets import open_dataset
    from hpe_core.training.tasks import TASKS, missing_columns

    assert missing_columns(TASKS["unihpe"], open_dataset(tmp_path)) == []  # stage 1 needs no image
    _one_line(_train_cli(tmp_path, tmp_path, 3), "unihpe stage-3", "'images'", str(tmp_path))


def test_stage2_without_the_stage1_checkpoint_is_refused(tmp_path, tiny):
    _one_line(_train_cli(tmp_path, tiny, 2), "model.init", "stage-1 checkpoint")


def test_hpe_ablate_prints_and_saves_the_table(tiny, tmp_path):
    out = tmp_path / "abl"
    result = subprocess.run([sys.executable, "-m", "hpe_core.cli", "ablate", "unihpe", str(tiny), "--quick",
                             "--out", str(out), "--set", f"model.options={json.dumps(OPTIONS)}"],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    for row in ("no alignment", "| pair |", "pair + triplet", "+ modality token"):
        assert row in result.stdout
    doc = json.loads((out / "ablation.json").read_text())
    assert [r["row"] for r in doc["rows"]] == ["no alignment", "pair", "pair + triplet", "+ modality token"]
    assert [r["token"] for r in doc["rows"]] == [False, False, False, True]
    for r in doc["rows"]:
        assert r["image_mpjpe"] > 0 and r["gt2d_pa_mpjpe"] > 0 and -1 <= r["cos_mean"] <= 1
    assert doc["rows"][0]["pretrain_cos_mean"] is None and doc["rows"][2]["pretrain_cos_mean"] is not None
    assert (out / "ablation.md").read_text().count("\n|") == 6  # header, rule, four rows
