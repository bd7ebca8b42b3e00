"""``hpe metrics`` on real .npy/.npz files: values, JSON, CSV, and one-line errors (exit 2)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpe_core import metrics as M
from hpe_core.cli import main
from hpe_core.metric_report import evaluate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.normal(scale=300, size=(12, 19, 3))
    pred = gt + rng.normal(scale=40, size=gt.shape)
    gt[3, 7] = np.nan
    np.save(tmp_path / "pred.npy", pred)
    np.save(tmp_path / "gt.npy", gt)
    return tmp_path, pred, gt


def run(capsys, *argv):
    code = main(["metrics", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_matches_the_library(arrays, capsys):
    tmp, pred, gt = arrays
    code, out, err = run(capsys, "--pred", tmp / "pred.npy", "--gt", tmp / "gt.npy",
                         "--skeleton", "panoptic19", "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    report = evaluate(pred, gt, skeleton="panoptic19")
    for key, value in report.summary.items():
        assert doc["metrics"][key] == pytest.approx(value, rel=1e-12)
    assert doc["samples"] == 12 and doc["joints"] == 19 and doc["evaluated_joints"] == 12 * 19 - 1
    assert doc["settings"]["root"] == 0 and doc["per_joint"]["joint_names"][0] == "Neck"


def test_text_output_names_every_metric(arrays, capsys):
    tmp, pred, gt = arrays
    code, out, _ = run(capsys, "--pred", tmp / "pred.npy", "--gt", tmp / "gt.npy", "--root", "none")
    assert code == 0
    for label in ("MPJPE", "PA-MPJPE", "N-MPJPE", "mean distance", "3D PCK @ 150 mm", "3D AUC (0-150 mm)"):
        assert label in out
    assert f"{M.pa_mpjpe(pred, gt):8.2f} mm" in out
    assert "root-centred" not in out


def test_per_sample_csv_and_npz_keys(arrays, capsys):
    tmp, pred, gt = arrays
    np.savez(tmp / "both.npz", pred=pred, gt=gt)
    csv = tmp / "samples.csv"
    code, _, _ = run(capsys, "--pred", f"{tmp / 'both.npz'}:pred", "--gt", f"{tmp / 'both.npz'}:gt",
                     "--per-sample", csv, "--json")
    assert code == 0
    table = np.genfromtxt(csv, delimiter=",", names=True)
    np.testing.assert_allclose(table["pa_mpjpe"], M.pa_mpjpe(pred, gt, per_sample=True), rtol=1e-5)
    assert table["index"].tolist() == list(range(12))
    assert not list(tmp.glob(".samples.csv.*"))  # no temporary file left behind


def test_2d_arrays(tmp_path, capsys):
    rng = np.random.default_rng(1)
    gt = rng.uniform(0, 300, size=(5, 17, 2))
    np.save(tmp_path / "p.npy", gt + 2.0)
    np.save(tmp_path / "g.npy", gt)
    code, out, _ = run(capsys, "--pred", tmp_path / "p.npy", "--gt", tmp_path / "g.npy",
                       "--skeleton", "coco17", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["units"] == "px"
    assert doc["metrics"]["epe"] == pytest.approx(2 * np.sqrt(2))


def bad_inputs(tmp):
    rng = np.random.default_rng(2)
    good = rng.normal(size=(4, 17, 3))
    nan_sample = good.copy()
    nan_sample[2] = np.nan
    files = {"good": good, "short": good[:, :16], "empty": good[:0], "nan": nan_sample,
             "flat": good[0]}
    for name, value in files.items():
        np.save(tmp / f"{name}.npy", value)
    np.save(tmp / "object.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    (tmp / "text.npy").write_text("not an array")
    np.savez(tmp / "two.npz", a=good, b=good)
    return [
        (["--pred", tmp / "short.npy", "--gt", tmp / "good.npy"], "pred, gt: shapes disagree"),
        (["--pred", tmp / "good.npy", "--gt", tmp / "good.npy", "--skeleton", "panoptic19"],
         "pred: 17 joints, but skeleton panoptic19 has 19"),
        (["--pred", tmp / "empty.npy", "--gt", tmp / "empty.npy"], "pred: empty array"),
        (["--pred", tmp / "good.npy", "--gt", tmp / "nan.npy"], "gt: 1 sample(s) has no finite joint"),
        (["--pred", tmp / "flat.npy", "--gt", tmp / "flat.npy"], "pred: expected shape"),
        (["--pred", tmp / "object.npy", "--gt", tmp / "good.npy"], "--pred"),
        (["--pred", tmp / "good.npy", "--gt", tmp / "text.npy"], "--gt"),
        (["--pred", tmp / "two.npz", "--gt", tmp / "good.npy"], "holds 2 arrays (a, b)"),
        (["--pred", f"{tmp / 'two.npz'}:c", "--gt", tmp / "good.npy"], "no array 'c'"),
        (["--pred", tmp / "missing.npy", "--gt", tmp / "good.npy"], "no such file"),
        (["--pred", tmp / "good.npy", "--gt", tmp / "good.npy", "--root", "Elbow"], "root"),
    ]


@pytest.mark.parametrize("case", range(11))
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    argv, message = bad_inputs(tmp_path)[case]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("hpe metrics: error: ") and err.count("\n") == 1
    assert message in err and "Traceback" not in err


def test_subprocess_exit_status_and_no_traceback(tmp_path):
    bad_inputs(tmp_path)
    cmd = [sys.executable, "-m", "hpe_core.cli", "metrics", "--pred", str(tmp_path / "good.npy"),
           "--gt", str(tmp_path / "nan.npy")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    ok = subprocess.run(cmd[:-1] + [str(tmp_path / "good.npy"), "--json"], capture_output=True,
                        text=True, cwd=ROOT)
    assert ok.returncode == 0 and json.loads(ok.stdout)["metrics"]["mpjpe"] == 0.0
