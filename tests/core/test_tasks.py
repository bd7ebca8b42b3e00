"""The training-task table and the dataset columns each task needs."""

import json
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest

from hpe_core.datasets import open_dataset
from hpe_core.errors import InputError
from hpe_core.training.config import Config, config_from_dict
from hpe_core.training.tasks import COLUMNS, TASKS, check_columns, make_task, missing_columns, task_sections
from hpe_core.training.tasks.base import Task
from test_datasets_formats import _coco

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "tests" / "fixtures" / "datasets" / "native_v1"


def test_the_table_names_every_configurable_task_and_declares_known_columns():
    assert set(TASKS) == {"simclr", "simsiam", "regress3d", "vae_lift", "heatmap2d", "lift", "multitask", "unihpe"}
    assert list(TASKS) == list(typing.get_args(typing.get_type_hints(Config)["task"]))
    from hpe_core.models.families import FAMILIES

    for name, info in TASKS.items():
        cls = info.trainer()
        assert issubclass(cls, Task) and cls.info is info and info.name == name and info.family in FAMILIES
        assert info.columns and set(info.columns) <= set(COLUMNS)
    assert TASKS["regress3d"].columns == ("images", "joints_3d")
    assert TASKS["simclr"].columns == TASKS["simsiam"].columns == ("images", "pose_id")


def test_a_full_dataset_has_every_column():
    ds = open_dataset(NATIVE)
    for cls in TASKS.values():
        assert missing_columns(cls, ds) == []
        check_columns(cls, ds)


def test_coco_keypoints_have_no_3d_so_regress3d_refuses_and_simclr_accepts(tmp_path):
    root, _, _ = _coco(tmp_path)
    ds = open_dataset(root)
    assert missing_columns(TASKS["regress3d"], ds) == ["joints_3d"]
    with pytest.raises(InputError, match=r"the regress3d task needs the dataset column 'joints_3d' .* coco"):
        check_columns(TASKS["regress3d"], ds, "data.path x")
    check_columns(TASKS["simclr"], ds)


def test_joints_only_h36m_has_no_images_so_every_image_task_refuses(tmp_path):
    data = {"S1": {"Walk": np.zeros((3, 32, 3), np.float32)}}
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=np.array(data, dtype=object))
    ds = open_dataset(tmp_path)
    for name in ("simclr", "simsiam", "regress3d", "heatmap2d", "multitask"):
        assert missing_columns(TASKS[name], ds) == ["images"]
    assert missing_columns(TASKS["vae_lift"], ds) == []  # a lifter needs no image (2D from the built-in cameras)
    assert missing_columns(TASKS["lift"], ds) == []  # a lifter needs 2D and 3D joints only
    assert missing_columns(TASKS["unihpe"], ds) == []  # unihpe stage 1 reads joints only (stages 2-3 check images)
    config = config_from_dict({"task": "simsiam", "data": {"path": str(tmp_path)}})
    with pytest.raises(InputError, match="simsiam task needs the dataset column 'images'"):
        make_task(config, ds, "cpu")


def test_hpe_train_refuses_a_dataset_without_the_column_before_training_starts(tmp_path):
    root, _, _ = _coco(tmp_path)
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"task": "regress3d", "data": {"path": str(root), "image_size": 32},
                               "regression": {"encoder": "random"}, "model": {"width": 4},
                               "train": {"epochs": 1, "output": str(tmp_path / "run")}}))
    events = tmp_path / "ev.jsonl"
    result = subprocess.run([sys.executable, "-m", "hpe_core.cli", "train", str(cfg), "--events", str(events)],
                            capture_output=True, text=True, cwd=ROOT, timeout=240)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'joints_3d'" in lines[0] and str(root) in lines[0]
    types = [json.loads(line)["type"] for line in events.read_text().splitlines()]
    assert "start" not in types and "progress" not in types and types[-1] == "error"
    assert not (tmp_path / "run" / "last.pt").exists()


# ----------------------------------------------------------------------------- each task's own section
def test_the_config_sections_of_the_tasks_come_from_the_table():
    import dataclasses

    sections = task_sections()
    names = [f.name for f in dataclasses.fields(Config)]
    assert names == ["task", "data", "model", *sections, "health", "optim", "schedule", "train"]
    assert list(sections) == ["contrastive", "regression", "vae", "pipeline", "unihpe"]  # a saved config's order
    hints = typing.get_type_hints(Config)
    for info in TASKS.values():
        if info.options is not None:
            assert hints[info.section] is info.options and dataclasses.is_dataclass(info.options)
            assert info.options.__dataclass_params__.frozen
    assert TASKS["simsiam"].options is TASKS["simclr"].options  # the contrastive section (stop_gradient: SimSiam's)
    assert TASKS["lift"].section == TASKS["multitask"].section == "pipeline"


@pytest.mark.parametrize("task, section, bad, fragment", [
    ("vae_lift", "vae", {"beta_hold": 50}, "vae.beta_hold: must be 0 or more and less than vae.beta_cycle"),
    ("simclr", "contrastive", {"temperature": 0.0}, "contrastive.temperature: must be positive"),
    ("lift", "pipeline", {"pck_fraction": 2.0}, "pipeline: noise_std and lambda_2d must be 0 or more"),
    ("unihpe", "unihpe", {"stage": 4}, "unihpe.stage: expected 1, 2 or 3, got 4"),
])
def test_a_section_is_checked_by_its_own_task_only(task, section, bad, fragment):
    from hpe_core.training.config import validate

    other = "simsiam" if section != "contrastive" else "lift"  # simclr and simsiam share the contrastive section
    raw = {"data": {"path": "demo"}, "train": {"batch_size": 4}, section: bad}
    with pytest.raises(InputError, match=fragment.replace("(", r"\(")):
        validate(config_from_dict({"task": task, **raw}))
    validate(config_from_dict({"task": other, **raw}))  # carried, not used: not checked


def test_the_table_and_the_config_load_no_torch():
    code = ("import sys; import hpe_core.training.tasks, hpe_core.training.config; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
