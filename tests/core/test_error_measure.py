"""The one error measure per checkpoint, decided from its training record."""

from pathlib import Path

import pytest

from hpe_core.error_measure import error_measure
from hpe_core.models import inspect_checkpoint

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo"


@pytest.mark.parametrize("name, expected", [("simclr_regress2.pt", "PA-MPJPE"), ("simsiam_regress2.pt", "PA-MPJPE"),
                                            ("lifter.pt", "MPJPE"), ("heatmap2d.pt", "MPJPE"),
                                            ("vae_lifter.pt", "MPJPE"), ("simclr.pt", "MPJPE")])
def test_demo_checkpoints_get_their_measure(name, expected):
    measure = error_measure(inspect_checkpoint(DEMO / name).training)
    assert measure.name == expected
    assert measure.key == {"MPJPE": "mpjpe", "PA-MPJPE": "pa_mpjpe"}[expected]
    assert measure.reason


def test_the_regression_loss_decides_for_regression_heads():
    plain = {"task": "regress3d", "config": {"task": "regress3d", "regression": {"loss": "mse"}}}
    aligned = {"task": "regress3d", "config": {"task": "regress3d", "regression": {"loss": "rotation_mse"}}}
    assert error_measure(plain).name == "MPJPE" and not error_measure(plain).rotation_aligned
    assert error_measure(aligned).name == "PA-MPJPE" and error_measure(aligned).rotation_aligned
    # another task carries the regression section's default without training with it
    lift = {"task": "lift", "config": {"task": "lift", "regression": {"loss": "rotation_mse"}}}
    assert error_measure(lift).name == "MPJPE"
    assert error_measure(None).name == "MPJPE" and error_measure({}).reason == "no training record"
