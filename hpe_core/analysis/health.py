"""Health of a learned representation, without training anything but a closed-form probe.

Each measure takes the ``(N, d)`` features of one layer (any float dtype; the sums that decide the
figure are taken in float64) and returns a float. ``health_measures(features, rows)`` computes all
of them for one layer from a :class:`HealthRows` (what is known about the N samples); the training
validations (:mod:`.health_live`), ``hpe health`` (:mod:`.health_checkpoints`), Compare, the explorer
and the report all call it.

- **RankMe** (Garrido et al., "RankMe: Assessing the downstream performance of pretrained
  self-supervised representations by their rank", ICML 2023): ``exp(-sum_k p_k log p_k)`` with
  ``p_k = s_k / sum(s) + eps`` over the singular values ``s`` of the (uncentred) feature matrix,
  ``eps = 1e-7`` as in the paper. In ``[1, min(N, d)]``: about ``d`` for isotropic features, about
  ``r`` for features of rank ``r``, 1 when they collapse to a point. The paper shows it tracks
  downstream accuracy well enough to pick hyperparameters without labels (from ~25,600 samples;
  fewer samples cap it at N).
- **Spread** (lightly's collapse check, its ``collapse_level = 1 - spread``): ``sqrt(d)`` times the
  mean per-dimension standard deviation of the L2-normalised features; 1 for isotropic features
  (each dimension then has std ``1/sqrt(d)``), 0 when every sample maps to the same direction.
- **Alignment** and **uniformity** (Wang & Isola, "Understanding contrastive representation
  learning through alignment and uniformity on the hypersphere", ICML 2020), on L2-normalised
  features: ``align = E_pos ||f(x) - f(y)||^2`` over positive pairs (two cameras of one pose; 0
  is perfect, 4 the worst) and ``uniform = log E_{x != y} exp(-2 ||f(x) - f(y)||^2)`` over all
  pairs of distinct samples (0 when collapsed; more negative is more uniform, about -4 for a
  uniform sample of a high-dimensional sphere).
- **kNN accuracy** (Wu et al. 2018's weighted kNN, as solo-learn's online kNN): each scored
  sample votes among its ``k = 20`` cosine nearest neighbours of the fit samples, each neighbour
  weighted by ``exp(cos / 0.07)``; the share whose label wins. ``knn_chance`` is what neighbours drawn
  at random get: ``sum_c p_fit(c) p_scored(c)`` over the labels' shares among the fit and the scored
  samples (what a collapsed representation, whose neighbours are arbitrary, scores).
- **Cross-view retrieval** top-1 / top-5: :func:`hpe_core.analysis.similarity.cross_view_retrieval`.
- **Linear probe to 3D** (``probe_pa_mpjpe``, mm): closed-form ridge regression from the fit
  samples' features to their root-relative 3D joints, ``W = (X^T X + lambda I)^-1 X^T Y`` on
  centred ``X``, ``Y`` with ``lambda = RIDGE x trace(X^T X) / d`` (scale-free), scored by
  PA-MPJPE (:func:`hpe_core.metrics.pa_mpjpe`) on the scored samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpe_core.errors import InputError

RANKME_EPS = 1e-7
UNIFORMITY_T = 2.0
KNN_K = 20
KNN_TEMPERATURE = 0.07
RIDGE = 1e-3
#: the measures of :func:`health_measures`, in table order, with their column titles
MEASURES = {"rankme": "RankMe", "spread": "spread", "align": "align", "uniform": "uniform", "knn": "kNN",
            "knn_chance": "kNN chance", "xview_top1": "x-view top-1", "xview_top5": "x-view top-5",
            "probe_pa_mpjpe": "probe PA-MPJPE"}
#: whether a larger value is better (None: neither; the direction of an A - B difference)
HIGHER_IS_BETTER = {"rankme": True, "spread": True, "align": False, "uniform": False, "knn": True,
                    "knn_chance": None, "xview_top1": True, "xview_top5": True, "probe_pa_mpjpe": False}


def _matrix(features, name: str = "features") -> np.ndarray:
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise InputError(f"{name}: expected an (N, d) array with N >= 2, got shape {tuple(x.shape)}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise InputError(f"{name}: contain NaN or infinite values")
    return x


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (a zero row stays zero), float64."""
    x = np.asarray(x, np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def rankme(features, eps: float = RANKME_EPS) -> float:
    """RankMe of (N, d) features (see the module docstring); 1.0 for an all-zero matrix."""
    x = _matrix(features)
    # the singular values are the square roots of the Gram matrix's eigenvalues (d x d or N x N)
    gram = x.T @ x if x.shape[1] <= x.shape[0] else x @ x.T
    s = np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None))
    if not s.sum() > 0:
        return 1.0
    p = s / s.sum() + eps
    return float(np.exp(-(p * np.log(p)).sum()))


def spread(features) -> float:
    """``sqrt(d)`` x the mean per-dimension std of the L2-normalised (N, d) features."""
    from hpe_core.analysis.structure import spread_ratio

    return spread_ratio(_matrix(features))


def positive_pairs(pose_id, camera_id) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` with ``i < j`` of every pair of samples showing the same pose from two cameras."""
    pid, cam = np.asarray(pose_id).reshape(-1), np.asarray(camera_id).reshape(-1)
    order = np.argsort(pid, kind="stable")
    starts = np.flatnonzero(np.r_[True, pid[order][1:] != pid[order][:-1]])
    ends = np.r_[starts[1:], len(pid)]
    first, second = [], []
    for a, b in zip(starts, ends):
        if b - a < 2:
            continue
        members = np.sort(order[a:b])
        i, j = np.triu_indices(len(members), 1)
        keep = cam[members[i]] != cam[members[j]]
        first.append(members[i][keep])
        second.append(members[j][keep])
    if not first:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(first), np.concatenate(second)


def alignment(features, pose_id, camera_id, alpha: float = 2.0) -> float | None:
    """Mean ``||f(x) - f(y)||^alpha`` over the positive pairs (None when there are none)."""
    z = unit_rows(_matrix(features))
    i, j = positive_pairs(pose_id, camera_id)
    if len(i) == 0:
        return None
    return float((np.linalg.norm(z[i] - z[j], axis=1) ** alpha).mean())


def uniformity(features, t: float = UNIFORMITY_T, block: int = 1024) -> float:
    """``log`` of the mean of ``exp(-t ||f(x) - f(y)||^2)`` over pairs of distinct samples."""
    z = unit_rows(_matrix(features))
    n = len(z)
    total = 0.0  # each term lies in [exp(-4t), 1]: a plain float64 sum neither overflows nor underflows
    for a in range(0, n, block):
        sq = np.clip(2.0 - 2.0 * (z[a:a + block] @ z.T), 0.0, None)  # ||x - y||^2 on the sphere
        e = np.exp(-t * sq)
        rows = np.arange(a, min(a + block, n))
        e[rows - a, rows] = 0.0  # not a sample with itself
        total += float(e.sum())
    return float(np.log(max(total, 0.0) / (n * (n - 1.0))))


def _labels(y, n: int, name: str) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if len(y) != n:
        raise InputError(f"{name}: {len(y)} labels for {n} samples")
    return y


def knn_accuracy(fit_x, fit_y, query_x, query_y, k: int = KNN_K, temperature: float = KNN_TEMPERATURE,
                 block: int = 1024) -> float:
    """Weighted kNN accuracy (see the module docstring): ``fit_x`` (M, d) with labels (M,) vote for
    the labels (Q,) of ``query_x`` (Q, d)."""
    bank, query = unit_rows(_matrix(fit_x, "fit features")), unit_rows(_matrix(query_x, "query features"))
    _, fy = np.unique(np.r_[_labels(fit_y, len(bank), "fit labels"), _labels(query_y, len(query), "labels")],
                      return_inverse=True)
    fy, qy = fy[:len(bank)], fy[len(bank):]
    k = min(int(k), len(bank))
    classes = int(fy.max(initial=0)) + 1
    hits = 0
    for a in range(0, len(query), block):
        sim = query[a:a + block] @ bank.T
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        weight = np.exp(np.take_along_axis(sim, top, axis=1) / temperature)
        votes = np.zeros((len(sim), classes))
        np.add.at(votes, (np.arange(len(sim))[:, None], fy[top]), weight)
        hits += int((votes.argmax(axis=1) == qy[a:a + block]).sum())
    return hits / len(query)


def knn_chance(fit_y, query_y) -> float:
    """``sum_c p_fit(c) p_query(c)``: the accuracy of a label drawn at random from the fit labels."""
    fy, qy = np.asarray(fit_y).reshape(-1), np.asarray(query_y).reshape(-1)
    labels = np.union1d(fy, qy)
    pf = np.array([(fy == c).mean() for c in labels])
    pq = np.array([(qy == c).mean() for c in labels])
    return float(pf @ pq)


def ridge_fit(x, y, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W (d, m), x_mean (d,), y_mean (m,))`` of the ridge regression of ``y`` (N, m) on ``x`` (N, d)."""
    x, y = _matrix(x), np.asarray(y, np.float64).reshape(len(x), -1)
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - xm, y - ym
    gram = xc.T @ xc
    lam = ridge * max(float(np.trace(gram)), 1e-12) / gram.shape[0]
    w = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), xc.T @ yc)
    return w, xm, ym


def probe_pa_mpjpe(fit_x, fit_joints, query_x, query_joints, query_visible=None, ridge: float = RIDGE) -> float:
    """PA-MPJPE (mm) of the ridge probe fitted on ``fit_x`` (M, d) -> ``fit_joints`` (M, J, 3), on
    ``query_x`` (Q, d) against ``query_joints`` (Q, J, 3). Fit samples with a missing joint are left out."""
    from hpe_core.metrics import pa_mpjpe

    fj = np.asarray(fit_joints, np.float64)
    ok = np.isfinite(fj).all(axis=(1, 2))
    if ok.sum() < 2:
        raise InputError("probe: fewer than 2 fit samples with every joint")
    w, xm, ym = ridge_fit(np.asarray(fit_x)[ok], fj[ok].reshape(int(ok.sum()), -1), ridge)
    pred = (_matrix(query_x, "query features") - xm) @ w + ym
    gt = np.asarray(query_joints, np.float64)
    return float(pa_mpjpe(pred.reshape(gt.shape), gt, query_visible))


@dataclass
class HealthRows:
    """What is known about N embedded samples. ``fit`` (N,): True / 1 for the samples kNN and the
    probe learn from, False / 0 for those they are scored on, NaN for neither. Absent columns (None)
    leave their measures None."""

    pose_id: np.ndarray | None = None
    camera_id: np.ndarray | None = None
    label: np.ndarray | None = None     # (N,) int: the kNN label
    joints: np.ndarray | None = None    # (N, J, 3) mm, root-relative
    visible: np.ndarray | None = None   # (N, J) bool
    fit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.fit) if self.fit is not None else 0


def pose_halves(pose_id, seed: int = 0) -> np.ndarray:
    """(N,) bool: True for the samples of a seeded half of the distinct poses (all views of one
    pose fall on the same side, so no sample is scored against its own pose seen by another camera)."""
    pid = np.asarray(pose_id).reshape(-1)
    ids = np.unique(pid)
    chosen = np.random.default_rng(seed).permutation(len(ids))[: (len(ids) + 1) // 2]
    return np.isin(pid, ids[chosen])


def dataset_rows(dataset, indices, label: str | None = "auto", seed: int = 0, fit: np.ndarray | None = None,
                 by_split: bool = True) -> HealthRows:
    """:class:`HealthRows` of the dataset positions ``indices``. ``label``: a dataset label name,
    ``"auto"`` (``action`` when the dataset has it) or None. ``fit``: given, else the training
    split's samples when ``by_split`` and both the training and the test split are among them (the
    test split's are then scored), else :func:`pose_halves`."""
    idx = np.asarray(indices, np.int64)
    pid = np.asarray(dataset.pose_id)[idx] if getattr(dataset, "pose_id", None) is not None else None
    cam = np.asarray(dataset.camera_id)[idx] if getattr(dataset, "camera_id", None) is not None else None
    available = dataset.available_labels()
    name = ("action" if "action" in available else None) if label == "auto" else label
    y = np.asarray(dataset.labels(name)[0])[idx] if name else None
    joints = visible = None
    if getattr(dataset, "joints_3d", None) is not None:
        root = dataset.skeleton.root
        joints = np.asarray(dataset.joints_3d)[idx].astype(np.float64)
        joints = joints - joints[:, root:root + 1]
        visible = np.asarray(dataset.visible)[idx].astype(bool)
    if fit is None:
        fit = _split_fit(dataset, idx) if by_split else None
        if fit is None:
            fit = pose_halves(pid if pid is not None else idx, seed)
    else:
        fit = np.asarray(fit, bool)
    return HealthRows(pid, cam, y, joints, visible, fit)


def _split_fit(dataset, idx: np.ndarray) -> np.ndarray | None:
    """(N,) float: 1 for the training split's rows (fitted), 0 for the test split's (scored), NaN
    for the rest (the validation split: neither); None unless both splits are among ``idx``."""
    train, test = np.isin(idx, dataset.split_indices("train")), np.isin(idx, dataset.split_indices("test"))
    if not train.any() or not test.any():
        return None
    return np.where(train, 1.0, np.where(test, 0.0, np.nan))


def health_measures(features, rows: HealthRows, device="cpu") -> dict[str, float | None]:
    """Every measure of :data:`MEASURES` for the (N, d) ``features`` of the samples ``rows``."""
    x = _matrix(features)
    if len(rows) != len(x):
        raise InputError(f"health: {len(x)} feature rows for {len(rows)} samples")
    out: dict[str, float | None] = dict.fromkeys(MEASURES)
    out.update(rankme=rankme(x), spread=spread(x), uniform=uniformity(x))
    if rows.pose_id is not None and rows.camera_id is not None:
        out["align"] = alignment(x, rows.pose_id, rows.camera_id)
        out.update(_retrieval(x, rows, device))
    fit, scored = _sides(rows.fit)
    if fit.sum() >= 2 and scored.any():
        if rows.label is not None:
            out["knn"] = knn_accuracy(x[fit], rows.label[fit], x[scored], rows.label[scored])
            out["knn_chance"] = knn_chance(rows.label[fit], rows.label[scored])
        if rows.joints is not None:
            vis = rows.visible[scored] if rows.visible is not None else None
            out["probe_pa_mpjpe"] = probe_pa_mpjpe(x[fit], rows.joints[fit], x[scored], rows.joints[scored], vis)
    return out


def describe_measures(measures: dict) -> str:
    """One line of the measures present: ``RankMe 35.8 · spread 0.62 · ... · probe PA-MPJPE 153.6 mm``."""
    parts = []
    for key, title in MEASURES.items():
        value = measures.get(key)
        if value is None or key == "knn_chance":
            continue
        number = f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
        parts.append(f"{title} {number}" + (" mm" if key == "probe_pa_mpjpe" else ""))
    return " · ".join(parts)


def measure_difference(a: dict, b: dict) -> dict[str, float | None]:
    """``a - b`` of each measure both have a value of (None otherwise); see :data:`HIGHER_IS_BETTER`
    for which sign is the better."""
    return {m: (a[m] - b[m] if a.get(m) is not None and b.get(m) is not None else None) for m in MEASURES}


def _sides(fit) -> tuple[np.ndarray, np.ndarray]:
    """``(fit rows, scored rows)`` of a fit mask: bool, or float with NaN for rows in neither."""
    f = np.asarray(fit, float)
    return f == 1.0, f == 0.0


def _retrieval(x: np.ndarray, rows: HealthRows, device) -> dict:
    from hpe_core.analysis.similarity import cross_view_retrieval

    try:
        r = cross_view_retrieval(x, rows.pose_id, rows.camera_id, ks=(1, 5), device=device)
    except InputError:  # no pose seen by two cameras among these samples
        return {}
    return {"xview_top1": r["top1"], "xview_top5": r["top5"]}
