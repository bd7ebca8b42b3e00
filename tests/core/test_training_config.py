"""Typed training configs: unknown keys and wrong types are clear errors; schedules; presets."""

import json
import math

import pytest

from hpe_core import resources_dir
from hpe_core.errors import InputError
from hpe_core.training.config import (
    Config, check_resume_compatible, config_from_dict, effective_lrs, load_config, validate,
)
from hpe_core.training.config_data import apply_overrides
from hpe_core.training.schedule import Schedule

BASE = {"task": "simclr", "data": {"path": "demo"}, "train": {"epochs": 2, "batch_size": 8}}


def test_yaml_and_json_give_the_same_config(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("task: simclr\ndata:\n  path: demo\ntrain:\n  epochs: 2\n  batch_size: 8\n")
    j = tmp_path / "c.json"
    j.write_text(json.dumps(BASE))
    assert load_config(y) == load_config(j)
    c = load_config(y)
    assert isinstance(c, Config) and c.train.epochs == 2 and c.model.backbone == "resnet18"


@pytest.mark.parametrize("raw, fragment", [
    ({**BASE, "trian": {}}, "unknown key 'trian'"),
    ({**BASE, "train": {"epochs": 2, "batchsize": 8}}, "unknown key 'train.batchsize'"),
    ({**BASE, "train": {"epochs": "two"}}, "train.epochs: expected an integer, got str"),
    ({**BASE, "train": {"epochs": 2.5}}, "train.epochs: expected an integer"),
    ({**BASE, "optim": {"lr": "fast"}}, "optim.lr: expected a number"),
    ({**BASE, "optim": {"name": "lbfgs"}}, "optim.name: expected one of sgd, adam, adamw"),
    ({**BASE, "regression": {"fine_tune": "yes"}}, "regression.fine_tune: expected true or false"),
    ({**BASE, "task": "simclrr"}, "task: expected one of simclr, simsiam, regress3d"),
    ({"data": {"path": "x"}}, "missing key 'task'"),
    ({**BASE, "data": 3}, "data: expected a mapping"),
])
def test_bad_configs_name_the_key(raw, fragment):
    with pytest.raises(InputError, match=None) as err:
        config_from_dict(raw)
    assert fragment in str(err.value)


def test_load_config_names_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("task: simclr\nfoo: 1\n")
    with pytest.raises(InputError, match=r"bad.yaml: unknown key 'foo'"):
        load_config(p)
    p.write_text("task: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(InputError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_overrides_are_typed_like_the_file():
    raw = apply_overrides(BASE, ["train.epochs=5", "optim.lr=0.3", "regression.fine_tune=true",
                                 "data.skip_list=", "model.options.proj_dim=32"])
    c = config_from_dict(raw)
    assert (c.train.epochs, c.optim.lr, c.regression.fine_tune, c.data.skip_list) == (5, 0.3, True, None)
    assert c.model.options == {"proj_dim": 32}
    with pytest.raises(InputError, match="expected KEY=VALUE"):
        apply_overrides(BASE, ["train.epochs"])
    with pytest.raises(InputError, match="train.epochs: expected an integer"):
        config_from_dict(apply_overrides(BASE, ["train.epochs=abc"]))


@pytest.mark.parametrize("key, value, fragment", [
    ("train.epochs", 0, "train.epochs: must be at least 1"),
    ("optim.lr", -1.0, "optim.lr: must be positive"),
    ("regression.head_layers", 4, "regression.head_layers: expected 1, 2 or 3"),
    ("data.path", None, "data.path: no dataset given"),
    ("regression.encoder", None, "regression.encoder: no encoder given"),
])
def test_validate_cross_checks(key, value, fragment):
    regress = {**BASE, "task": "regress3d", "regression": {"encoder": "random"}}
    raw = apply_overrides(regress, [f"{key}={json.dumps(value)}"])
    with pytest.raises(InputError) as err:
        validate(config_from_dict(raw))
    assert fragment in str(err.value)


def test_simclr_linear_scaling_rule():
    c = config_from_dict(apply_overrides(BASE, ["optim.lr=0.3", "optim.lr_scaling=linear",
                                                "train.batch_size=225"]))
    head, enc = effective_lrs(c)
    assert head == pytest.approx(0.3 * 225 / 256) and enc == head
    c = config_from_dict(apply_overrides(BASE, ["optim.lr=0.01", "optim.encoder_lr=0.005"]))
    assert effective_lrs(c) == (0.01, 0.005)


def test_resume_compatibility_names_the_changed_key():
    a = config_from_dict(BASE)
    b = config_from_dict(apply_overrides(BASE, ["train.epochs=9", "data.num_workers=2"]))
    check_resume_compatible(a, b)  # allowed changes
    c = config_from_dict(apply_overrides(BASE, ["optim.lr=0.5"]))
    with pytest.raises(InputError, match="'optim.lr'"):
        check_resume_compatible(a, c)


# ----------------------------------------------------------------------------- schedules
def _torch_cosine_reference(base_lr, t_max, steps, eta_min=0.0):
    """torch's CosineAnnealingLR stepped once per step."""
    import torch

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("steps_per_epoch, t_max, eta_min", [(1, 25, 0.0), (4, 5, 0.1), (2, 2.5, 0.0)])
def test_cosine_matches_torch_scheduler(steps_per_epoch, t_max, eta_min):
    s = Schedule("cosine", steps_per_epoch=steps_per_epoch, t_max_epochs=t_max, eta_min=eta_min)
    n = int(t_max * steps_per_epoch)
    ref = _torch_cosine_reference(1.0, n, 2 * n, eta_min)
    ours = [s.factor(i) for i in range(2 * n)]
    assert ours == pytest.approx(ref, abs=1e-9)


def test_warmup_then_cosine_closed_form():
    s = Schedule("cosine", steps_per_epoch=10, t_max_epochs=2, warmup_epochs=0.5)
    assert [s.factor(i) for i in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert s.factor(5 + 10) == pytest.approx(0.5)  # half way through T_max
    assert s.factor(5 + 20) == pytest.approx(0.0, abs=1e-12)
    const = Schedule("constant", steps_per_epoch=10, warmup_epochs=0.0)
    assert {const.factor(i) for i in range(30)} == {1.0}
    assert math.isclose(Schedule("cosine", 7, 3).factor(0), 1.0)


# ----------------------------------------------------------------------------- presets
PRESETS = sorted((resources_dir() / "presets").glob("*.yaml"))


def test_presets_exist():
    names = {p.stem for p in PRESETS}
    for stem in ("simclr", "simsiam", "regress_1layer", "regress_2layer", "regress_3layer", "simclr_retrained"):
        assert stem in names and f"{stem}_cpu" in names


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_loads(path):
    c = load_config(path, ["data.path=demo", "regression.encoder=x.pt", "model.init=x.pt"])
    validate(c)
