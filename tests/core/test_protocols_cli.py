"""``hpe evaluate --protocol`` and ``hpe report --protocol`` on fixtures in the official layouts
(tests/benchmark_layouts.py): the tables per test sequence and per activity with the manifest beside
each, a byte-identical ``--rerun``, Human3.6M's 17 / 16 / 14 joints in one table each equal to its
reference (tests/core/test_protocols.py), and bad protocols or joint counts refused in one line."""

import csv
import io
import json

import numpy as np
import pytest

from benchmark_layouts import write_3dhp_test, write_mmpose_h36m, write_pw3d
from hpe_core.cli import main
from hpe_core.datasets import open_dataset
from hpe_core.predictions import Prediction
from test_protocols import KIT14, TOL, _h36m_reference, _kit
from two_people import write_two_people


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("protocols")
    write_3dhp_test(root / "3dhp", "v5")
    write_mmpose_h36m(root / "h36m")
    write_pw3d(root / "3dpw")
    rng = np.random.default_rng(0)
    out = {}
    for key, path, column in (("3dhp", root / "3dhp", "joints_3d_univ"),
                              ("h36m", root / "h36m" / "processed", "joints_3d"), ("3dpw", root / "3dpw", "joints_3d")):
        ds = open_dataset(path)
        gt = np.asarray(ds.column(column), np.float64)
        pred = (gt + rng.normal(0, 60, gt.shape)).astype(np.float32)  # as the prediction reader keeps it
        np.save(root / f"{key}.npy", pred)
        pred = pred.astype(np.float64)
        out[key] = (path, root / f"{key}.npy", gt, pred, ds)
    return root, out


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _csv(path):
    lines = path.read_text().splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    rows = list(csv.reader(io.StringIO("\n".join(line for line in lines if not line.startswith("# ")))))
    return comments, {r[0]: [float(v) for v in r[1:]] for r in rows[1:]}


def _report(capsys, root, data, key: str, protocol: str):
    """``hpe report --protocol`` of the prediction file of ``key`` (no figures): its folder and data."""
    path, pred_file, gt, pred, ds = data[key]
    out = root / f"report-{protocol}"
    code, _, err = _run(capsys, "report", path, pred_file, "--units", "mm", "--split", "all", "--protocol", protocol,
                        "--no-figures", "--no-analysis", "--out", out)
    assert code == 0, err
    return out, gt, pred, ds


def test_report_3dhp_writes_per_sequence_and_per_activity_tables_with_the_manifest_and_reruns_them(made, capsys):
    root, data = made
    out, gt, pred, ds = _report(capsys, root, data, "3dhp", "3dhp")
    seq, act = np.asarray(ds.sequence), np.asarray(ds.action)
    by_seq, by_act, total = _kit(pred, gt, seq, act, KIT14)
    provenance = json.loads((out / "provenance.json").read_text())
    manifest = provenance["protocol"]["manifest"]
    assert (manifest["protocol"], manifest["ground_truth"], manifest["joints"][:15]) == ("3dhp", "joints_3d_univ",
                                                                                       "14 of mpi3dhp17")
    for group, names, ref in (("sequence", ds.sequence_names, by_seq), ("activity", ds.action_names, by_act)):
        for k, measure in enumerate(("mpjpe", "pck3d", "auc3d")):
            comments, rows = _csv(out / "tables" / f"per_{group}_{measure}.csv")
            assert comments[0] == "# protocol: 3dhp" and any(c.startswith("# dataset_fingerprint: ") for c in comments)
            for code_, values in ref.items():
                assert rows[names[code_]][0] == pytest.approx(values[k], abs=TOL)
            assert rows["All (pooled)"][0] == pytest.approx(total[k], abs=TOL)
            md = (out / "tables" / f"per_{group}_{measure}.md").read_text()
            tex = (out / "tables" / f"per_{group}_{measure}.tex").read_text()
            assert "[^protocol]: protocol 3dhp (v1); joints: 14 of mpi3dhp17" in md
            assert r"\caption[" in tex and "protocol 3dhp (v1)" in tex.split(r"\label")[0]
    again = root / "report3dhp-again"
    code, _, err = _run(capsys, "report", "--rerun", out / "provenance.json", "--out", again)
    assert code == 0, err
    written = sorted(p.name for p in (out / "tables").iterdir())
    assert written == sorted(p.name for p in (again / "tables").iterdir()) and len(written) >= 21
    assert all((out / "tables" / n).read_bytes() == (again / "tables" / n).read_bytes() for n in written)


def test_one_prediction_file_on_17_16_and_14_h36m_joints_in_one_table(made, capsys):
    root, data = made
    out, gt, pred, _ = _report(capsys, root, data, "h36m", "h36m-p1")
    path, pred_file = data["h36m"][:2]
    comments, rows = _csv(out / "tables" / "overall.csv")
    for joints in (17, 16, 14):
        assert rows[f"MPJPE (mm), {joints} joints"][0] == pytest.approx(_h36m_reference(pred, gt, joints, False),
                                                                       abs=TOL)
    assert any(c.startswith("# joints: 17 of h36m17: every joint | 16 of h36m17") for c in comments)
    code, text, err = _run(capsys, "evaluate", "--pred", pred_file, path, "--units", "mm", "--split", "all",
                           "--protocol", "h36m-p2", "--joints", "14", "--json")
    assert code == 0, err
    got = json.loads(text)
    assert got["metrics"]["pa_mpjpe"] == pytest.approx(_h36m_reference(pred, gt, 14, True), abs=TOL)
    assert got["manifest"]["joints"].startswith("14 of h36m17: common14")


def test_evaluate_3dpw_gives_the_acceleration_at_the_datasets_frame_rate(made, capsys):
    root, data = made
    path, pred_file, *_ = data["3dpw"]
    code, text, err = _run(capsys, "evaluate", "--pred", pred_file, path, "--units", "mm", "--split", "all",
                           "--protocol", "3dpw", "--json")
    assert code == 0, err
    got = json.loads(text)
    assert got["manifest"]["fps"] == 30.0 and got["metrics"]["accel_s"] == pytest.approx(got["metrics"]["accel"] * 900)
    # frames between two of the same actor's: 2 of the 4-frame actor, none of the one without a camera
    # pose at frame 2 (its frames 0, 1, 3), 1 of the 3-frame sequence
    assert got["accel_frames"] == 3
    assert set(got["groups"]["sequence"]) == {"downtown_walking_00", "courtyard_hug_01"}


def test_evaluate_coco_of_the_true_keypoints_is_ap_1(tmp_path, capsys):
    data = write_two_people(tmp_path / "coco")
    ds = open_dataset(data)
    pred = np.where(np.isfinite(ds.joints_2d), ds.joints_2d, 300.0)  # unlabelled keypoints anywhere
    Prediction(joints_2d=pred, scores=np.full((2, 17), 0.9), index=np.arange(2), skeleton="coco17").save(
        tmp_path / "coco.npz")
    code, text, err = _run(capsys, "evaluate", "--pred", tmp_path / "coco.npz", data, "--split", "all",
                           "--protocol", "coco", "--json")
    assert code == 0, err
    got = json.loads(text)
    assert got["metrics"]["ap"] == pytest.approx(1.0) and got["metrics"]["ar"] == pytest.approx(1.0)
    assert got["manifest"]["area"].startswith("the person boxes") and set(got["keypoints"]) >= {"nose", "left_eye"}
    assert got["manifest"]["score"] == "mean keypoint score"
    shifted = pred + [[[0.0, 0.0]], [[40.0, 0.0]]]  # the second person's keypoints 40 px off: OKS < 0.5
    Prediction(joints_2d=shifted, index=np.arange(2), skeleton="coco17").save(tmp_path / "half.npz")
    code, text, err = _run(capsys, "evaluate", "--pred", tmp_path / "half.npz", data, "--split", "all",
                           "--protocol", "coco", "--json")
    assert code == 0, err
    assert json.loads(text)["metrics"]["ar"] == pytest.approx(0.5)
    doc_path = data / "annotations" / "person_keypoints_val.json"  # with the annotations' area, OKS takes it
    doc = json.loads(doc_path.read_text())
    for a, area in zip(doc["annotations"], (30000.0, 2e6)):  # 2e6 px^2: the second person's OKS passes 0.5
        a["area"] = area
    doc_path.write_text(json.dumps(doc))
    code, text, err = _run(capsys, "evaluate", "--pred", tmp_path / "half.npz", data, "--split", "all",
                           "--protocol", "coco", "--json")
    assert code == 0, err
    got = json.loads(text)
    assert got["manifest"]["area"] == "the annotations' area" and got["metrics"]["ar50"] == pytest.approx(1.0)
    given = ",".join(["0.01"] * 17)  # sigmas 2.5-8 times smaller: the second person's OKS falls below 0.5
    code, text, err = _run(capsys, "evaluate", "--pred", tmp_path / "half.npz", data, "--split", "all",
                           "--protocol", "coco", "--sigmas", given, "--json")
    assert code == 0, err
    got = json.loads(text)
    assert got["manifest"]["sigmas"].startswith("given: 0.01, 0.01") and got["metrics"]["ar50"] == pytest.approx(0.5)
    code, _, err = _run(capsys, "evaluate", "--pred", tmp_path / "half.npz", data, "--split", "all",
                        "--protocol", "coco", "--sigmas", "0.1,0.2")
    assert code == 2 and err.count("\n") == 1 and "--sigmas: expected 17 positive numbers" in err


@pytest.mark.parametrize("argv, message", [
    (["--protocol", "h36m"], "--protocol h36m: unknown protocol; expected one of standard, h36m-p1"),
    (["--protocol", "h36m-p1", "--joints", "15"], "--joints 15: the protocol h36m-p1 scores 17 or 16 or 14 joints"),
    (["--protocol", "3dhp", "--joints", "x"], "--joints x: expected a joint count"),
    (["--protocol", "3dhp"], "--protocol 3dhp: scores mpi3dhp17 datasets, this one is h36m17"),
])
@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_a_bad_protocol_or_joint_count_is_one_line_and_exit_2(made, capsys, argv, message, command):
    root, data = made
    path, pred_file, *_ = data["h36m"]
    extra = ["--out", root / f"bad-{command}"] if command == "report" else []
    inputs = [path, pred_file] if command == "report" else ["--pred", pred_file, path]
    code, _, err = _run(capsys, command, *inputs, "--units", "mm", "--split", "all", *argv, *extra)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (root / f"bad-{command}").exists()


def test_a_checkpoint_scored_by_a_protocol_equals_its_prediction_file_scored_by_it(made, tmp_path, capsys):
    import torch

    from hpe_core.models import build_model
    from hpe_core.models.checkpoint import save_checkpoint

    root, data = made
    path = data["h36m"][0]
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "h36m17.pt", build_model("regressor", "resnet18", width=2, head_layers=1,
                                                               skeleton="h36m17", pose_scale=100.0))
    common = ["--image-size", "32", "--device", "cpu", "--split", "all"]
    code, text, err = _run(capsys, "evaluate", ckpt, path, *common, "--protocol", "h36m-p1", "--joints", "16", "--json")
    assert code == 0, err
    code, _, err = _run(capsys, "predict", ckpt, path, "--out", tmp_path / "pred.npz", "--image-size", "32",
                        "--device", "cpu")  # every row
    assert code == 0, err
    code, again, err = _run(capsys, "evaluate", "--pred", tmp_path / "pred.npz", path, "--split", "all",
                            "--protocol", "h36m-p1", "--joints", "16", "--json")
    assert code == 0, err
    got, want = json.loads(text), json.loads(again)
    assert got["metrics"]["mpjpe"] == pytest.approx(want["metrics"]["mpjpe"], rel=1e-12) and got["samples"] == 12
    assert got["manifest"] == want["manifest"]
    for action, values in want["groups"]["action"].items():
        assert got["groups"]["action"][action]["mpjpe"] == pytest.approx(values["mpjpe"], rel=1e-12)
