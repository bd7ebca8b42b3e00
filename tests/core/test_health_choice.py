"""The label-free choice study (issue 31) and the health figure: the runs it would train, its
correlations, its table; the figure of the recorded collapsing run."""

from pathlib import Path

import cv2
import pytest

from hpe_core.studies.health_choice import ORDER, correlations, markdown, study_steps

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "simsiam_collapse.jsonl"


def test_the_study_trains_two_encoders_then_a_head_on_each_encoder_without_a_shipped_one(tmp_path):
    steps = study_steps(tmp_path, tmp_path / "collapsed.pt", tmp_path / "data")
    assert [s.name for s in steps] == ["simclr_retrained", "simclr_epoch1", "simclr_retrained_head",
                                       "simclr_epoch1_head", "untrained_head", "collapsed_head"]
    retrained, epoch1 = steps[0].config, steps[1].config
    assert retrained.model.init.endswith("resources/demo/simclr.pt") and epoch1.train.epochs == 1
    assert retrained.contrastive.temperature == epoch1.contrastive.temperature == 0.1  # the demo recipe
    best = {"simclr_retrained": tmp_path / "r.pt", "simclr_epoch1": tmp_path / "e.pt"}
    heads = {s.name: s.config(best) for s in steps[2:]}
    assert heads["simclr_retrained_head"].regression.encoder == str(tmp_path / "r.pt")
    assert heads["untrained_head"].regression.encoder == "random"
    assert heads["collapsed_head"].regression.encoder == str(tmp_path / "collapsed.pt")
    assert {h.regression.head_layers for h in heads.values()} == {2}


def test_correlations_and_table():
    rows = {name: {"head_pa_mpjpe": 100.0 + k, "probe_pa_mpjpe": 150.0 + 2 * k, "rankme": 40.0 - k,
                   "knn": 0.2 - k / 100, "xview_top1": 0.1, "spread": 0.5, "align": 0.1 * k, "uniform": -1.0}
            for k, name in enumerate(ORDER)}
    rho = correlations(rows)
    assert rho["probe_pa_mpjpe"] == pytest.approx(1.0) and rho["rankme"] == pytest.approx(-1.0)
    assert "spread" not in rho  # the same for every encoder: no rank correlation
    table = markdown({"rows": rows, "spearman": rho})
    assert table.count("\n| ") == len(ORDER) and "probe_pa_mpjpe +1.00" in table


def test_the_health_figure_of_a_recorded_run(tmp_path):
    import json

    from hpe_core.report.health_figures import save_health_figure

    events = [json.loads(line) for line in EVENTS.read_text().splitlines() if line.strip()]
    files = save_health_figure({"no stop-gradient": events}, tmp_path, "h")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == sorted(
        f"{w}/h.{ext}" for w in ("1col", "2col") for ext in ("pdf", "svg", "png"))
    png = cv2.imread(str(tmp_path / "2col" / "h.png"))
    assert png is not None and png.std() > 10
