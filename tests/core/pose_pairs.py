"""Seeded (pred, gt) pose pairs for the metric tests: noisy copies, and NaN joints left out."""

import numpy as np


def poses(n=40, j=17, seed=0, noise=40.0):
    rng = np.random.default_rng(seed)
    gt = rng.normal(scale=250.0, size=(n, j, 3))
    return gt + rng.normal(scale=noise, size=gt.shape), gt


def with_nans(pred, gt, seed=1, fraction=0.2):
    rng = np.random.default_rng(seed)
    gt, pred = gt.copy(), pred.copy()
    gt[rng.random(gt.shape[:2]) < fraction] = np.nan
    pred[rng.random(pred.shape[:2]) < fraction / 2] = np.nan
    gt[:, 0], pred[:, 0] = np.abs(gt[:, 0]), np.abs(pred[:, 0])  # keep the root finite
    gt[:, :4] = np.nan_to_num(gt[:, :4], nan=1.0)
    pred[:, :4] = np.nan_to_num(pred[:, :4], nan=2.0)  # >= 4 joints in every sample
    return pred, gt
