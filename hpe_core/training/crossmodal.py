"""Cross-modal figures of UniHPE embeddings and the errors of its inference paths, as sums
(so they add over batches and over processes) and as means.

    sums = cross_modal_sums({"image": e_img, "pose2d": e_2d, "pose3d": e_3d})   # (B, D) each
    means(sums)  # cos_image_pose2d, ..., cos_mean, top1_image_pose3d, top5_..., n_<pair>

``cos_<a>_<b>``: the mean cosine similarity of the two embeddings of one sample;
``top<k>_<a>_<b>``: how often the true partner is among the ``k`` ``b`` embeddings nearest
(cosine) to the ``a`` embedding, among the rows given together (a validation batch, or a whole
evaluation set).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

PAIRS = (("image", "pose2d"), ("image", "pose3d"), ("pose2d", "pose3d"))
PATHS_3D = ("image_to_3d", "pose2d_to_3d")


def cross_modal_sums(emb: dict[str, torch.Tensor], ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Sums of the cosine of matching rows and of top-k retrieval hits for each pair present."""
    out: dict[str, float] = {}
    for a, b in PAIRS:
        if a not in emb or b not in emb:
            continue
        xa, xb = F.normalize(emb[a].float(), dim=1), F.normalize(emb[b].float(), dim=1)
        sim = xa @ xb.T
        truth = sim.diagonal()
        rank = (sim > truth[:, None]).sum(1)  # how many b's are nearer than the partner
        out[f"cos_{a}_{b}"] = float(truth.sum())
        for k in ks:
            out[f"top{k}_{a}_{b}"] = float((rank < k).sum())
        out[f"n_{a}_{b}"] = float(len(xa))
    return out


class PathSums:
    """Error sums of UniHPE's inference paths over batches (mm for 3D; px of the model input for 2D)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}

    def _add(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + float(value)

    def add(self, model, batch: dict) -> None:
        from hpe_core.metrics import epe, pck2d
        from hpe_core.models.families.unihpe import predict_paths
        from hpe_core.training.losses import pose_error_sums

        out = predict_paths(model, batch["image"], batch["joints_2d"])
        target = model.pose3d_target(batch["joints_3d"])  # the frame of the 3D decoder (canonical for fk)
        vis = torch.isfinite(target).all(-1)
        for path in PATHS_3D:
            errs = pose_error_sums(out[path], target, vis)
            self._add(f"{path}_joints", errs["joints"])
            self._add(f"{path}_mpjpe", errs["mpjpe"])
            self._add(f"{path}_pa_mpjpe", errs["pa_mpjpe"])
        p = out["image_to_2d"].detach().double().cpu().numpy()
        g = batch["joints_2d"].detach().double().cpu().numpy()
        v = np.isfinite(g).all(-1)
        rows = v.sum(1) >= 2
        if rows.any():
            self._add("image_to_2d_pck", np.sum(pck2d(p[rows], g[rows], v[rows], fraction=0.05, per_sample=True)))
            self._add("image_to_2d_epe", np.sum(epe(p[rows], g[rows], v[rows], per_sample=True)))
            self._add("image_to_2d_n", rows.sum())


def means(sums: dict[str, float]) -> dict[str, float]:
    """The means of :func:`cross_modal_sums`, :class:`PathSums` and ``loss``/``n`` sums."""
    out: dict[str, float] = {}
    if "loss" in sums:
        out["loss"] = sums["loss"] / max(sums.get("n", 0.0), 1.0)
    cos = []
    for a, b in PAIRS:
        n = sums.get(f"n_{a}_{b}", 0.0)
        if n:
            out[f"cos_{a}_{b}"] = sums[f"cos_{a}_{b}"] / n
            cos.append(out[f"cos_{a}_{b}"])
            for key in sums:
                if key.startswith("top") and key.endswith(f"_{a}_{b}"):
                    out[key] = sums[key] / n
    if cos:
        out["cos_mean"] = float(np.mean(cos))
    for path in PATHS_3D:
        joints = sums.get(f"{path}_joints", 0.0)
        if joints:
            out[f"{path}_mpjpe"] = sums[f"{path}_mpjpe"] / joints
            out[f"{path}_pa_mpjpe"] = sums[f"{path}_pa_mpjpe"] / joints
    if sums.get("image_to_2d_n"):
        out["image_to_2d_pck"] = sums["image_to_2d_pck"] / sums["image_to_2d_n"]
        out["image_to_2d_epe"] = sums["image_to_2d_epe"] / sums["image_to_2d_n"]
    return out
