"""The 3D protocols' numbers (``h36m-p1``, ``h36m-p2``, ``3dhp``, ``3dpw``) from ``(N, J, 3)`` mm poses.

Both poses are centred on the variant's root, turned into its scored joints, and scored a chunk
of samples at a time (:data:`hpe_core.alignment.CHUNK`, float64 only while a chunk is scored);
the result keeps running sums overall and per group label, so memory stays the arrays scored and
their ``(N,)`` group codes. Errors are Euclidean; a joint missing in either pose or not valid is
left out. PCK / AUC follow the MPI-INF-3DHP kit (``mpii_compute_3d_pck.m``): the share of errors
strictly below each threshold. The acceleration error (Kanazawa et al. 2019, as VIBE computes
it): per frame the mean over joints of ``|a_pred - a_gt|`` with ``a_t = x_{t-1} - 2 x_t + x_{t+1}``,
over the frames whose two neighbours are the same actor's next frames, in mm/frame^2, and times
fps^2 in mm/s^2.
"""

from __future__ import annotations

import numpy as np

from hpe_core.alignment import CHUNK, align_chunk, chunks
from hpe_core.errors import InputError
from hpe_core.metrics import mask_of

AUC_GRID = np.arange(0.0, 151.0, 5.0)  # mm: the kit's 0:5:150
PCK_AT = 150.0


class GroupSums:
    """Sums of named quantities overall and per code of each group label (``np.bincount``)."""

    def __init__(self, groups: dict[str, tuple[np.ndarray, list[str]]]) -> None:
        self.groups = groups
        self.total: dict[str, np.ndarray] = {}
        self.by: dict[tuple[str, str], np.ndarray] = {}

    def add(self, name: str, rows: np.ndarray, values: np.ndarray) -> None:
        """``values`` ``(n,)`` or ``(n, T)`` of the dataset-order positions ``rows`` (into the codes)."""
        values = np.asarray(values, np.float64)
        self.total[name] = self.total.get(name, 0) + values.sum(axis=0)
        for label, (codes, names) in self.groups.items():
            c = codes[rows]
            flat = values.reshape(len(values), -1)
            sums = np.stack([np.bincount(c, flat[:, t], minlength=len(names)) for t in range(flat.shape[1])], 1)
            key = (name, label)
            self.by[key] = self.by.get(key, 0) + sums.reshape((len(names),) + values.shape[1:])

    def ratio(self, num: str, den: str, label: str | None = None) -> np.ndarray:
        top, bottom = (self.total[num], self.total[den]) if label is None else (self.by[num, label],
                                                                                self.by[den, label])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(top, np.float64) / (bottom[..., None] if np.ndim(top) > np.ndim(bottom) else bottom)


def centred_scored(p: np.ndarray, g: np.ndarray, m: np.ndarray, variant, strict: bool = True) -> tuple:
    """``(pred, gt, mask)`` of the scored joints ``(n, J', 3)`` / ``(n, J')`` of one float64 chunk,
    both poses centred on the variant's root; InputError if a sample misses a joint the root needs
    (not ``strict``: that sample scores no joint)."""
    uses_root = variant.root != 0
    rooted = m[:, uses_root].all(axis=1)
    if strict and not rooted.all():
        raise InputError(f"pred, gt: the root ({variant.mapping}) is missing in {int((~rooted).sum())} sample(s)")
    m = m & rooted[:, None]
    full = bool(m.all())
    p0, g0 = (p, g) if full else (np.where(m[..., None], p, 0.0), np.where(m[..., None], g, 0.0))
    pc, gc = p0 - _combine(variant.root[None], p0), g0 - _combine(variant.root[None], g0)
    used = variant.weights != 0
    ms = np.ones((len(m), len(used)), bool) if full else \
        (m.astype(np.float64) @ used.T.astype(np.float64)) >= used.sum(axis=1) - 0.5
    return _combine(variant.weights, pc), _combine(variant.weights, gc), ms


def _combine(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(n, J', 3)``: each row of ``weights`` ``(J', J)`` combining the joints of ``x`` ``(n, J, 3)``; a
    one-hot row is a copy of its joint (the variants' joint selections), others a weighted sum."""
    if ((weights != 0).sum(axis=1) == 1).all() and (weights.max(axis=1) == 1).all():
        return x[:, weights.argmax(axis=1)]
    return np.tensordot(x, weights, axes=([1], [1])).transpose(0, 2, 1)


def joint_errors(p: np.ndarray, g: np.ndarray, mask: np.ndarray, align: str) -> np.ndarray:
    """``(n, J')`` Euclidean errors after ``align`` ("none" or "similarity"), NaN where not scored."""
    a = p if align == "none" else align_chunk(p, g, mask, align)
    err = np.sqrt(((a - g) ** 2).sum(axis=-1))
    err[~mask] = np.nan
    return err


def sample_errors(protocol, variant, pred, gt, valid=None) -> np.ndarray:
    """``(N,)`` each sample's error by the protocol's per-sample measure (:attr:`Protocol.sample_measure`:
    its PA-MPJPE or MPJPE over the scored joints, mm), NaN for a sample it cannot score (no root)."""
    out = np.full(len(pred), np.nan)
    align = "similarity" if protocol.sample_measure == "pa_mpjpe" else "none"
    for sl in chunks(len(pred), CHUNK):
        p, g = np.asarray(pred[sl], np.float64), np.asarray(gt[sl], np.float64)
        m = mask_of(p, g, None if valid is None else np.asarray(valid[sl]))
        ps, gs, ms = centred_scored(p, g, m, variant, strict=False)
        ok = ms.sum(axis=1) >= (3 if align != "none" else 1)
        if ok.any():
            err = joint_errors(ps[ok], gs[ok], ms[ok], align)
            out[np.flatnonzero(ok) + sl.start] = np.nanmean(err, axis=1)
    return out


def score_pose3d(protocol, variant, pred, gt, valid, groups: dict, tracks=None, fps: float | None = None) -> dict:
    """The numbers of a 3D ``protocol`` on ``variant``: ``{"metrics", "groups", "joint_groups", "samples"}``.

    ``pred``, ``gt`` ``(N, J, 3)`` mm (any float dtype, memory-mapped is fine), ``valid`` ``(N, J)`` or
    None; ``groups`` label -> ``(codes (N,), names)``; ``tracks`` ``(codes (N,), frames (N,))`` of an
    actor's consecutive frames (the acceleration error, with ``fps``)."""
    sums = GroupSums(groups)
    measures = set(protocol.measures)
    counted = np.asarray(variant.counted)
    for sl in chunks(len(pred), CHUNK):
        p, g = np.asarray(pred[sl], np.float64), np.asarray(gt[sl], np.float64)
        m = mask_of(p, g, None if valid is None else np.asarray(valid[sl]))
        ps, gs, ms = centred_scored(p, g, m, variant)
        rows = np.arange(sl.start, sl.start + len(p))
        err = joint_errors(ps, gs, ms, "none")
        ok = np.isfinite(err)
        sums.add("joints", rows, ok.sum(axis=1))
        sums.add("mpjpe", rows, np.where(ok, err, 0.0).sum(axis=1))
        if "pa_mpjpe" in measures:
            pa = joint_errors(ps, gs, ms, "similarity")
            sums.add("pa_mpjpe", rows, np.where(np.isfinite(pa), pa, 0.0).sum(axis=1))
        if "pck3d" in measures:
            _add_pck(sums, rows, err, counted, variant.groups)
    out = _summaries(protocol, sums, variant)
    if "accel" in measures and tracks is not None:
        _acceleration(out, pred, gt, valid, variant, groups, tracks, fps)
    out["samples"] = len(pred)
    return out


def _add_pck(sums: GroupSums, rows, err: np.ndarray, counted: np.ndarray, joint_groups) -> None:
    """Hits below each AUC threshold ``(n, 31)`` over the counted joints, and per kit joint group."""
    grid = AUC_GRID[None, None, :]
    below = err[..., None] < grid  # NaN compares False: a missing joint is never a hit
    sums.add("pck_joints", rows, np.isfinite(err[:, counted]).sum(axis=1))
    sums.add("hits", rows, below[:, counted].sum(axis=1))
    sums.add("hits150", rows, (err[:, counted] < PCK_AT).sum(axis=1))
    for name, joints in joint_groups:
        js = list(joints)
        sums.total[f"jg_n:{name}"] = sums.total.get(f"jg_n:{name}", 0) + np.isfinite(err[:, js]).sum()
        sums.total[f"jg_hits:{name}"] = sums.total.get(f"jg_hits:{name}", 0) + below[:, js].sum(axis=(0, 1))
        sums.total[f"jg_150:{name}"] = sums.total.get(f"jg_150:{name}", 0) + (err[:, js] < PCK_AT).sum()


def _metrics(protocol, sums: GroupSums, label: str | None = None) -> dict:
    out = {"mpjpe": sums.ratio("mpjpe", "joints", label)} if "mpjpe" in protocol.measures else {}
    if "pa_mpjpe" in protocol.measures:
        out["pa_mpjpe"] = sums.ratio("pa_mpjpe", "joints", label)
    if "pck3d" in protocol.measures:
        out["pck3d"] = sums.ratio("hits150", "pck_joints", label)
        out["auc3d"] = np.mean(sums.ratio("hits", "pck_joints", label), axis=-1)
    return out


def _summaries(protocol, sums: GroupSums, variant) -> dict:
    overall = {k: float(v) for k, v in _metrics(protocol, sums).items()}
    groups = {}
    for label, (codes, names) in sums.groups.items():
        per = _metrics(protocol, sums, label)
        samples = np.bincount(codes, minlength=len(names))
        groups[label] = {names[k]: {"samples": int(samples[k]), **{m: float(v[k]) for m, v in per.items()}}
                         for k in range(len(names)) if samples[k]}
    if protocol.name.startswith("h36m") and "action" in groups and groups["action"]:
        key = protocol.headline
        overall[f"{key}_mean_of_actions"] = float(np.mean([g[key] for g in groups["action"].values()]))
    joint_groups = {}
    for name, _ in variant.groups:
        n = sums.total[f"jg_n:{name}"]
        joint_groups[name] = {"pck3d": float(sums.total[f"jg_150:{name}"] / n),
                              "auc3d": float(np.mean(sums.total[f"jg_hits:{name}"] / n))}
    return {"metrics": overall, "groups": groups, "joint_groups": joint_groups}


def triplet_centres(codes: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, centre)``: the rows sorted by actor then frame, and for each sorted position whether
    it is the middle of three consecutive frames of one actor (its neighbours in ``order``)."""
    order = np.lexsort((frames, codes))
    c, f = codes[order], frames[order]
    centre = np.zeros(len(order), bool)
    if len(order) >= 3:
        centre[1:-1] = (c[:-2] == c[1:-1]) & (c[2:] == c[1:-1]) & (f[1:-1] - f[:-2] == 1) & (f[2:] - f[1:-1] == 1)
    return order, centre


def _acceleration(out: dict, pred, gt, valid, variant, groups: dict, tracks, fps) -> None:
    order, centre = triplet_centres(*tracks)
    sums = GroupSums(groups)
    sums.total["frames"] = 0.0
    for sl in chunks(len(order), CHUNK):
        k = np.flatnonzero(centre[sl]) + sl.start  # sorted positions of the chunk's centres
        if not len(k):
            continue
        window = order[np.concatenate([k - 1, k, k + 1])]  # dataset rows: previous, centre, next
        p, g = np.asarray(pred[window], np.float64), np.asarray(gt[window], np.float64)
        m = mask_of(p, g, None if valid is None else np.asarray(valid[window]))
        ps, gs, ms = centred_scored(p, g, m, variant)
        n = len(k)
        acc = lambda x: x[:n] - 2 * x[n:2 * n] + x[2 * n:]
        both = ms[:n] & ms[n:2 * n] & ms[2 * n:]
        diff = np.sqrt(((acc(ps) - acc(gs)) ** 2).sum(axis=-1))
        count = both.sum(axis=1)
        keep = count > 0
        per_frame = np.where(both, diff, 0.0).sum(axis=1)[keep] / count[keep]
        sums.add("accel", order[k[keep]], per_frame)
        sums.add("frames", order[k[keep]], np.ones(keep.sum()))
    out["metrics"]["accel"] = float(sums.ratio("accel", "frames")) if sums.total["frames"] else float("nan")
    out["metrics"]["accel_s"] = out["metrics"]["accel"] * float(fps) ** 2
    out["fps"] = float(fps)
    out["accel_frames"] = int(sums.total["frames"])
    for label, (codes, names) in groups.items():
        per = sums.ratio("accel", "frames", label) if ("accel", label) in sums.by else np.full(len(names), np.nan)
        for name, g in out["groups"].get(label, {}).items():
            g["accel"] = float(per[names.index(name)])
            g["accel_s"] = g["accel"] * float(fps) ** 2
