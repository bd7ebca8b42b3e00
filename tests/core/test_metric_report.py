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


def test_scoring_chunk_by_chunk_matches_each_measure_over_all_samples():
    """Past one chunk the report adds each chunk's sums: its pooled means equal the measures taken over
    all samples at once up to the rounding of float64 sums of ~1e5 terms of ~1e2 mm (rel 1e-12 is
    1e4 rounding steps of eps64, far above it and far below any real change); PCK and AUC are counts,
    and each sample's values are computed alike, so those are exact."""
    from hpe_core.metric_report import CHUNK

    pred, gt = with_nans(*poses(n=2 * CHUNK + 37, j=19, seed=3))
    pred, gt = pred.astype(np.float32), gt.astype(np.float32)
    valid = np.random.default_rng(4).random(gt.shape[:2]) > 0.1
    valid[:, :4] = True
    report = evaluate(pred, gt, valid, skeleton="panoptic19")
    alone = {"mpjpe": M.mpjpe(pred, gt, valid, root=0, per_sample=True),
             "pa_mpjpe": M.pa_mpjpe(pred, gt, valid, per_sample=True),
             "n_mpjpe": M.n_mpjpe(pred, gt, valid, root=0, per_sample=True),
             "mean_distance": M.mean_distance(pred, gt, valid, skeleton="panoptic19", per_sample=True),
             "bone_length_error": M.bone_length_error(pred, gt, "panoptic19", valid, per_sample=True)}
    for name, values in alone.items():
        np.testing.assert_array_equal(report.per_sample[name], values)
    pooled = {"mpjpe": M.mpjpe(pred, gt, valid, root=0), "pa_mpjpe": M.pa_mpjpe(pred, gt, valid),
              "n_mpjpe": M.n_mpjpe(pred, gt, valid, root=0),
              "mean_distance": M.mean_distance(pred, gt, valid, skeleton="panoptic19"),
              "bone_length_error": M.bone_length_error(pred, gt, "panoptic19", valid)}
    for name, value in pooled.items():
        assert report.summary[name] == pytest.approx(value, rel=1e-12, abs=0)
    assert report.summary["pck3d"] == M.pck3d(pred, gt, valid, root=0)
    assert report.summary["auc3d"] == M.auc3d(pred, gt, valid, root=0)
    np.testing.assert_allclose(report.per_joint["pa_mpjpe"], M.per_joint_error(pred, gt, valid, align="similarity"),
                               rtol=1e-12)
    lean = evaluate(pred, gt, valid, skeleton="panoptic19", per_sample=False)
    assert lean.summary == report.summary and lean.per_sample == {}


def test_errors_name_the_samples_by_their_index_among_all():
    from hpe_core.alignment import CHUNK
    from hpe_core.errors import InputError

    pred, gt = poses(n=CHUNK + 10, j=19, seed=5)
    gt[CHUNK + 3] = np.nan
    with pytest.raises(InputError, match=rf"gt: 1 sample\(s\) has no finite joint \(all NaN\): index {CHUNK + 3}$"):
        evaluate(pred, gt, skeleton="panoptic19")
    gt[CHUNK + 3] = 1.0
    pred[[5, CHUNK + 7], 0] = np.nan
    with pytest.raises(InputError, match=rf"root joint 0 is missing in 2 sample\(s\) \(first: 5\)"):
        evaluate(pred, gt, skeleton="panoptic19")
