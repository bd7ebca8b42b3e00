"""COCO keypoint AP / AR as ``pycocotools``' ``COCOeval`` (iouType "keypoints") computes them.

OKS of a detection ``d`` and a person ``g`` (``computeOks``): over ``g``'s labelled keypoints,
``mean(exp(-|d_k - g_k|^2 / (2 (2 sigma_k)^2 (area_g + eps))))``. Per image, the detections (best
score first, at most :data:`MAX_DETS`) are matched greedily at each OKS threshold to the unmatched
person of highest OKS, a person inside the area range before one outside it (``evaluateImg``);
over all images the detections sorted by score give precision / recall, AP is the mean of the
interpolated precision at the 101 recall points and AR the last recall, averaged over the 10
thresholds 0.50:0.05:0.95 (``accumulate`` / ``summarize``). A detection's area is its keypoints'
box, a person's the annotation's ``area``. Vectorised over images (padded to the most people of an
image) and thresholds; the greedy loop runs over the detections of an image (at most 20).
"""

from __future__ import annotations

import numpy as np

COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
OKS_THRESHOLDS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1)
RECALL_POINTS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1)
AREA_RANGES = {"all": (0.0, 1e5 ** 2), "medium": (32.0 ** 2, 96.0 ** 2), "large": (96.0 ** 2, 1e5 ** 2)}
MAX_DETS = 20
IMAGES_AT_ONCE = 256


def oks(det: np.ndarray, gt: np.ndarray, labelled: np.ndarray, area: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """``(..., D, G)`` OKS of detections ``(..., D, K, 2)`` and people ``(..., G, K, 2)`` with their
    labelled keypoints ``(..., G, K)`` and areas ``(..., G)`` (every person has a labelled keypoint)."""
    var = (np.asarray(sigmas, np.float64) * 2) ** 2
    d2 = ((det[..., :, None, :, :] - gt[..., None, :, :, :]) ** 2).sum(axis=-1)  # (..., D, G, K)
    e = d2 / var / (area[..., None, :, None] + np.spacing(1)) / 2
    lab = labelled[..., None, :, :]
    return np.where(lab, np.exp(-e), 0.0).sum(axis=-1) / np.maximum(lab.sum(axis=-1), 1)


def det_areas(det: np.ndarray) -> np.ndarray:
    """``(N,)`` area of each detection's keypoint box, as ``COCO.loadRes`` sets it."""
    span = det.max(axis=1) - det.min(axis=1)
    return span[:, 0] * span[:, 1]


def coco_ap_ar(det, scores, det_image, gt, labelled, area, gt_image, sigmas=COCO_SIGMAS,
               area_range=AREA_RANGES["all"]) -> dict:
    """``{"ap", "ap50", "ap75", "ar", "ar50", "ar75"}`` of detections ``det`` ``(D, K, 2)`` px with
    ``scores`` ``(D,)`` on images ``det_image`` ``(D,)`` against people ``gt`` ``(G, K, 2)``,
    ``labelled`` ``(G, K)``, ``area`` ``(G,)``, ``gt_image`` ``(G,)``; NaN when no person is in range."""
    det, gt = np.asarray(det, np.float64), np.asarray(gt, np.float64)
    images = np.unique(np.concatenate([det_image, gt_image]))
    d_img, g_img = np.searchsorted(images, det_image), np.searchsorted(images, gt_image)
    # detections: by image, then best score first (stable), the first MAX_DETS of each image
    d_order = np.lexsort((-np.asarray(scores, np.float64), d_img))
    d_rank = _rank_in_group(d_img[d_order])
    d_order = d_order[d_rank < MAX_DETS]
    d_rank = d_rank[d_rank < MAX_DETS]
    g_order = np.argsort(g_img, kind="stable")
    g_rank = _rank_in_group(g_img[g_order])
    g_ignore = (area < area_range[0]) | (area > area_range[1])
    matched = np.zeros((len(OKS_THRESHOLDS), len(d_order)), bool)
    ignored = np.zeros_like(matched)
    for lo in range(0, len(images), IMAGES_AT_ONCE):
        _match_images(lo, min(lo + IMAGES_AT_ONCE, len(images)), det, gt, labelled, area, g_ignore, sigmas,
                      (d_order, d_img, d_rank), (g_order, g_img, g_rank), matched, ignored)
    outside = (lambda a: (a < area_range[0]) | (a > area_range[1]))(det_areas(det[d_order]))
    ignored |= ~matched & outside[None, :]
    return _accumulate(np.asarray(scores, np.float64)[d_order], matched, ignored, int((~g_ignore).sum()))


def _rank_in_group(sorted_groups: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal values of a sorted array."""
    if not len(sorted_groups):
        return np.zeros(0, np.int64)
    start = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(sorted_groups)]))
    return np.arange(len(sorted_groups)) - first


def _padded(order, img, rank, lo, hi):
    """``(rows (I, M) or -1, present (I, M))`` of the elements of images ``lo:hi`` (``order`` sorted by image)."""
    sel = (img[order] >= lo) & (img[order] < hi)
    width = int(rank[sel].max()) + 1 if sel.any() else 1
    rows = np.full((hi - lo, width), -1)
    rows[img[order][sel] - lo, rank[sel]] = order[sel]
    return rows, rows >= 0


def _match_images(lo, hi, det, gt, labelled, area, g_ignore, sigmas, d, g, matched, ignored) -> None:
    """COCOeval's ``evaluateImg`` greedy matching of images ``lo:hi`` at every threshold at once."""
    d_rows, d_ok = _padded(*d, lo, hi)
    g_rows, g_ok = _padded(*g, lo, hi)
    d_pos = np.full(d_rows.shape, -1)  # each padded detection's position in the sorted list
    sel = (d[1][d[0]] >= lo) & (d[1][d[0]] < hi)
    d_pos[d[1][d[0]][sel] - lo, d[2][sel]] = np.flatnonzero(sel)
    o = oks(det[d_rows], gt[g_rows], labelled[g_rows] & g_ok[..., None], area[g_rows], sigmas)  # (I, D, G)
    g_ign = g_ignore[g_rows]
    thr = np.minimum(OKS_THRESHOLDS, 1 - 1e-10)[:, None, None]
    taken = np.zeros((len(thr),) + g_rows.shape, bool)  # (T, I, G)
    width = g_rows.shape[1]
    for k in range(d_rows.shape[1]):
        cand = np.broadcast_to(o[:, k, :], taken.shape)
        ok = (cand >= thr) & ~taken & g_ok & d_ok[:, k][None, :, None]
        real = ok & ~g_ign
        pick = np.where(real.any(axis=-1, keepdims=True), real, ok & g_ign)
        hit = pick.any(axis=-1)  # (T, I)
        best = width - 1 - np.argmax(np.where(pick, cand, -np.inf)[..., ::-1], axis=-1)  # the last of the best
        t_idx, i_idx = np.nonzero(hit)
        taken[t_idx, i_idx, best[t_idx, i_idx]] = True
        pos = d_pos[i_idx, k]
        matched[t_idx, pos] = True
        ignored[t_idx, pos] = g_ign[i_idx, best[t_idx, i_idx]]


def _accumulate(scores: np.ndarray, matched: np.ndarray, ignored: np.ndarray, people: int) -> dict:
    order = np.argsort(-scores, kind="mergesort")
    tp = np.cumsum(matched[:, order] & ~ignored[:, order], axis=1).astype(np.float64)
    fp = np.cumsum(~matched[:, order] & ~ignored[:, order], axis=1).astype(np.float64)
    if people == 0:
        return {k: float("nan") for k in ("ap", "ap50", "ap75", "ar", "ar50", "ar75")}
    n = tp.shape[1]
    precision = np.zeros((len(OKS_THRESHOLDS), len(RECALL_POINTS)))
    recall = np.zeros(len(OKS_THRESHOLDS))
    for t in range(len(OKS_THRESHOLDS)):
        if not n:
            continue
        rc = tp[t] / people
        pr = tp[t] / (fp[t] + tp[t] + np.spacing(1))
        pr = np.maximum.accumulate(pr[::-1])[::-1]  # the precision envelope
        at = np.searchsorted(rc, RECALL_POINTS, side="left")
        precision[t] = np.where(at < n, pr[np.minimum(at, n - 1)], 0.0)
        recall[t] = rc[-1]
    return {"ap": float(precision.mean()), "ap50": float(precision[0].mean()), "ap75": float(precision[5].mean()),
            "ar": float(recall.mean()), "ar50": float(recall[0]), "ar75": float(recall[5])}


def score_coco(det, scores, det_image, gt, labelled, area, gt_image, sigmas=COCO_SIGMAS,
               keypoint_names: tuple[str, ...] = (), det_person=None) -> dict:
    """AP / AR overall and per object size, and AP / AR per keypoint: each keypoint's OKS alone, over
    the people in whom it is labelled and their detections (``det_person`` ``(D,)``: the person each
    detection was made for, -1 for none; default: detection ``i`` is person ``i``'s)."""
    args = (det, scores, det_image, gt, labelled, area, gt_image, sigmas)
    out = dict(coco_ap_ar(*args))
    for size in ("medium", "large"):
        sized = coco_ap_ar(*args, area_range=AREA_RANGES[size])
        out[f"ap_{size}"], out[f"ar_{size}"] = sized["ap"], sized["ar"]
    owner = np.arange(len(det)) if det_person is None else np.asarray(det_person)
    per = {}
    for k in range(gt.shape[1]):
        people = np.flatnonzero(labelled[:, k])
        if not len(people):
            continue
        dets = np.flatnonzero(np.isin(owner, people))
        one = coco_ap_ar(det[dets][:, [k]], scores[dets], det_image[dets], gt[people][:, [k]],
                         labelled[people][:, [k]], area[people], gt_image[people], np.asarray(sigmas)[[k]])
        per[keypoint_names[k] if keypoint_names else str(k)] = {"ap": one["ap"], "ar": one["ar"]}
    return {"metrics": out, "keypoints": per, "samples": int(len(gt))}
