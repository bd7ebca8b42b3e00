"""The whole-frame-or-crops study (issue 27): the runs it trains and how it scores each."""

import pytest

from hpe_core import resources_dir
from hpe_core.studies import crop_choice
from hpe_core.studies.crop_choice import markdown, score, study_steps


def test_each_recipe_trains_once_on_whole_frames_and_once_on_ground_truth_crops(tmp_path):
    steps = {s.name: s.config for s in study_steps(tmp_path)}
    assert list(steps) == ["heatmap2d_none", "heatmap2d_gt", "simclr_regress2_none", "simclr_regress2_gt"]
    assert [c.data.crop for c in steps.values()] == ["none", "gt", "none", "gt"]
    assert {c.data.path for c in steps.values()} == {"demo", "demo-heldout"}
    head = steps["simclr_regress2_gt"]
    assert head.regression.encoder == str(resources_dir() / "demo" / "simclr.pt") and head.regression.head_layers == 2
    assert steps["heatmap2d_gt"].train.output == str(tmp_path / "heatmap2d_gt")


def test_a_model_scored_both_ways_sees_what_each_mode_says(monkeypatch):
    monkeypatch.setattr(crop_choice, "SAMPLES", 12)
    checkpoint = resources_dir() / "demo" / "simclr_regress2.pt"
    whole, crops = (score(checkpoint, "demo-heldout", mode) for mode in ("none", "gt"))
    assert whole["crop"].startswith("whole frame") and crops["crop"].startswith("person crops")
    assert whole["samples"] == crops["samples"] == 12
    assert whole["pa_mpjpe"] != pytest.approx(crops["pa_mpjpe"], rel=1e-3)  # the model saw other pixels
    table = markdown({"rows": {"simclr_regress2.pt": {"none": whole, "gt": crops}}})
    assert f"PA-MPJPE {whole['pa_mpjpe']:.1f} mm" in table and f"PA-MPJPE {crops['pa_mpjpe']:.1f} mm" in table
