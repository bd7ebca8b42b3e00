"""The protocols' numbers (hpe_core.protocols) against slow references written here from each
official definition: the MPI-INF-3DHP kit's mpii_evaluate_errors.m / mpii_compute_3d_pck.m, Human3.6M's
Protocols #1 and #2, 3DPW's acceleration error as VIBE computes it, and COCOeval's keypoint AP / AR
(computeOks, evaluateImg, accumulate). Tolerance 1e-9: the two sides sum the same float64 terms in a
different order (chunks, bincount, matrix products), an error of a few ulp of values below 1e4."""

import math

import numpy as np
import pytest

from hpe_core.errors import InputError
from hpe_core.protocols import PROTOCOLS, get_protocol
from hpe_core.protocols.coco_oks import COCO_SIGMAS, score_coco
from hpe_core.protocols.pose3d import score_pose3d
from hpe_core.skeleton import H36M17, MPI3DHP17, SMPL24

TOL = 1e-9


def _errors_about(pred, gt, root, joints):
    """Per-sample, per-joint errors after centring both poses on joint ``root`` (a loop per sample)."""
    out = np.zeros((len(pred), len(joints)))
    for i in range(len(pred)):
        p, g = pred[i] - pred[i][root], gt[i] - gt[i][root]
        for k, j in enumerate(joints):
            out[i, k] = math.sqrt(sum((p[j][c] - g[j][c]) ** 2 for c in range(3)))
    return out


def _procrustes(p, g):
    """``p`` (J, 3) after the similarity that best maps it onto ``g`` (Umeyama; no mirror image)."""
    mp, mg = p.mean(0), g.mean(0)
    x, y = p - mp, g - mg
    u, s, vt = np.linalg.svd(x.T @ y)
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(vt.T @ u.T))])
    r = vt.T @ d @ u.T
    return (np.trace(np.diag(s) @ d) / (x ** 2).sum()) * x @ r.T + mg


# ------------------------------------------------------------------------ MPI-INF-3DHP test kit
KIT14 = {"Head": [1], "Neck": [2], "Shou": [3, 6], "Elbow": [4, 7], "Wrist": [5, 8], "Hip": [9, 12],
         "Knee": [10, 13], "Ankle": [11, 14]}  # mpii_get_pck_auc_joint_groups.m, 1-based
KIT17 = {"Head": [1, 17], "Neck": [2], "Shou": [3, 6], "Elbow": [4, 7], "Wrist": [5, 8], "spine": [16],
         "Hip": [9, 12, 15], "Knee": [10, 13], "Ankle": [11, 14]}


def _kit_pck_auc(error, groups):
    """mpii_compute_3d_pck: per joint group the share below each threshold of 0:5:150; the total
    weights each group by its joint count."""
    curve_total, pck_total, count = np.zeros(31), 0.0, 0
    per_group = {}
    for name, joints in groups.items():
        e = error[[j - 1 for j in joints], :]
        n, nf = e.shape
        curve = np.array([np.sum(e < t) / (n * nf) for t in range(0, 151, 5)])
        pck = np.sum(e < 150) / (n * nf)
        per_group[name] = (pck, curve.mean())
        curve_total, pck_total, count = curve_total + curve * n, pck_total + pck * n, count + n
    return pck_total / count, np.sum(curve_total / count) / 31, per_group


def _kit(pred, gt, seq, act, groups):
    """mpii_evaluate_errors: the root-relative (pelvis, joint 15) per-joint errors (17 x frames), then
    MPJPE (mean over joints of the per-joint mean), PCK and AUC per sequence, per activity and for all."""
    error = _errors_about(pred, gt, 14, range(17)).T
    table = lambda e: (np.mean(np.mean(e, axis=1)), *_kit_pck_auc(e, groups))
    return ({s: table(error[:, seq == s]) for s in np.unique(seq)},
            {a: table(error[:, act == a]) for a in np.unique(act)}, table(error))


@pytest.mark.parametrize("joints, groups", [(14, KIT14), (17, KIT17)])
def test_3dhp_equals_the_test_kit_per_sequence_per_activity_and_overall(joints, groups):
    rng = np.random.default_rng(1)
    n = 60
    gt = rng.normal(0, 300, (n, 17, 3))
    pred = gt + rng.normal(0, 1, (n, 17, 3)) * rng.uniform(10, 120, (n, 1, 1)) + rng.normal(0, 40, (n, 1, 3))
    seq, act = rng.integers(0, 3, n), rng.integers(0, 7, n)
    protocol = get_protocol("3dhp")
    variant = protocol.variant(joints, "mpi3dhp17")
    got = score_pose3d(protocol, variant, pred, gt, None, {"sequence": (seq, ["TS1", "TS2", "TS3"]),
                                                           "action": (act, [f"a{k}" for k in range(7)])})
    by_seq, by_act, total = _kit(pred, gt, seq, act, groups)
    check = lambda values, ref: [pytest.approx(v, abs=TOL) == r for v, r in
                                 zip((values["mpjpe"], values["pck3d"], values["auc3d"]), ref[:3])]
    assert all(check(got["metrics"], total))
    for s, ref in by_seq.items():
        assert all(check(got["groups"]["sequence"][f"TS{s + 1}"], ref))
    for a, ref in by_act.items():
        assert all(check(got["groups"]["action"][f"a{a}"], ref))
    assert list(got["joint_groups"]) == list(groups)
    for name, (pck, auc) in total[3].items():
        assert got["joint_groups"][name]["pck3d"] == pytest.approx(pck, abs=TOL)
        assert got["joint_groups"][name]["auc3d"] == pytest.approx(auc, abs=TOL)


def test_3dhp_auc_of_every_joint_off_by_d_is_the_share_of_thresholds_above_d():
    rng = np.random.default_rng(2)
    gt = rng.normal(0, 300, (20, 17, 3))
    direction = rng.normal(size=(20, 17, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    protocol = get_protocol("3dhp")
    for d in (37.3, 0.4, 149.9, 151.2):  # off the 5 mm grid
        offset = d * direction
        offset[:, MPI3DHP17.index("pelvis")] = 0.0  # the root: every other joint is off by d
        got = score_pose3d(protocol, protocol.variant(14, "mpi3dhp17"), gt + offset, gt, None, {})["metrics"]
        above = np.sum(np.arange(0, 151, 5) > d) / 31
        assert got["auc3d"] == pytest.approx(above, abs=TOL)
        assert got["pck3d"] == (1.0 if d < 150 else 0.0)
        assert got["mpjpe"] == pytest.approx(d * 16 / 17, abs=1e-9)  # the kit's MPJPE counts the pelvis (0)


# ------------------------------------------------------------------------ Human3.6M, 3DPW
H36M_COMMON14 = ("RAnkle", "RKnee", "RHip", "LHip", "LKnee", "LAnkle", "RWrist", "RElbow", "RShoulder",
                 "LShoulder", "LElbow", "LWrist", "Thorax", "Head")


def _h36m_reference(pred, gt, joints, aligned):
    """Protocol #1 (MPJPE about the pelvis) or #2 (PA-MPJPE), pooled over the named joints."""
    names = {17: H36M17.joint_names, 16: H36M17.joint_names[1:], 14: H36M_COMMON14}[joints]
    idx = [H36M17.index(n) for n in names]
    if not aligned:
        return _errors_about(pred, gt, 0, idx).mean()
    errs = [np.linalg.norm(_procrustes(p[idx] - p[0], g[idx] - g[0]) - (g[idx] - g[0]), axis=1)
            for p, g in zip(pred, gt)]
    return np.mean(errs)


@pytest.mark.parametrize("name, aligned", [("h36m-p1", False), ("h36m-p2", True)])
def test_h36m_each_joint_variant_equals_its_reference_and_the_mean_of_actions(name, aligned):
    rng = np.random.default_rng(3)
    gt = rng.normal(0, 250, (40, 17, 3))
    pred = gt + rng.normal(0, 35, (40, 17, 3)) + rng.normal(0, 100, (40, 1, 3))  # + a shift per sample
    action = rng.integers(0, 4, 40)
    protocol = get_protocol(name)
    key = protocol.headline
    for joints in (17, 16, 14):
        got = score_pose3d(protocol, protocol.variant(joints, "h36m17"), pred, gt, None,
                           {"action": (action, ["A", "B", "C", "D"])})
        assert got["metrics"][key] == pytest.approx(_h36m_reference(pred, gt, joints, aligned), abs=TOL)
        per = [_h36m_reference(pred[action == a], gt[action == a], joints, aligned) for a in range(4)]
        assert [got["groups"]["action"][n][key] for n in "ABCD"] == pytest.approx(per, abs=TOL)
        assert got["metrics"][f"{key}_mean_of_actions"] == pytest.approx(np.mean(per), abs=TOL)
    if not aligned:  # the root's error is 0 about the root: 16 joints = 17/16 x the 17-joint MPJPE
        m17, m16 = (score_pose3d(protocol, protocol.variant(j, "h36m17"), pred, gt, None, {})["metrics"]["mpjpe"]
                    for j in (17, 16))
        assert m16 == pytest.approx(m17 * 17 / 16, abs=TOL)


SMPL_COMMON14 = ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
                 "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "neck", "head")


def _pw3d_joints(x):
    """The 14 joints of (N, 24, 3) SMPL joints, centred on the mid-hip (as SPIN / VIBE evaluate 3DPW)."""
    j = x[:, [SMPL24.index(n) for n in SMPL_COMMON14]]
    return j - (j[:, 2:3] + j[:, 3:4]) / 2


def _vibe_accel(pred, gt):
    """VIBE's compute_error_accel: per frame the mean over joints of |accel_pred - accel_gt|, then the mean."""
    a = lambda x: x[:-2] - 2 * x[1:-1] + x[2:]
    return np.mean(np.linalg.norm(a(pred) - a(gt), axis=2).mean(axis=1))


def _pw3d(pred, gt, fps=30.0, subject=None, frame=None):
    protocol = get_protocol("3dpw")
    n = len(pred)
    tracks = (np.zeros(n, int) if subject is None else subject, np.arange(n) if frame is None else frame)
    return score_pose3d(protocol, protocol.variant(14, "smpl24"), pred, gt, None, {}, tracks, fps)["metrics"]


def test_3dpw_mpjpe_pa_mpjpe_and_acceleration_equal_their_references():
    rng = np.random.default_rng(4)
    gt = np.cumsum(rng.normal(0, 20, (30, 24, 3)), axis=0)
    pred = gt + rng.normal(0, 30, (30, 24, 3))
    got = _pw3d(pred, gt, fps=25.0)
    p, g = _pw3d_joints(pred), _pw3d_joints(gt)
    assert got["mpjpe"] == pytest.approx(np.linalg.norm(p - g, axis=2).mean(), abs=TOL)
    pa = np.mean([np.linalg.norm(_procrustes(a, b) - b, axis=1) for a, b in zip(p, g)])
    assert got["pa_mpjpe"] == pytest.approx(pa, abs=TOL)
    assert got["accel"] == pytest.approx(_vibe_accel(p, g), abs=TOL)
    assert got["accel_s"] == pytest.approx(_vibe_accel(p, g) * 25.0 ** 2, abs=1e-6)


def test_acceleration_of_constant_velocity_is_0_and_of_a_sinusoid_its_closed_form():
    rng = np.random.default_rng(5)
    still = np.repeat(rng.normal(0, 200, (1, 24, 3)), 40, axis=0)
    t = np.arange(40)[:, None, None]
    moving = still + t * rng.normal(0, 10, (1, 24, 3))  # every joint at its own constant velocity
    assert _pw3d(moving, still)["accel"] == pytest.approx(0.0, abs=1e-9)
    # the right wrist on A sin(2 pi nu t / fps), the rest still: the second difference of a sampled
    # sinusoid is -4 sin^2(pi nu / fps) times it, and the mean over the 14 joints counts one
    amp, nu, fps = 30.0, 2.0, 30.0
    wave = still.copy()
    wave[:, SMPL24.index("right_wrist"), 0] += amp * np.sin(2 * np.pi * nu * t[:, 0, 0] / fps)
    k = np.arange(1, 39)
    closed = 4 * amp * np.sin(np.pi * nu / fps) ** 2 * np.abs(np.sin(2 * np.pi * nu * k / fps)).mean() / 14
    got = _pw3d(wave, still, fps=fps)
    assert got["accel"] == pytest.approx(closed, abs=TOL)
    assert got["accel_s"] == pytest.approx(closed * fps ** 2, abs=1e-6)


def test_acceleration_counts_only_three_consecutive_frames_of_one_actor():
    rng = np.random.default_rng(6)
    gt = rng.normal(0, 200, (12, 24, 3))
    pred = gt + rng.normal(0, 20, (12, 24, 3))
    subject = np.repeat([0, 1], 6)
    frame = np.array([0, 1, 2, 4, 5, 6, 0, 1, 2, 3, 4, 5])  # actor 0 has no valid camera pose at frame 3
    p, g = _pw3d_joints(pred), _pw3d_joints(gt)
    parts = [(p[0:3], g[0:3]), (p[3:6], g[3:6]), (p[6:12], g[6:12])]
    a = lambda x: x[:-2] - 2 * x[1:-1] + x[2:]
    per_frame = np.concatenate([np.linalg.norm(a(x) - a(y), axis=2).mean(axis=1) for x, y in parts])
    order = rng.permutation(12)  # rows in any order
    got = _pw3d(pred[order], gt[order], subject=subject[order], frame=frame[order])
    assert got["accel"] == pytest.approx(per_frame.mean(), abs=TOL) and len(per_frame) == 6


# ------------------------------------------------------------------------ COCO keypoints
THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1)  # COCOeval's Params (keypoints)
REC = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1)


def _coco_image(gt, dt, var, area_rng, max_dets):
    """COCOeval.computeOks + evaluateImg of one image: (scores, dtMatches, dtIgnore, gtIgnore)."""
    ig = [1 if g["area"] < area_rng[0] or g["area"] > area_rng[1] else 0 for g in gt]
    order = np.argsort(ig, kind="mergesort")
    gt, ig = [gt[i] for i in order], [ig[i] for i in order]
    dt = [dt[i] for i in np.argsort([-d["score"] for d in dt], kind="mergesort")][:max_dets]
    ious = np.zeros((len(dt), len(gt)))
    for j, g in enumerate(gt):
        for i, d in enumerate(dt):
            e = ((d["kp"] - g["kp"]) ** 2).sum(1) / var / (g["area"] + np.spacing(1)) / 2
            e = e[g["vis"] > 0]
            ious[i, j] = np.sum(np.exp(-e)) / e.shape[0]
    gtm, dtm, dtig = np.zeros((10, len(gt))), np.zeros((10, len(dt))), np.zeros((10, len(dt)))
    for t, thr in enumerate(THRS):
        for i in range(len(dt)):
            iou, m = min([thr, 1 - 1e-10]), -1
            for j in range(len(gt)):
                if gtm[t, j] > 0:
                    continue
                if m > -1 and ig[m] == 0 and ig[j] == 1:
                    break
                if ious[i, j] < iou:
                    continue
                iou, m = ious[i, j], j
            if m == -1:
                continue
            dtig[t, i], dtm[t, i], gtm[t, m] = ig[m], 1, 1
    for i, d in enumerate(dt):
        span = d["kp"].max(0) - d["kp"].min(0)
        if span[0] * span[1] < area_rng[0] or span[0] * span[1] > area_rng[1]:
            dtig[:, i] = np.where(dtm[:, i] == 0, 1, dtig[:, i])
    return [d["score"] for d in dt], dtm, dtig, ig


def _coco_reference(dets, people, sigmas, area_rng=(0, 1e10), max_dets=20):
    """COCOeval (iouType keypoints) written out: evaluateImg per image, then accumulate, summarize."""
    var = (np.asarray(sigmas) * 2) ** 2
    evals = [_coco_image([g for g in people if g["image"] == img], [d for d in dets if d["image"] == img], var,
                         area_rng, max_dets)
             for img in sorted({d["image"] for d in dets} | {g["image"] for g in people})]
    inds = np.argsort(-np.concatenate([e[0] for e in evals]), kind="mergesort")
    dtm = np.concatenate([e[1] for e in evals], axis=1)[:, inds]
    dtig = np.concatenate([e[2] for e in evals], axis=1)[:, inds]
    npig = sum(1 for e in evals for g in e[3] if g == 0)
    tps = np.cumsum(np.logical_and(dtm, np.logical_not(dtig)), axis=1).astype(float)
    fps = np.cumsum(np.logical_and(np.logical_not(dtm), np.logical_not(dtig)), axis=1).astype(float)
    precision, recall = np.zeros((10, 101)), np.zeros(10)
    for t, (tp, fp) in enumerate(zip(tps, fps)):
        nd = len(tp)
        rc, pr = tp / npig, (tp / (fp + tp + np.spacing(1))).tolist()
        recall[t] = rc[-1] if nd else 0
        for i in range(nd - 1, 0, -1):
            if pr[i] > pr[i - 1]:
                pr[i - 1] = pr[i]
        q = [0.0] * 101
        try:
            for ri, pi in enumerate(np.searchsorted(rc, REC, side="left")):
                q[ri] = pr[pi]
        except IndexError:
            pass
        precision[t] = q
    return {"ap": precision.mean(), "ap50": precision[0].mean(), "ap75": precision[5].mean(), "ar": recall.mean()}


def _coco_case(seed):
    """Images of 1-4 people of every size, each with a detection of its own noise and score; some
    people missed, some detections of nobody."""
    rng = np.random.default_rng(seed)
    people, dets = [], []
    for img in range(12):
        for _ in range(rng.integers(1, 5)):
            size = rng.choice([20.0, 60.0, 150.0])
            kp = rng.uniform(0, size, (17, 2)) + rng.uniform(0, 400, 2)
            vis = (rng.random(17) > 0.2).astype(int)
            vis[0] = 2
            people.append({"image": img, "kp": kp, "vis": vis, "area": size * size * rng.uniform(0.5, 1.0)})
            if rng.random() < 0.85:
                dets.append({"image": img, "kp": kp + rng.normal(0, rng.uniform(0.5, 8), (17, 2)),
                             "score": float(rng.random()), "person": len(people) - 1})
        if rng.random() < 0.3:
            dets.append({"image": img, "kp": rng.uniform(0, 400, (17, 2)), "score": float(rng.random()), "person": -1})
    return people, dets


def _score(people, dets, sigmas=COCO_SIGMAS):
    arr = lambda key, src: np.array([x[key] for x in src])
    return score_coco(arr("kp", dets), arr("score", dets), arr("image", dets), arr("kp", people),
                      arr("vis", people) > 0, arr("area", people), arr("image", people), sigmas,
                      det_person=arr("person", dets))


@pytest.mark.parametrize("seed, sigmas", [(7, COCO_SIGMAS), (8, COCO_SIGMAS), (7, np.linspace(0.03, 0.12, 17))])
def test_coco_ap_ar_overall_per_size_and_per_keypoint_equal_cocoeval(seed, sigmas):
    people, dets = _coco_case(seed)
    got = _score(people, dets, sigmas)
    ref = _coco_reference(dets, people, sigmas)
    for key in ("ap", "ap50", "ap75", "ar"):
        assert got["metrics"][key] == pytest.approx(ref[key], abs=TOL)
    assert 0.05 < got["metrics"]["ap"] < 0.95  # a case that discriminates: neither all hits nor all misses
    for size, rng in (("medium", (32 ** 2, 96 ** 2)), ("large", (96 ** 2, 1e10))):
        sized = _coco_reference(dets, people, sigmas, rng)
        assert got["metrics"][f"ap_{size}"] == pytest.approx(sized["ap"], abs=TOL)
        assert got["metrics"][f"ar_{size}"] == pytest.approx(sized["ar"], abs=TOL)
    for k in (0, 9, 16):  # a keypoint's OKS alone, over the people in whom it is labelled
        keep = {i for i, p in enumerate(people) if p["vis"][k] > 0}
        one = lambda x: {**x, "kp": x["kp"][[k]], **({"vis": x["vis"][[k]]} if "vis" in x else {})}
        ref_k = _coco_reference([one(d) for d in dets if d["person"] in keep],
                                [one(people[i]) for i in sorted(keep)], sigmas[[k]])
        assert got["keypoints"][str(k)]["ap"] == pytest.approx(ref_k["ap"], abs=TOL)


def test_coco_perfect_detections_score_1_and_a_missed_half_recall_half():
    people, _ = _coco_case(9)
    perfect = [{"image": p["image"], "kp": p["kp"], "score": 0.5, "person": i} for i, p in enumerate(people)]
    got = _score(people, perfect)["metrics"]
    assert got["ap"] == pytest.approx(1.0) and got["ar"] == pytest.approx(1.0)
    half = perfect[: len(perfect) // 2]
    assert _score(people, half)["metrics"]["ar"] == pytest.approx(len(half) / len(people))


def test_every_protocol_names_its_manifest_fields_and_bad_joints_are_refused():
    for protocol in PROTOCOLS.values():
        assert protocol.definition() and protocol.measures
    with pytest.raises(InputError, match="--joints 15: the protocol h36m-p1"):
        get_protocol("h36m-p1").variant(15, "h36m17")
    with pytest.raises(InputError, match="--protocol 3dhp: scores mpi3dhp17"):
        get_protocol("3dhp").variant(None, "h36m17")
    with pytest.raises(InputError, match="unknown protocol"):
        get_protocol("h36m")
