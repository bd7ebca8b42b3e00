"""``hpe evaluate --pred FILE DATASET``: other tools' files score like our own .npz of the same
poses; files that do not fit the dataset exit 2 with one line."""

import json

import numpy as np
import pytest

from hpe_core.cli import main
from hpe_core.datasets import open_dataset
from hpe_core.errors import InputError
from hpe_core.inference.evaluate import score_prediction
from hpe_core.inference.files import read_prediction_file
from hpe_core.metric_report import evaluate
from hpe_core.predictions import Prediction


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A synthetic set (panoptic19, 16 samples) and predictions in whole millimetres, so that
    mm -> m (float64) -> mm (float32) returns every value exactly."""
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("evpred")
    synthesize(SynthSpec(root / "ds", poses=8, cameras=2, size=32, subjects=2, seed=4), NullProgress())
    ds = open_dataset(root / "ds")
    rng = np.random.default_rng(5)
    poses = np.round(ds.joints_3d + rng.normal(scale=40.0, size=ds.joints_3d.shape))
    poses[3, 5] = np.nan  # a joint the predictor missed
    return root, ds, poses


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def metrics_of(capsys, *argv):
    code, out, err = run(capsys, "evaluate", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def write_mmpose(path, poses_m, order):
    frames = []
    for k in order:  # frame ids from 1, written out of order
        pose = poses_m[k]
        instances = [] if k == 7 else [{"keypoints": pose.tolist(), "keypoint_scores": [0.9] * len(pose)}]
        if k == 2:  # a second person in a frame: the first instance is taken
            instances.append({"keypoints": (pose + 1).tolist(), "keypoint_scores": [0.1] * len(pose)})
        frames.append({"frame_id": int(k) + 1, "instances": instances})
    path.write_text(json.dumps({"meta_info": {"dataset_name": "test"}, "instance_info": frames}).replace("NaN", "null"))


@pytest.mark.parametrize("split", ["all", "test"])
def test_other_tools_files_give_the_same_numbers_as_our_npz(data, capsys, split):
    root, ds, poses = data
    ours = Prediction(joints_3d=poses, frame="camera").save(root / f"ours_{split}.npz")
    np.save(root / "vp_m.npy", poses / 1000.0)
    np.savez(root / "vp_mm.npz", positions_3d=poses)
    mm_poses = np.where(np.isfinite(poses), poses, np.nan)
    mm_poses[7] = 0  # frame 7 has no person in the MMPose file: its row must come back as NaN
    write_mmpose(root / "mmpose.json", mm_poses / 1000.0, np.random.default_rng(0).permutation(len(poses)))

    reference = metrics_of(capsys, "--pred", ours, root / "ds", "--split", split)
    rows = ds.split_indices(split) if split != "all" else np.arange(len(ds))
    direct = evaluate(poses[rows], ds.joints_3d[rows], ds.visible[rows], skeleton="panoptic19")
    assert reference["metrics"] == pytest.approx(direct.summary, rel=1e-12)
    assert "bone_length_error" in reference["metrics"] and reference["samples"] == len(rows)
    for file, units in (("vp_m.npy", "m"), ("vp_mm.npz", "mm")):
        got = metrics_of(capsys, "--pred", root / file, root / "ds", "--units", units, "--split", split)
        assert got["metrics"] == reference["metrics"] and got["per_joint"] == reference["per_joint"]
    got = metrics_of(capsys, "--pred", root / "mmpose.json", root / "ds", "--units", "m", "--split", split)
    keep = rows[rows != 7]
    direct = evaluate(np.where(np.arange(len(poses))[:, None, None] == 7, np.nan, poses)[rows][np.isin(rows, keep)],
                      ds.joints_3d[keep], ds.visible[keep], skeleton="panoptic19")
    assert got["metrics"] == pytest.approx(direct.summary, rel=1e-12)


def test_mmpose_file_is_read_in_frame_order_with_scores_and_nan_for_empty_frames(data):
    root, ds, poses = data
    write_mmpose(root / "m.json", np.nan_to_num(poses) / 1000.0, [4, 0, 7, 1, 2, 3, 5, 6, *range(8, len(poses))])
    pred = read_prediction_file(root / "m.json", "m")
    assert pred.joints_3d.shape == poses.shape and pred.frame == "camera"
    np.testing.assert_array_equal(pred.joints_3d[:7], np.nan_to_num(poses[:7]))
    assert np.isnan(pred.joints_3d[7]).all() and np.isnan(pred.scores[7]).all()
    assert np.all(pred.scores[:7] == np.float32(0.9))
    assert "first instance" in pred.meta["notes"][0]


def test_the_checkpoint_and_file_paths_share_one_scorer(data):
    _, ds, poses = data
    indexed = Prediction(joints_3d=poses[::2], frame="camera", index=np.arange(0, len(ds), 2), skeleton="panoptic19")
    report = score_prediction(indexed, ds, source="x")
    direct = evaluate(poses[::2], ds.joints_3d[::2], ds.visible[::2], skeleton="panoptic19")
    assert report["metrics"] == pytest.approx(direct.summary, rel=1e-12) and report["samples"] == len(ds) // 2


@pytest.mark.parametrize("make, units, message", [
    (lambda p: p[:-1], "mm", "{file}: holds 15 samples, but the dataset {ds} has 16"),
    (lambda p: p[:, :17], "mm", "{file}: 17 joints per sample, but the dataset {ds} has 19 (panoptic19)"),
    (lambda p: p, None, "{file}: the file does not say its units; pass --units m or --units mm"),
    (lambda p: p[..., :2], "mm", "{file}: expected a numeric (N, J, 3) array"),
])
def test_a_file_that_does_not_fit_exits_2_with_one_line(data, capsys, make, units, message):
    root, ds, poses = data
    file = root / "bad.npy"
    np.save(file, make(poses))
    code, out, err = run(capsys, "evaluate", "--pred", file, root / "ds", "--split", "all",
                         *(["--units", units] if units else []))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and message.format(file=file, ds=root / "ds") in err


def test_our_indexed_file_outside_the_dataset_and_units_on_our_file_are_refused(data, capsys):
    root, ds, poses = data
    file = Prediction(joints_3d=poses[:2], frame="camera", index=[3, 40]).save(root / "idx.npz")
    code, _, err = run(capsys, "evaluate", "--pred", file, root / "ds")
    assert code == 2 and f"{file}: refers to sample 40, but the dataset {root / 'ds'} has 16 samples" in err
    code, _, err = run(capsys, "evaluate", "--pred", file, root / "ds", "--units", "m")
    assert code == 2 and "states its units (mm); drop --units" in err
    code, _, err = run(capsys, "evaluate", "--pred", file, root / "ds", "extra")
    assert code == 2 and "expected --pred FILE DATASET, got 2 positional" in err


def test_unreadable_or_foreign_json_is_refused_naming_the_file(data):
    root, _, _ = data
    (root / "odd.json").write_text(json.dumps({"annotations": []}))
    with pytest.raises(InputError, match="odd.json: not an MMPose result file"):
        read_prediction_file(root / "odd.json", "m")
    (root / "two.json").write_text(json.dumps({"instance_info": [{"frame_id": 1, "instances": [
        {"keypoints": [[0, 0]] * 19}]}]}))
    with pytest.raises(InputError, match=r"two.json: frame 0: keypoints of shape \(19, 2\)"):
        read_prediction_file(root / "two.json", "m")


def test_scoring_every_row_adds_a_few_bytes_a_sample_beyond_the_arrays(tmp_path):
    """``score_prediction`` of a native set's every row scores the memory-mapped columns in place and
    the prediction as it is: tracemalloc (which sees numpy's allocations, not mapped pages) finds one
    chunk's temporaries plus the row index (int64) and a few boolean flags, 8 + 3 B a sample, 2.3% of
    the 475 B scored (pred and gt float32, 19 joints, and visible). Measured at two sizes, the growth a
    sample must stay under 5%; before the scoring was chunked it was ~12x the bytes scored. The
    prediction says it was read in mm, so the units check (bone lengths) runs too."""
    import tracemalloc

    from hpe_core.datasets.native import write_native
    from hpe_core.geometry import Camera
    from hpe_core.inference.files import _prior_bone
    from hpe_core.metric_report import CHUNK

    _prior_bone("panoptic19")  # its table's module imported before anything is measured

    rng = np.random.default_rng(0)
    peaks, scored = [], []
    for n in (2 * CHUNK, 10 * CHUNK):
        gt = rng.normal(0.0, 300.0, (n, 19, 3)).astype(np.float32) + np.float32(4000.0)
        visible = rng.random((n, 19)) > 0.05
        visible[:, 0] = True
        camera = Camera(K=np.array([[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]]))
        write_native(tmp_path / str(n), arrays={"joints_3d": gt, "visible": visible,
                                                "camera_id": np.zeros(n, np.int32)}, cameras={0: camera})
        ds = open_dataset(tmp_path / str(n))
        pred = Prediction(joints_3d=gt + rng.normal(0.0, 40.0, gt.shape).astype(np.float32), frame="camera",
                          meta={"units_read": "mm"})
        tracemalloc.start()
        report = score_prediction(pred, ds, np.arange(n))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert report["samples"] == n
        scored.append(2 * gt.nbytes + visible.nbytes)
    assert peaks[1] - peaks[0] < 0.05 * (scored[1] - scored[0]), (peaks, scored)


@pytest.mark.parametrize("factor", [1.0, 1e-3, 1e-1, 1e3, 1000 ** 0.5 * 0.9, 1000 ** 0.5 * 1.1])
def test_the_units_check_decides_a_chunk_at_a_time_as_its_median_does(data, factor):
    """The units check counts, chunk by chunk, the bone lengths below and above its bounds: fewer than
    half on each side puts the median inside. Where it says inside, the median over every bone of
    every pose (what the check reports) is inside too; poses scaled out of bounds are never inside."""
    from hpe_core.alignment import CHUNK
    from hpe_core.inference.files import SCALE_TOLERANCE, _median_inside, _prior_bone
    from hpe_core.kinematics import bone_lengths

    _, ds, poses = data
    joints = np.tile(np.nan_to_num(poses, nan=0.0), (CHUNK // len(poses) + 2, 1, 1)) * factor  # past one chunk
    prior = _prior_bone(ds.skeleton.name)
    lengths = bone_lengths(joints, ds.skeleton)[:, [c for c, p in enumerate(ds.skeleton.parents) if p >= 0]]
    ratio = float(np.median(lengths[np.isfinite(lengths) & (lengths > 0)])) / prior
    inside = 1 / SCALE_TOLERANCE <= ratio <= SCALE_TOLERANCE
    assert _median_inside(joints, ds.skeleton, prior) == inside
