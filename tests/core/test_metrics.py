"""Metrics against slow per-sample loops written from their definitions, closed forms and
invariances (rotation, translation, scale, permutation), plus the bad-input contract."""

import numpy as np
import pytest
import torch

from hpe_core import alignment
from hpe_core import metrics as M
from hpe_core.errors import InputError
from hpe_core.geometry import random_rotations
from hpe_core.skeleton import get_skeleton
from pose_pairs import poses, with_nans


# ----------------------------------------------------------- slow references, from the papers
def ref_kabsch(p, g, scale):
    """One pose: best (s,) R, t with det R = +1 (Umeyama 1991), as column-vector maps."""
    mp, mg = p.mean(0), g.mean(0)
    H = (p - mp).T @ (g - mg)
    U, S, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    D = np.diag([1.0, 1.0, d])
    R = Vt.T @ D @ U.T
    s = np.trace(np.diag(S) @ D) / ((p - mp) ** 2).sum() if scale else 1.0
    return s, R, mg - s * R @ mp


def ref_errors(pred, gt, kind, root=None):
    """Per-sample mean errors, one sample and one joint at a time, NaN joints skipped."""
    out = []
    for p, g in zip(pred, gt):
        keep = np.isfinite(p).all(1) & np.isfinite(g).all(1)
        if root is not None:
            p, g = p - p[root], g - g[root]
        p, g = p[keep], g[keep]
        if kind == "pa":
            s, R, t = ref_kabsch(p, g, scale=True)
            p = np.array([s * R @ x + t for x in p])
        elif kind == "rotation":  # about the origin (the root after centring)
            H = p.T @ g
            U, _, Vt = np.linalg.svd(H)
            d = np.sign(np.linalg.det(Vt.T @ U.T))
            R = Vt.T @ np.diag([1.0, 1.0, d]) @ U.T
            p = np.array([R @ x for x in p])
        elif kind == "scale":
            p = p * (p * g).sum() / (p * p).sum()
        out.append(np.mean([np.sqrt(((a - b) ** 2).sum()) for a, b in zip(p, g)]))
    return np.array(out)


# ------------------------------------------------------------------------------ reference
@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("name, kind, kwargs", [
    ("mpjpe", "none", {}),
    ("mpjpe", "none", {"root": 0}),
    ("pa_mpjpe", "pa", {}),
    ("n_mpjpe", "scale", {"root": 0}),
    ("n_mpjpe", "scale", {}),
    ("mean_distance", "rotation", {"root": 0}),
])
def test_per_sample_values_match_slow_loop(name, kind, kwargs, nans):
    pred, gt = poses(n=30, j=17, seed=3)
    if nans:
        pred, gt = with_nans(pred, gt)
    got = getattr(M, name)(pred, gt, per_sample=True, **kwargs)
    want = ref_errors(pred, gt, kind, root=kwargs.get("root"))
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("name", ["mpjpe", "pa_mpjpe", "n_mpjpe", "mean_distance"])
def test_pooled_value_is_mean_over_evaluated_joints(name):
    pred, gt = with_nans(*poses(n=25, j=19, seed=5))
    err = M.pjpe(pred, gt, align={"mpjpe": "none", "pa_mpjpe": "similarity", "n_mpjpe": "scale",
                                  "mean_distance": "rotation"}[name],
                 root=0 if name == "mean_distance" else None)
    assert np.isnan(err).sum() > 0
    expected = np.nansum(err) / np.isfinite(err).sum()
    assert getattr(M, name)(pred, gt) == pytest.approx(expected, rel=1e-12)


def test_nan_joints_are_excluded_not_zeroed():
    pred, gt = poses(n=10, j=17, seed=7)
    holey = gt.copy()
    holey[:, 5] = np.nan
    keep = [j for j in range(17) if j != 5]
    for fn in (M.mpjpe, M.pa_mpjpe, M.n_mpjpe):
        assert fn(pred, holey) == pytest.approx(fn(pred[:, keep], gt[:, keep]), rel=1e-10)
    valid = np.ones((10, 17), bool)
    valid[:, 5] = False
    assert M.pa_mpjpe(pred, gt, valid) == pytest.approx(M.pa_mpjpe(pred[:, keep], gt[:, keep]))


def test_pck_and_auc_match_counting_loops():
    pred, gt = with_nans(*poses(n=20, j=17, seed=11, noise=90.0))
    errs = ref_joint_errors(pred, gt)
    pck = np.mean([e <= 150 for e in errs])
    assert M.pck3d(pred, gt) == pytest.approx(pck)
    auc = np.mean([np.mean([e <= t for e in errs]) for t in np.arange(0, 151, 5)])
    assert M.auc3d(pred, gt) == pytest.approx(auc)
    per = M.pck3d(pred, gt, threshold=100.0, per_sample=True)
    for i in range(len(pred)):
        keep = np.isfinite(pred[i]).all(1) & np.isfinite(gt[i]).all(1)
        assert per[i] == pytest.approx(np.mean(np.linalg.norm(pred[i] - gt[i], axis=1)[keep] <= 100))


def ref_joint_errors(pred, gt):
    return [np.sqrt(((p - g) ** 2).sum()) for pp, gg in zip(pred, gt) for p, g in zip(pp, gg)
            if np.isfinite(p).all() and np.isfinite(g).all()]


def test_pck2d_and_epe_match_loops():
    rng = np.random.default_rng(2)
    gt = rng.uniform(0, 400, size=(15, 17, 2))
    pred = gt + rng.normal(scale=15, size=gt.shape)
    gt[3, 4] = np.nan
    hits, epes = [], []
    for p, g in zip(pred, gt):
        keep = np.isfinite(g).all(1)
        size = max(np.ptp(g[keep, 0]), np.ptp(g[keep, 1]))
        d = np.linalg.norm(p[keep] - g[keep], axis=1)
        hits += list(d <= 0.05 * size)
        epes += list(d)
    assert M.pck2d(pred, gt) == pytest.approx(np.mean(hits))
    assert M.epe(pred, gt) == pytest.approx(np.mean(epes))


# ---------------------------------------------------------------------------- closed forms
def test_pose_against_itself_scores_perfectly():
    pred, gt = poses()
    assert M.mpjpe(gt, gt) == 0.0
    assert M.pa_mpjpe(gt, gt) == pytest.approx(0.0, abs=1e-9)
    assert M.n_mpjpe(gt, gt) == pytest.approx(0.0, abs=1e-9)
    assert M.pck3d(gt, gt) == 1.0 and M.auc3d(gt, gt) == 1.0
    assert M.pck2d(gt[..., :2], gt[..., :2]) == 1.0 and M.epe(gt[..., :2], gt[..., :2]) == 0.0


@pytest.mark.parametrize("offset", [(30.0, 40.0, 0.0), (0.0, 0.0, 150.0)])
def test_constant_offset_gives_its_length(offset):
    gt = np.round(poses()[1])  # integers: the offset is exact in floating point
    pred = gt + np.array(offset)
    assert M.mpjpe(pred, gt) == pytest.approx(np.linalg.norm(offset))
    assert M.mpjpe(pred, gt, root=0) == pytest.approx(0.0, abs=1e-9)  # Protocol #1 centring
    assert M.pck3d(pred, gt) == 1.0  # error exactly at (or under) 150 mm counts


def test_auc_of_a_uniform_error_counts_thresholds_above_it():
    gt = np.round(poses(n=5)[1])
    pred = gt + np.array([75.0, 0.0, 0.0])
    assert M.auc3d(pred, gt) == pytest.approx(16 / 31)  # 75, 80, ..., 150 of 0, 5, ..., 150
    assert M.pck3d(pred, gt, threshold=74.9) == 0.0


def test_pck2d_closed_form_with_given_boxes():
    gt = np.zeros((2, 4, 2))
    gt[:, :, 0] = [0, 100, 0, 100]
    gt[:, :, 1] = [0, 0, 200, 200]  # box 100 x 200: size 200, threshold 10 px at 0.05
    pred = gt + np.array([[[9.0, 0]], [[0, 11.0]]])
    assert M.pck2d(pred, gt, per_sample=True).tolist() == [1.0, 0.0]
    assert M.pck2d(pred, gt, bbox_size=[400, 400]) == 1.0
    assert M.epe(pred, gt, per_sample=True) == pytest.approx([9.0, 11.0])


def test_mean_distance_ignores_rotation_about_root_but_not_mirror():
    _, gt = poses(n=8, j=19)
    R = random_rotations(8, np.random.default_rng(4))
    root = gt[:, :1]
    rotated = np.einsum("nab,njb->nja", R, gt - root) + root + np.array([5.0, -7.0, 3.0])
    assert M.mean_distance(rotated, gt) == pytest.approx(0.0, abs=1e-8)
    mirrored = (gt - root) * np.array([-1.0, 1.0, 1.0]) + root
    assert M.mean_distance(mirrored, gt) > 50.0


# ------------------------------------------------------------------------------ invariances
def test_pa_mpjpe_unchanged_by_rotating_translating_scaling_prediction():
    pred, gt = poses(n=50, seed=8)
    rng = np.random.default_rng(9)
    R = random_rotations(50, rng)
    moved = rng.uniform(0.5, 2.0, (50, 1, 1)) * np.einsum("nab,njb->nja", R, pred) \
        + rng.normal(scale=1000, size=(50, 1, 3))
    np.testing.assert_allclose(M.pa_mpjpe(moved, gt, per_sample=True),
                               M.pa_mpjpe(pred, gt, per_sample=True), rtol=1e-9)
    assert M.mpjpe(moved, gt) > 2 * M.mpjpe(pred, gt)


def test_n_mpjpe_unchanged_by_scaling_prediction():
    pred, gt = poses(seed=10)
    np.testing.assert_allclose(M.n_mpjpe(3.7 * pred, gt, per_sample=True),
                               M.n_mpjpe(pred, gt, per_sample=True), rtol=1e-10)


def test_joint_and_sample_permutations():
    pred, gt = with_nans(*poses(n=12, j=17, seed=12))
    rng = np.random.default_rng(0)
    jp, sp = rng.permutation(17), rng.permutation(12)
    for fn in (M.mpjpe, M.pa_mpjpe, M.n_mpjpe, M.pck3d):
        assert fn(pred[:, jp], gt[:, jp]) == pytest.approx(fn(pred, gt), rel=1e-10)
        np.testing.assert_allclose(fn(pred[sp], gt[sp], per_sample=True),
                                   fn(pred, gt, per_sample=True)[sp], rtol=1e-10)


def test_torch_tensors_give_the_numpy_values():
    pred, gt = with_nans(*poses(n=9, seed=13))
    for fn in (M.mpjpe, M.pa_mpjpe, M.mean_distance, M.pck3d):
        assert fn(torch.tensor(pred, dtype=torch.float64), torch.from_numpy(gt)) == \
            pytest.approx(fn(pred, gt), rel=1e-12)
    assert M.mpjpe(torch.tensor(pred, dtype=torch.float32, requires_grad=True), gt) == \
        pytest.approx(M.mpjpe(pred.astype(np.float32), gt), rel=1e-6)


def test_alignment_chunks_agree_with_one_block(monkeypatch):
    pred, gt = with_nans(*poses(n=37, seed=14))
    whole = M.pa_mpjpe(pred, gt, per_sample=True)
    monkeypatch.setattr(alignment, "CHUNK", 5)
    np.testing.assert_allclose(M.pa_mpjpe(pred, gt, per_sample=True), whole, rtol=1e-12)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make, call, argument", [
    (lambda p, g: (p[:, :16], g), M.mpjpe, "pred, gt"),
    (lambda p, g: (p, g[:5]), M.pa_mpjpe, "pred, gt"),
    (lambda p, g: (p[:0], g[:0]), M.mpjpe, "pred"),
    (lambda p, g: (p[0], g[0]), M.mpjpe, "pred"),
    (lambda p, g: (p, np.where(np.arange(len(g))[:, None, None] == 3, np.nan, g)), M.pa_mpjpe, "gt"),
    (lambda p, g: (np.full_like(p, np.nan), g), M.mpjpe, "pred"),
    (lambda p, g: (p[..., :2], g[..., :2]), M.pa_mpjpe, "pred"),
    (lambda p, g: (p, g), M.pck2d, "pred"),
    (lambda p, g: (p.astype(str), g), M.mpjpe, "pred"),
])
def test_bad_input_raises_value_error_naming_argument(make, call, argument):
    pred, gt = make(*poses(n=8, j=17))
    with pytest.raises(ValueError, match=f"^{argument}:"):
        call(pred, gt)


def test_skeleton_joint_count_and_masks_are_checked():
    pred, gt = poses(n=4, j=17)
    with pytest.raises(ValueError, match="pred: 17 joints, but skeleton panoptic19 has 19"):
        M.mpjpe(pred, gt, skeleton="panoptic19")
    with pytest.raises(ValueError, match="valid: expected shape"):
        M.mpjpe(pred, gt, np.ones((4, 16), bool))
    with pytest.raises(ValueError, match="valid: 1 sample"):
        M.mpjpe(pred, gt, np.arange(4)[:, None].repeat(17, 1) != 2)
    holey = gt.copy()
    holey[2, 0] = np.nan
    with pytest.raises(ValueError, match="root joint 0 is missing"):
        M.mpjpe(pred, holey, root=0)
    disjoint_p, disjoint_g = pred.copy(), gt.copy()
    disjoint_p[1, :8], disjoint_g[1, 8:] = np.nan, np.nan
    with pytest.raises(ValueError, match="pred, gt: 1 sample"):
        M.mpjpe(disjoint_p, disjoint_g)
    with pytest.raises(ValueError, match="threshold"):
        M.pck3d(pred, gt, threshold=-1)
    with pytest.raises(ValueError, match="align"):
        M.pjpe(pred, gt, align="affine")
    with pytest.raises(ValueError, match="root"):
        M.mpjpe(pred, gt, root=40)


# ----------------------------------------------------------------------------- best hypothesis
def test_best_hypothesis_picks_the_closest_of_k_per_sample():
    from hpe_core.metrics import best_hypothesis, pjpe

    rng = np.random.default_rng(5)
    gt = rng.normal(size=(6, 5, 3)) * 100
    hyps = gt[:, None] + rng.normal(size=(6, 4, 5, 3)) * np.array([40, 5, 80, 20])[None, :, None, None]
    valid = np.ones((6, 5), bool)
    valid[2, 3] = False
    err, choice = best_hypothesis(hyps, gt, valid)
    reference = np.array([[np.nanmean(pjpe(hyps[i, k][None], gt[i][None], valid[i][None])) for k in range(4)]
                          for i in range(6)])  # a slow loop, one hypothesis at a time
    assert np.array_equal(choice, reference.argmin(axis=1))
    assert np.allclose(np.nanmean(err, axis=1), reference.min(axis=1))
    assert np.isnan(err[2, 3]) and np.isfinite(err[2, :3]).all()
    same = np.repeat(gt[:, None], 3, axis=1)
    assert np.allclose(best_hypothesis(same, gt, align="similarity")[0], 0, atol=1e-9)

# ----------------------------------------------------------- bone length error
def ref_bone_length_error(pred, gt, skeleton):
    """Slow loop: |len_p - len_g| over the (parent, child) bones where all four joints are finite."""
    sk = get_skeleton(skeleton)
    total, count, per = 0.0, 0, []
    for p, g in zip(pred, gt):
        s_total, s_count = 0.0, 0
        for child, parent in enumerate(sk.parents):
            if parent < 0 or not np.isfinite([p[child], p[parent], g[child], g[parent]]).all():
                continue
            s_total += abs(np.linalg.norm(p[child] - p[parent]) - np.linalg.norm(g[child] - g[parent]))
            s_count += 1
        total, count = total + s_total, count + s_count
        per.append(s_total / s_count if s_count else np.nan)
    return total / count, np.array(per)


@pytest.mark.parametrize("skeleton", ["panoptic19", "h36m17"])
def test_bone_length_error_matches_the_slow_loop_with_missing_joints(skeleton):
    j = get_skeleton(skeleton).num_joints
    pred, gt = with_nans(*poses(n=12, j=j, seed=21))
    want, want_per = ref_bone_length_error(pred, gt, skeleton)
    assert M.bone_length_error(pred, gt, skeleton) == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(M.bone_length_error(pred, gt, skeleton, per_sample=True), want_per, rtol=1e-12)


def test_bone_length_error_closed_forms_and_invariance():
    _, gt = poses(n=6, j=17, seed=22)
    lengths = M.bone_lengths(gt, "h36m17")
    assert lengths.shape == (6, 16)
    # doubling a pose doubles every bone: the error is the mean true bone length
    assert M.bone_length_error(2 * gt, gt, "h36m17") == pytest.approx(lengths.mean(), rel=1e-12)
    # a rigid motion of the prediction keeps every bone length
    rng = np.random.default_rng(3)
    moved = gt @ random_rotations(6, rng).transpose(0, 2, 1) + rng.normal(size=(6, 1, 3)) * 500
    assert M.bone_length_error(moved, gt, "h36m17") == pytest.approx(0.0, abs=1e-9)
    # a joint left out (valid=False) removes exactly the bones that touch it
    valid = np.ones((6, 17), bool)
    valid[:, 16] = False  # a leaf: only its own bone goes
    bent = gt.copy()
    bent[:, 16] += 1000.0
    assert M.bone_length_error(bent, gt, "h36m17", valid) == pytest.approx(0.0, abs=1e-9)
    assert M.bone_length_error(bent, gt, "h36m17") > 10.0


def test_bone_length_error_refuses_2d_and_a_wrong_joint_count():
    with pytest.raises(InputError, match=r"expected shape \(N, J, 3\)"):
        M.bone_length_error(np.zeros((2, 17, 2)), np.zeros((2, 17, 2)), "h36m17")
    with pytest.raises(InputError, match="19 joints, but skeleton h36m17 has 17"):
        M.bone_length_error(np.zeros((2, 19, 3)), np.zeros((2, 19, 3)), "h36m17")


@pytest.mark.parametrize("align", ["none", "similarity"])
def test_empty_nan_scores_what_can_be_scored_and_leaves_the_rest_nan(align):
    rng = np.random.default_rng(11)
    gt = rng.normal(0, 300, (5, 17, 3))
    pred = gt + rng.normal(0, 20, (5, 17, 3))
    valid = np.ones((5, 17), bool)
    gt[1] = np.nan                 # no ground truth at all
    valid[2, 2:] = False           # two joints: enough for MPJPE, not for a rotation fit
    valid[3, 0] = False            # the root is not valid: cannot be root-centred
    got = M.pjpe(pred, gt, valid, align=align, root=0, empty="nan")
    scorable = [0, 4] + ([2] if align == "none" else [])
    want = M.pjpe(pred[scorable], gt[scorable], valid[scorable], align=align, root=0)
    np.testing.assert_allclose(got[scorable], want)  # the same numbers as the strict call
    assert np.isnan(got[[i for i in range(5) if i not in scorable]]).all()
    with pytest.raises(InputError, match="gt"):
        M.pjpe(pred, gt, valid, align=align, root=0)  # the default still refuses them
    per = M.mpjpe(pred, gt, valid, root=0, per_sample=True, empty="nan")
    assert np.isnan(per[1]) and np.isfinite(per[0])
