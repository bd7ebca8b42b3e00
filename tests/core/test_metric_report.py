"""The report of every metric at once (``evaluate``): consistent with each measure alone, 3D and 2D."""

import numpy as np
import pytest

from hpe_core import metrics as M
from hpe_core.metric_report import evaluate
from pose_pairs import poses, with_nans


def test_evaluate_collects_every_metric_consistently():
    pred, gt = with_nans(*poses(n=14, j=19, seed=15))
    report = evaluate(pred, gt, skeleton="panoptic19")
    assert report.settings["root"] == 0 and report.units == "mm"
    assert report.summary["mpjpe"] == pytest.approx(M.mpjpe(pred, gt, root=0))
    assert report.summary["pa_mpjpe"] == pytest.approx(M.pa_mpjpe(pred, gt))
    assert report.summary["n_mpjpe"] == pytest.approx(M.n_mpjpe(pred, gt, root=0))
    assert report.summary["mean_distance"] == pytest.approx(M.mean_distance(pred, gt))
    assert report.summary["pck3d"] == pytest.approx(M.pck3d(pred, gt, root=0))
    assert report.summary["auc3d"] == pytest.approx(M.auc3d(pred, gt, root=0))
    np.testing.assert_allclose(report.per_sample["pa_mpjpe"], M.pa_mpjpe(pred, gt, per_sample=True))
    np.testing.assert_allclose(report.per_joint["mpjpe"], M.per_joint_error(pred, gt, root=0), equal_nan=True)
    assert report.joint_names[0] == "Neck"
    assert report.evaluated_joints == int((np.isfinite(pred).all(2) & np.isfinite(gt).all(2)).sum())
    assert report.summary["bone_length_error"] == pytest.approx(M.bone_length_error(pred, gt, "panoptic19"))
    d = report.to_dict(per_sample=True)
    assert set(d["metrics"]) == {"mpjpe", "pa_mpjpe", "n_mpjpe", "mean_distance", "pck3d", "auc3d",
                                 "bone_length_error"}
    assert len(d["per_sample"]["mpjpe"]) == 14 and len(d["per_joint"]["joint_names"]) == 19


def test_evaluate_2d():
    pred, gt = poses(n=6, j=17)
    report = evaluate(pred[..., :2], gt[..., :2], skeleton="coco17")
    assert report.dims == 2 and report.units == "px" and set(report.summary) == {"pck2d", "epe"}
    assert report.summary["epe"] == pytest.approx(M.epe(pred[..., :2], gt[..., :2]))
