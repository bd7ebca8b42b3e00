"""Representation similarity on plain arrays: linear CKA and cross-view retrieval.

Linear CKA (Kornblith et al. 2019): for column-centred ``X`` (N, p) and ``Y`` (N, q),
``CKA = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)``, in 0..1, 1 for the same representation up
to an orthogonal transform and isotropic scaling. Computed in float64, in feature space when the
widths are at most N and through the (N, N) Gram matrices otherwise (the same number).

Cross-view retrieval: each sample asks for its nearest neighbours (cosine) among the samples
seen by *other* cameras; a hit at k is a neighbour within the first k that shows the same
``pose_id``. Chance is computed exactly for each query from its number of positives.
"""

from __future__ import annotations

import numpy as np

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, ProgressSink, check_cancelled


def linear_cka(x, y) -> float:
    """Linear CKA of (N, p) and (N, q) representations of the same N samples."""
    x, y = _as_2d(x, "x"), _as_2d(y, "y")
    if x.shape[0] != y.shape[0]:
        raise InputError(f"CKA needs the same samples: {x.shape[0]} rows vs {y.shape[0]}")
    if x.shape[0] < 2:
        raise InputError("CKA needs at least 2 samples")
    x = x - x.mean(0)
    y = y - y.mean(0)
    n = x.shape[0]
    if max(x.shape[1], y.shape[1]) <= n:
        cross = np.linalg.norm(y.T @ x) ** 2
        norm = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    else:
        kx, ky = x @ x.T, y @ y.T
        cross = float((kx * ky).sum())
        norm = np.linalg.norm(kx) * np.linalg.norm(ky)
    return float(cross / norm) if norm > 0 else 0.0


def _as_2d(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        a = a.reshape(a.shape[0], -1)
    if not np.all(np.isfinite(a)):
        raise InputError(f"CKA: {name} contains NaN or infinite values")
    return a


def cka_matrix(features_a: dict, features_b: dict, progress: ProgressSink | None = None):
    """CKA of every layer of A against every layer of B.

    features_a / features_b: {layer: (N, d)} on the same samples. Returns
    ``(names_a, names_b, matrix (len(a), len(b)))``.
    """
    progress = progress or NullProgress()
    names_a, names_b = list(features_a), list(features_b)
    out = np.zeros((len(names_a), len(names_b)))
    for i, a in enumerate(names_a):
        for j, b in enumerate(names_b):
            check_cancelled(progress)
            out[i, j] = linear_cka(features_a[a], features_b[b])
        progress.set_progress((i + 1) / max(len(names_a), 1))
    return names_a, names_b, out


def cross_view_retrieval(features, pose_id, camera_id, ks=(1, 5), device="cpu", block: int = 2048,
                         progress: ProgressSink | None = None) -> dict:
    """Share of queries whose top-k cosine neighbours on other cameras include the same pose.

    features (N, d), pose_id (N,), camera_id (N,). Only queries with at least one positive (the
    same pose seen by another camera) count. Returns ``{"top1": ..., "top5": ..., "chance_top1":
    ..., "chance_top5": ..., "queries": Q, "candidates_mean": M}``.
    """
    import torch

    from hpe_core.analysis.clustering import writable_float32

    progress = progress or NullProgress()
    x, pid, cam = _retrieval_inputs(features, pose_id, camera_id)
    ks = tuple(sorted({int(k) for k in ks}))
    dev = torch.device(device)
    f = torch.nn.functional.normalize(torch.from_numpy(writable_float32(x)).to(dev), dim=1)
    p, c = torch.as_tensor(pid, device=dev), torch.as_tensor(cam, device=dev)
    tally = _Tally(ks)
    for a in range(0, len(x), block):
        check_cancelled(progress)
        b = min(a + block, len(x))
        tally.add_block(f, p, c, a, b)
        progress.set_progress(b / len(x))
    return tally.result()


def _retrieval_inputs(features, pose_id, camera_id) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(features)
    pid, cam = np.asarray(pose_id).reshape(-1), np.asarray(camera_id).reshape(-1)
    if x.ndim != 2 or not (len(x) == len(pid) == len(cam)):
        raise InputError(f"retrieval: features {x.shape}, pose_id {pid.shape} and camera_id {cam.shape} disagree")
    return x, pid, cam


class _Tally:
    """Hits, chance and counts of the retrieval, summed over blocks of queries."""

    def __init__(self, ks: tuple[int, ...]) -> None:
        self.ks = ks
        self.hits = {k: 0 for k in ks}
        self.chance = {k: 0.0 for k in ks}
        self.queries, self.candidates = 0, 0

    def add_block(self, f, p, c, a: int, b: int) -> None:
        """Queries ``a:b`` of the unit features ``f`` against all, ``p`` pose and ``c`` camera ids."""
        import torch

        sim = f[a:b] @ f.T
        other = c[a:b, None] != c[None, :]
        positive = other & (p[a:b, None] == p[None, :])
        valid = positive.any(1)
        sim = sim.masked_fill(~other, float("-inf"))
        top = sim.topk(min(max(self.ks), len(f)), dim=1).indices
        found = torch.gather(positive, 1, top)
        m, total = positive.sum(1).double(), other.sum(1).double()
        for k in self.ks:
            self.hits[k] += int((found[:, :k].any(1) & valid).sum())
            self.chance[k] += float(_chance(m, total, k)[valid].sum())
        self.queries += int(valid.sum())
        self.candidates += int(total[valid].sum())

    def result(self) -> dict:
        if self.queries == 0:
            raise InputError("retrieval: no pose is seen by two cameras, so there is nothing to retrieve")
        out = {f"top{k}": self.hits[k] / self.queries for k in self.ks}
        out.update({f"chance_top{k}": self.chance[k] / self.queries for k in self.ks})
        out.update({"queries": self.queries, "candidates_mean": self.candidates / self.queries})
        return out


def _chance(m, total, k: int):
    """P(a random ranking of ``total`` candidates with ``m`` positives has one in its first k)."""
    import torch

    # 1 - C(total - m, k) / C(total, k) = 1 - prod_{i<k} (total - m - i) / (total - i)
    miss = torch.ones_like(m)
    for i in range(k):
        miss = miss * ((total - m - i).clamp_min(0) / (total - i).clamp_min(1))
    return 1.0 - miss
