"""Pose-estimation metrics, batched over N samples, numpy or torch in, numpy / floats out.

Shapes: ``pred`` and ``gt`` are ``(N, J, 3)`` millimetres for the 3D metrics and ``(N, J, 2)``
pixels for the 2D ones; ``valid`` (optional) is ``(N, J)`` bool. A joint is evaluated when it
is finite in both ``pred`` and ``gt`` and marked valid; the others are excluded, never zeroed.

Every metric returns one float, pooled over all evaluated joints of all samples (the usual
definition when nothing is masked), or with ``per_sample=True`` an ``(N,)`` array of the mean
over each sample's evaluated joints. :func:`pjpe` gives the ``(N, J)`` errors themselves (NaN
where excluded); :func:`hpe_core.metric_report.evaluate` computes everything at once for the CLI
and the GUI.

Alignments (``align=``, :mod:`hpe_core.alignment`): ``"none"``; ``"scale"`` (N-MPJPE);
``"rotation"`` (about the origin: root-centre first); ``"rigid"``; ``"similarity"`` (PA-MPJPE,
Protocol #2). Rotations never include a mirror image.

torch is not imported here: tensors are converted with ``.detach().cpu().numpy()``.
"""

from __future__ import annotations

import numpy as np

from hpe_core.alignment import align_chunk, check_alignment, chunks
from hpe_core.errors import InputError
from hpe_core.rotation_fit import dot_rows
from hpe_core.skeleton import Skeleton, check_joints, get_skeleton

PCK3D_THRESHOLD = 150.0  # mm
AUC_THRESHOLDS = np.linspace(0.0, 150.0, 31)  # mm, steps of 5 (MPI-INF-3DHP convention)
PCK2D_FRACTION = 0.05  # of the ground-truth bounding-box size (UniHPE's PCK@0.05)
EMPTY = ("raise", "nan")  # what a sample without a joint to evaluate is: an InputError, or NaN


# ----------------------------------------------------------------------------- bones
def bone_lengths(joints, skeleton: str | Skeleton) -> np.ndarray:
    """``(N, J, 3)`` joints -> ``(N, B)`` lengths of the skeleton's kinematic-tree bones
    ``(parent, child)`` in child order (the drawn-only ``extra_bones`` are not bones here)."""
    sk = get_skeleton(skeleton)
    j = as_array(joints, "joints")
    check_joints(j, sk, "joints", (3,))
    parent, child = np.array([(p, c) for c, p in enumerate(sk.parents) if p >= 0]).T
    d = j[:, child] - j[:, parent]
    return np.sqrt(dot_rows(d, d))


def bone_length_error(pred, gt, skeleton: str | Skeleton, valid=None, *, per_sample: bool = False):
    """Mean absolute difference of bone lengths, ``mean |len_pred(b) - len_gt(b)|`` in mm.

    ``pred``, ``gt`` ``(N, J, 3)``; bones are the skeleton's ``(parent, child)`` pairs. A bone
    counts where both its joints are evaluated (finite in both poses and valid); the others are
    left out. Invariant to a rigid motion of either pose. Pooled over all counted bones (float),
    or each sample's mean ``(N,)`` with ``per_sample`` (NaN for a sample with no counted bone).
    """
    p, g, mask = prepare(pred, gt, valid, skeleton=skeleton, dims=(3,))
    err, counted = bone_errors(p, g, mask, skeleton)
    if per_sample:
        return np.where(counted > 0, err.sum(axis=1) / np.maximum(counted, 1), np.nan)
    return float(err.sum() / counted.sum()) if counted.sum() else float("nan")


def bone_errors(p: np.ndarray, g: np.ndarray, mask: np.ndarray, skeleton: str | Skeleton):
    """``(|len_p - len_g| (N, B), 0 where a bone is not counted; counted bones per sample (N,))`` of
    checked float64 poses ``(N, J, 3)`` and their mask ``(N, J)`` (see :func:`bone_length_error`)."""
    sk = get_skeleton(skeleton)
    parent, child = np.array([(a, c) for c, a in enumerate(sk.parents) if a >= 0]).T
    ok = mask[:, parent] & mask[:, child]
    return np.where(ok, np.abs(bone_lengths(p, sk) - bone_lengths(g, sk)), 0.0), ok.sum(axis=1)


# ----------------------------------------------------------------------------- input
def as_array(x, argument: str) -> np.ndarray:
    """``x`` (numpy array, torch tensor, nested lists) as float64 numpy; InputError if not numeric."""
    return as_numeric(x, argument).astype(np.float64, copy=False)


def as_numeric(x, argument: str) -> np.ndarray:
    """``x`` as a numpy array of its own numeric dtype (no copy of a numpy or memory-mapped array)."""
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{argument}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def prepare(pred, gt, valid=None, *, skeleton: str | Skeleton | None = None,
            dims: tuple[int, ...] = (2, 3), empty: str = "raise") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check and convert inputs: ``(pred (N,J,D), gt (N,J,D), mask (N,J) bool)``, float64.

    Raises :class:`InputError` (a ``ValueError``) naming the argument for: shapes that
    disagree, a joint count that does not fit ``skeleton``, empty arrays, a sample with no
    finite joint, a ``valid`` mask of the wrong shape. With ``empty="nan"`` a sample without a
    joint to evaluate is no error: its mask row is all False.
    """
    p, g, v = check_inputs(pred, gt, valid, skeleton=skeleton, dims=dims, empty=empty)
    return p.astype(np.float64, copy=False), g.astype(np.float64, copy=False), mask_of(p, g, v)


def check_inputs(pred, gt, valid=None, *, skeleton: str | Skeleton | None = None,
                 dims: tuple[int, ...] = (2, 3), empty: str = "raise"):
    """:func:`prepare`'s checks without its copies: ``(pred, gt, valid)`` as numpy arrays of their own
    dtype (a memory-mapped array stays mapped; ``valid`` may be None). The checks go
    :data:`~hpe_core.alignment.CHUNK` samples at a time and keep no ``(N, J)`` array; take each
    chunk's mask with :func:`mask_of`."""
    _check_empty(empty)
    p, g = as_numeric(pred, "pred"), as_numeric(gt, "gt")
    check_joints(p, skeleton, "pred", dims)
    check_joints(g, skeleton, "gt", dims)
    if p.shape != g.shape:
        raise InputError(f"pred, gt: shapes disagree: pred {p.shape}, gt {g.shape}")
    v = None if valid is None else as_numeric(valid, "valid")
    fits = v is None or v.shape == p.shape[:2]
    empty_rows: list[list] = [[], [], [], []]  # no finite gt joint, no finite pred joint, none valid, none evaluated
    for sl in chunks(len(p)):
        finite_p, finite_g = _finite_points(p[sl]), _finite_points(g[sl])
        mask = finite_p & finite_g
        has = [finite_g.any(axis=1), finite_p.any(axis=1), None, None]
        if v is not None and fits:
            marked = v[sl] != 0
            has[2] = marked.any(axis=1)
            mask &= marked
        has[3] = mask.any(axis=1)
        for rows, flags in zip(empty_rows, has):
            if flags is not None and not flags.all():
                rows.append(sl.start + np.flatnonzero(~flags))
    strict = empty == "raise"
    if strict:
        _no_joint(empty_rows[0], "gt", "has no finite joint (all NaN)")
        _no_joint(empty_rows[1], "pred", "has no finite joint (all NaN)")
    if not fits:
        raise InputError(f"valid: expected shape {p.shape[:2]} (N, J), got {v.shape}")
    if strict:
        _no_joint(empty_rows[2], "valid", "marks no joint valid")
        _no_joint(empty_rows[3], "pred, gt", "has no joint that is finite in both pred and gt and valid")
    return p, g, v


def mask_of(p: np.ndarray, g: np.ndarray, v: np.ndarray | None) -> np.ndarray:
    """``(N, J)``: the joints evaluated, finite in both ``p`` and ``g`` ``(N, J, D)`` and marked in ``v``."""
    mask = _finite_points(p) & _finite_points(g)
    if v is not None:
        mask &= v != 0
    return mask


def _check_empty(empty: str) -> None:
    if empty not in EMPTY:
        raise InputError(f"empty: expected one of {', '.join(EMPTY)}, got {empty!r}")


def _finite_points(a: np.ndarray) -> np.ndarray:
    """``(N, J)``: True where all coordinates of ``a`` ``(N, J, D)`` are finite."""
    out = np.isfinite(a[..., 0])
    for d in range(1, a.shape[-1]):
        out &= np.isfinite(a[..., d])
    return out


def _no_joint(empty: list[np.ndarray], argument: str, what: str) -> None:
    """InputError listing the samples ``empty`` (arrays of sample indices, in order)."""
    empty = np.concatenate(empty) if empty else np.zeros(0, np.int64)
    if empty.size:
        listed = ", ".join(str(i) for i in empty[:5]) + (", ..." if empty.size > 5 else "")
        raise InputError(f"{argument}: {empty.size} sample(s) {what}: index {listed}")


def resolve_root(root, skeleton: str | Skeleton | None, num_joints: int) -> int | None:
    """``root`` as a joint index: an int, a joint name of ``skeleton``, ``"auto"`` (the
    skeleton's root, else none) or None / ``"none"``."""
    if root is None or root == "none":
        return None
    if root == "auto":
        return get_skeleton(skeleton).root if skeleton is not None else None
    if isinstance(root, str) and not root.lstrip("-").isdigit():
        if skeleton is None:
            raise InputError(f"root: joint name {root!r} needs a skeleton")
        return get_skeleton(skeleton).index(root)
    index = int(root)
    if not 0 <= index < num_joints:
        raise InputError(f"root: joint index {index} out of range 0..{num_joints - 1}")
    return index


def root_centre(p: np.ndarray, g: np.ndarray, mask: np.ndarray, root: int | None):
    """Translate each pose so its ``root`` joint is at the origin (Protocol #1)."""
    if root is None:
        return p, g
    check_root(np.flatnonzero(~mask[:, root]), root)
    return p - p[:, root:root + 1], g - g[:, root:root + 1]


def check_root(missing: np.ndarray, root: int) -> None:
    """InputError unless no sample misses joint ``root`` (``missing``: the indices of those that do)."""
    if len(missing):
        raise InputError(f"pred, gt: root joint {root} is missing in {len(missing)} sample(s) "
                         f"(first: {missing[0]}); evaluate without root alignment (root=none)")


# -------------------------------------------------------------------------- metrics
def pjpe(pred, gt, valid=None, *, align: str = "none", root=None,
         skeleton: str | Skeleton | None = None, empty: str = "raise") -> np.ndarray:
    """Per-joint position errors ``(N, J)`` (Euclidean, input units), NaN where excluded.

    ``pred``, ``gt`` ``(N, J, D)``; ``align`` one of :data:`hpe_core.alignment.ALIGNMENTS` (3D only);
    ``root`` (index, joint name, ``"auto"`` or None) root-centres both poses first.
    ``empty="nan"`` scores what can be scored (a view ranking samples as predictions arrive):
    a sample with no joint finite in both and valid, a missing root, or fewer than 3 joints for
    a rotation fit gets a row of NaN instead of an :class:`InputError`.
    """
    check_alignment(align)
    p, g, mask = prepare(pred, gt, valid, skeleton=skeleton, dims=(3,) if align != "none" else (2, 3),
                         empty=empty)
    root = resolve_root(root, skeleton, p.shape[1])
    if empty == "raise":
        p, g = root_centre(p, g, mask, root)
        return aligned_errors(p, g, mask, align)
    ok = mask.sum(axis=1) >= (3 if align in ("rotation", "rigid", "similarity") else 1)
    if root is not None:
        ok &= mask[:, root]
    out = np.full(p.shape[:2], np.nan)
    if ok.any():
        pk, gk = root_centre(p[ok], g[ok], mask[ok], root)
        out[ok] = aligned_errors(pk, gk, mask[ok], align)
    return out


def aligned_errors(p: np.ndarray, g: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    out = np.empty(p.shape[:2])
    for sl in chunks(len(p)):
        a = p[sl] if mode == "none" else align_chunk(p[sl], g[sl], mask[sl], mode)
        d = a - g[sl]
        out[sl] = np.sqrt(dot_rows(d, d) if d.shape[-1] == 3 else d[..., 0] ** 2 + d[..., 1] ** 2)
    out[~mask] = np.nan
    return out


def mean_error(err: np.ndarray, per_sample: bool):
    """Pooled mean over evaluated joints (float), or each sample's mean ``(N,)``."""
    if per_sample:
        count = np.isfinite(err).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # a row of NaN (empty="nan") stays NaN
            return np.where(count > 0, np.nansum(err, axis=1) / count, np.nan)
    return float(np.nanmean(err))


def pck_of(err: np.ndarray, threshold, per_sample: bool):
    """Fraction of evaluated joints with ``err <= threshold`` (scalar or ``(N,)`` thresholds)."""
    hit = (err <= np.asarray(threshold, dtype=np.float64).reshape(-1, 1)).sum(axis=1)
    count = np.isfinite(err).sum(axis=1)
    return hit / count if per_sample else float(hit.sum() / count.sum())


def mpjpe(pred, gt, valid=None, *, root=None, skeleton=None, per_sample=False, empty="raise"):
    """Mean per-joint position error (Protocol #1 with ``root``): ``mean |p - g|``.
    ``empty``: see :func:`pjpe` (with ``"nan"``, per-sample means of unscorable samples are NaN)."""
    return mean_error(pjpe(pred, gt, valid, root=root, skeleton=skeleton, empty=empty), per_sample)


def pa_mpjpe(pred, gt, valid=None, *, skeleton=None, per_sample=False, empty="raise"):
    """Procrustes-aligned MPJPE (Protocol #2): after the best similarity ``s R p + t``."""
    return mean_error(pjpe(pred, gt, valid, align="similarity", skeleton=skeleton, empty=empty), per_sample)


def n_mpjpe(pred, gt, valid=None, *, root=None, skeleton=None, per_sample=False):
    """Scale-normalised MPJPE (Rhodin et al.): after the least-squares scale ``s p``, no
    translation or rotation (as in VideoPose3D); pass ``root`` unless poses are root-relative."""
    return mean_error(pjpe(pred, gt, valid, align="scale", root=root, skeleton=skeleton), per_sample)


def mean_distance(pred, gt, valid=None, *, root="auto", skeleton=None, per_sample=False):
    """Seed 000's accuracy: mean Euclidean distance after root-centring and the best rotation
    about the root (Kabsch, no mirror). ``root="auto"``: the skeleton's root, else joint 0."""
    if root == "auto" and skeleton is None:
        root = 0
    return mean_error(pjpe(pred, gt, valid, align="rotation", root=root, skeleton=skeleton), per_sample)


def per_joint_error(pred, gt, valid=None, *, align="none", root=None, skeleton=None) -> np.ndarray:
    """Mean error of each joint over the samples where it is evaluated ``(J,)`` (NaN if never)."""
    err = pjpe(pred, gt, valid, align=align, root=root, skeleton=skeleton)
    return joint_means(err)


def joint_means(err: np.ndarray) -> np.ndarray:
    count = np.isfinite(err).sum(axis=0)
    total = np.where(np.isfinite(err), err, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def pck3d(pred, gt, valid=None, *, threshold=PCK3D_THRESHOLD, align="none", root=None,
          skeleton=None, per_sample=False):
    """3D PCK: fraction of joints within ``threshold`` mm (150 by default), in [0, 1]."""
    check_threshold(threshold, "threshold")
    return pck_of(pjpe(pred, gt, valid, align=align, root=root, skeleton=skeleton), threshold,
                per_sample)


def auc3d(pred, gt, valid=None, *, thresholds=AUC_THRESHOLDS, align="none", root=None,
          skeleton=None, per_sample=False):
    """Area under the 3D PCK curve: the mean PCK over ``thresholds`` (0..150 mm step 5)."""
    err = pjpe(pred, gt, valid, align=align, root=root, skeleton=skeleton)
    return auc_of(err, thresholds, per_sample)


def auc_of(err, thresholds, per_sample):
    values = [pck_of(err, t, per_sample) for t in checked_thresholds(thresholds)]
    return np.mean(values, axis=0) if per_sample else float(np.mean(values))


def checked_thresholds(thresholds) -> np.ndarray:
    """The AUC ``thresholds`` as a flat float64 array; InputError if empty, negative or not finite."""
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if thresholds.size == 0:
        raise InputError("thresholds: empty")
    check_threshold(thresholds, "thresholds")
    return thresholds


def check_threshold(value, argument: str) -> None:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InputError(f"{argument}: expected finite values >= 0, got {value!r}")


def bbox_sizes(gt, mask: np.ndarray) -> np.ndarray:
    """``(N,)`` size of each sample's tight box around its evaluated 2D joints: ``max(w, h)``."""
    lo = np.where(mask[..., None], gt, np.inf).min(axis=1)
    hi = np.where(mask[..., None], gt, -np.inf).max(axis=1)
    return (hi - lo).max(axis=1)


def pck2d(pred, gt, valid=None, *, fraction=PCK2D_FRACTION, bbox_size=None, skeleton=None,
          per_sample=False):
    """2D PCK: fraction of joints within ``fraction * bbox_size`` px, where ``bbox_size`` ``(N,)``
    defaults to :func:`bbox_sizes` of ``gt``. ``pred``, ``gt`` ``(N, J, 2)``."""
    p, g, mask = prepare(pred, gt, valid, skeleton=skeleton, dims=(2,))
    check_threshold(fraction, "fraction")
    return pck_of(aligned_errors(p, g, mask, "none"), fraction * checked_box_sizes(g, mask, bbox_size), per_sample)


def checked_box_sizes(g: np.ndarray, mask: np.ndarray, given) -> np.ndarray:
    size = bbox_sizes(g, mask) if given is None else as_array(given, "bbox_size")
    if size.shape != (len(g),):
        raise InputError(f"bbox_size: expected shape ({len(g)},), got {size.shape}")
    check_threshold(size, "bbox_size")
    return size


def epe(pred, gt, valid=None, *, skeleton=None, per_sample=False):
    """End-point error: mean Euclidean distance of 2D joints in pixels, ``(N, J, 2)``."""
    p, g, mask = prepare(pred, gt, valid, skeleton=skeleton, dims=(2,))
    return mean_error(aligned_errors(p, g, mask, "none"), per_sample)


def best_hypothesis(hypotheses, gt, valid=None, *, align: str = "none", root=None,
                    skeleton: str | Skeleton | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The oracle pick among K hypotheses per sample ("BH", as seed 003 and Li & Lee report it).

    ``hypotheses`` ``(N, K, J, 3)``, ``gt`` ``(N, J, 3)``, ``valid`` ``(N, J)``: each hypothesis is
    scored by its mean per-joint error under ``align`` over the sample's evaluated joints.
    Returns ``(errors (N, J), choice (N,))``: the per-joint errors of the chosen hypothesis (NaN
    where excluded) and its index.
    """
    h = as_array(hypotheses, "hypotheses")
    if h.ndim != 4:
        raise InputError(f"hypotheses: expected (N, K, J, 3), got shape {h.shape}")
    n, k = h.shape[:2]
    g = as_array(gt, "gt")
    if g.shape != (n, *h.shape[2:]):
        raise InputError(f"hypotheses, gt: shapes disagree: hypotheses {h.shape}, gt {g.shape}")
    v = None if valid is None else np.repeat(np.asarray(valid)[:, None], k, axis=1).reshape(n * k, -1)
    err = pjpe(h.reshape(n * k, *h.shape[2:]), np.repeat(g[:, None], k, axis=1).reshape(n * k, *g.shape[1:]),
               v, align=align, root=root, skeleton=skeleton).reshape(n, k, -1)
    choice = np.nanmean(err, axis=2).argmin(axis=1)
    return err[np.arange(n), choice], choice
