"""``hpe kernels`` reports how far conv1 moved from its random initialisation: the rebuilt
initialisation is the training run's own (zero after steps with the encoder's learning rate at 0), and real
steps move it."""

import json

import numpy as np
import pytest

from hpe_core.analysis.kernels import conv1_kernels, init_difference, initial_conv1
from hpe_core.cli import main
from hpe_core.datasets.synthetic import SynthSpec, synthesize
from hpe_core.errors import InputError
from hpe_core.models import load_checkpoint
from hpe_core.training.config import Config, DataConfig, ModelConfig, OptimConfig, TrainConfig
from hpe_core.training.loop import run_training


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synthesize(SynthSpec(tmp_path_factory.mktemp("k") / "d", poses=12, cameras=2, size=48, seed=2))


def _train(data, out, encoder_lr: float, seed: int = 3):
    config = Config(task="simclr", data=DataConfig(path=str(data), image_size=48),
                    model=ModelConfig(width=8), optim=OptimConfig(name="adam", lr=0.01, encoder_lr=encoder_lr),
                    train=TrainConfig(epochs=1, batch_size=8, max_steps_per_epoch=2, threads=1, seed=seed,
                                      output=str(out)))
    return run_training(config).last_checkpoint


def test_the_rebuilt_initialisation_is_the_runs_own(data, tmp_path):
    model, info = load_checkpoint(_train(data, tmp_path / "zero", encoder_lr=0.0))
    assert info.training["config"]["train"]["seed"] == 3
    report = conv1_kernels(model)
    same = init_difference(report, initial_conv1(model, 3))
    assert same["mean_abs_diff"] == 0.0 and same["mean_abs_init"] > 0
    assert init_difference(report, initial_conv1(model, 4))["mean_abs_diff"] > 0.1 * same["mean_abs_init"]
    assert sum(same["init_counts"].values()) == 8 and same["init_counts"] == report.counts()


def test_kernels_cli_reports_the_distance_from_the_initialisation(data, tmp_path, capsys):
    path = _train(data, tmp_path / "real", encoder_lr=0.01)
    assert main(["kernels", str(path), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["init"]
    model, _ = load_checkpoint(path)
    w, w0 = conv1_kernels(model).weights, initial_conv1(model, 3)
    assert got["seed"] == 3
    assert got["mean_abs_diff"] == pytest.approx(np.abs(w - w0).mean(), rel=1e-4) and got["mean_abs_diff"] > 0
    assert got["relative"] == pytest.approx(got["mean_abs_diff"] / got["mean_abs_init"], rel=1e-3)
    assert set(got["per_class"]) <= {"low-pass", "high-pass", "inverting", "mixed", "dead"}
    assert main(["kernels", str(path)]) == 0
    assert "vs init" in capsys.readouterr().out


def test_shapes_must_agree():
    report = conv1_kernels(np.zeros((4, 3, 7, 7), np.float32) + 0.1)
    with pytest.raises(InputError, match="shapes differ"):
        init_difference(report, np.zeros((8, 3, 7, 7), np.float32))
