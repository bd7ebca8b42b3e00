"""Seed 003: the VAE lifter, trained from 2D poses alone (or, with ``vae.supervised``, from 3D labels).

Unsupervised step (the thesis): encode the normalised 2D pose, sample the latent, decode a
root-relative 3D pose; rotate it about the vertical axis by a random angle and re-project it; the
discriminator learns to tell those projections from real 2D poses (a step of its own, gradient norm
clipped to ``vae.disc_grad_clip``); the generator (encoder + decoder) minimises
``lambda_recon * |project(pose) - input 2D|^2 + beta * KL + lambda_disc * BCE(D(projection), real)``
(norm clipped to ``vae.gen_grad_clip``, values to ``vae.grad_value_clip``), beta cycling as
:func:`~hpe_core.training.vae_objective.cyclic_beta` says. Inputs are flipped horizontally with
left/right joints swapped with probability ``vae.flip_prob``. No 3D label is read for training:
the training items hold 2D joints only (``dataset.joints_3d`` is never touched by them).

Validation (3D labels used for the figures only): ``mpjpe`` (the mean hypothesis in mm through the
``vae.unit_mm`` prior), ``n_mpjpe`` (scale-aligned), ``pa_mpjpe``, the same of the best of
``vae.hypotheses`` sampled hypotheses (``bh_*``, an oracle pick per sample), ``recon``, ``kl``,
``loss``; and a histogram of the per-joint errors (scale-aligned, mm) of the mean hypothesis,
returned under ``"histograms"`` for the loop to log. ``monitor``: ``loss`` unsupervised (no 3D
label picks the best checkpoint), ``pa_mpjpe`` supervised.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hpe_core.errors import InputError
from hpe_core.losses import vae_kl
from hpe_core.models.vae_lifter import VAELifter, drop_root, normalise_2d, reparameterise, resolve_config
from hpe_core.training import vae_objective as V
from hpe_core.training.tasks.base import Task, to_device
from hpe_core.training.tasks.vae_lift_options import VAE_LIFT

HIST_EDGES_MM = tuple(float(x) for x in np.linspace(0.0, 400.0, 21))  # the last bin also counts larger errors
ALIGNS = {"mpjpe": "none", "n_mpjpe": "scale", "pa_mpjpe": "similarity"}


class PoseItems(torch.utils.data.Dataset):
    """Normalised 2D poses of ``indices`` (and, where given, root-relative 3D targets in mm)."""

    def __init__(self, pose2d: torch.Tensor, visible: torch.Tensor, index: torch.Tensor,
                 flip: torch.Tensor | None = None, flip_prob: float = 0.0,
                 joints_3d: torch.Tensor | None = None, action: torch.Tensor | None = None) -> None:
        self.pose2d, self.visible, self.index, self.joints_3d = pose2d, visible, index, joints_3d
        self.flip, self.flip_prob, self.action = flip, flip_prob, action

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        item = {"pose2d": self.pose2d[i], "visible": self.visible[i], "index": self.index[i]}
        if self.joints_3d is not None:
            item["joints_3d"] = self.joints_3d[i]
        if self.action is not None:
            item["action"] = self.action[i]
        if self.flip is not None and self.flip_prob > 0 and float(torch.rand(())) < self.flip_prob:
            perm = self.flip
            item["pose2d"] = item["pose2d"][perm] * torch.tensor([-1.0, 1.0])
            item["visible"] = item["visible"][perm]
            if "joints_3d" in item:
                item["joints_3d"] = item["joints_3d"][perm] * torch.tensor([-1.0, 1.0, 1.0])
        return item


class VAELiftTask(Task):
    info = VAE_LIFT

    def __init__(self, config, dataset, device) -> None:
        super().__init__(config, dataset, device)
        self.skeleton = dataset.skeleton
        self.vae = config.vae
        self.supervised = bool(self.vae.supervised)
        self.monitor = "pa_mpjpe" if self.supervised else "loss"
        if self.supervised and not dataset.has("joints_3d"):
            raise InputError(f"data.path {dataset.path}: a 2D-only dataset; vae.supervised needs 3D joints "
                             "(set vae.supervised: false to train from 2D alone)")
        self._epoch = 0

    # -- model ------------------------------------------------------------------------
    def build_model(self) -> nn.Module:
        v = self.vae
        self.model = VAELifter(resolve_config(skeleton=self.skeleton.name, neurons=v.neurons,
                                              latent_dim=v.latent_dim, tanh_scale=v.tanh_scale,
                                              depth=v.depth, unit_mm=v.unit_mm, pose_head=v.pose_head))
        return self.model

    def net(self, model: nn.Module) -> nn.Module:
        return model

    def param_groups(self, model: nn.Module, head_lr: float, encoder_lr: float) -> list[dict]:
        """One group per player: ``generator`` (encoder + decoder) and ``discriminator``, both at
        ``optim.lr``. Adam keeps per-parameter state, so one Adam over both is two Adams."""
        groups = [{"params": model.generator_parameters(), "lr": head_lr, "name": "generator"}]
        if not self.supervised:
            groups.append({"params": list(model.discriminator.parameters()), "lr": head_lr,
                           "name": "discriminator"})
        return groups

    # -- data -------------------------------------------------------------------------
    def _items(self, indices: np.ndarray, train: bool) -> PoseItems:
        d, root = self.dataset, self.skeleton.root
        j2 = torch.from_numpy(np.asarray(d.joints_2d[indices], dtype=np.float32))
        vis = torch.from_numpy(np.asarray(d.visible[indices], dtype=bool))
        pose2d, _ = normalise_2d(j2, vis, root)
        vis = vis & torch.isfinite(j2).all(dim=-1)
        j3 = action = None
        if self.supervised or (not train and self.dataset.has("joints_3d")):  # supervised, or the figures
            j3 = torch.from_numpy(np.asarray(d.joints_3d[indices], dtype=np.float32))
            j3 = j3 - j3[:, root:root + 1]
            vis = vis & torch.isfinite(j3).all(dim=-1)
            j3 = torch.nan_to_num(j3)
        if not train:
            action = torch.from_numpy(np.asarray(d.action[indices], dtype=np.int64))
        flip = torch.from_numpy(self.skeleton.flip_permutation) if train else None
        return PoseItems(pose2d, vis, torch.from_numpy(np.asarray(indices, dtype=np.int64)), flip,
                         self.vae.flip_prob if train else 0.0, j3, action)

    def train_items(self):
        return self._items(self.train_indices, train=True)

    def eval_items(self, split: str = "val"):
        return self._items({"val": self.val_indices, "test": self.test_indices}[split], train=False)

    def collate(self):
        from torch.utils.data import default_collate

        return default_collate

    # -- training ---------------------------------------------------------------------
    owns_step = True  # the loop calls train_step instead of loss/backward/step

    def beta(self, epoch: int) -> float:
        v = self.vae
        return V.cyclic_beta(epoch, v.lambda_kld, v.beta_cycle, v.beta_warmup, v.beta_hold)

    def train_step(self, net: nn.Module, batch: dict, optimizer, epoch: int, check) -> torch.Tensor:
        """One update of both players; ``check(loss)`` raises before a non-finite update."""
        model, v = _inner(net), self.vae
        batch = to_device(batch, self.device)
        x, valid = batch["pose2d"], batch["visible"]
        mu, logvar = model.encode(x)
        pose = model.decode(reparameterise(mu, logvar))
        kl = vae_kl(mu, logvar) * self.beta(epoch)
        if self.supervised:
            target = batch["joints_3d"] / v.unit_mm
            loss = v.lambda_recon * V.pose3d_loss(pose, target, valid) + kl
            self._update(optimizer, loss, model.generator_parameters(), v.gen_grad_clip, v.grad_value_clip, check)
            return loss.detach()
        fake = V.project(V.random_vertical_rotation(pose)[0], v.depth)
        disc = model.discriminator
        d_loss = V.discriminator_loss(disc(drop_root(x, model.root_index)),
                                      disc(drop_root(fake.detach(), model.root_index)))
        self._update(optimizer, d_loss, list(disc.parameters()), v.disc_grad_clip, None, check)
        adv = V.adversarial_loss(disc(drop_root(fake, model.root_index)))
        loss = v.lambda_recon * V.reprojection_loss(pose, x, valid, v.depth) + kl + v.lambda_disc * adv
        self._update(optimizer, loss, model.generator_parameters(), v.gen_grad_clip, v.grad_value_clip, check)
        return loss.detach()

    @staticmethod
    def _update(optimizer, loss: torch.Tensor, params: list, norm: float | None, value: float | None,
                check) -> None:
        """Backward ``loss`` and step ``params`` only: every other gradient is dropped (set to
        None), so Adam leaves those parameters and their moments untouched."""
        check(loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        keep = {id(p) for p in params}
        for group in optimizer.param_groups:
            for p in group["params"]:
                if id(p) not in keep:
                    p.grad = None
        if value:
            torch.nn.utils.clip_grad_value_(params, value)
        if norm:
            torch.nn.utils.clip_grad_norm_(params, norm)
        optimizer.step()

    # -- evaluation -------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, net: nn.Module, loader, reduce) -> dict:
        model, v = _inner(net), self.vae
        k = max(int(v.hypotheses), 0)
        names = [*ALIGNS, *(f"bh_{n}" for n in ALIGNS)]
        sums = {"n": 0.0, "joints": 0.0, "recon": 0.0, "kl": 0.0, "adv": 0.0, "pose3d": 0.0,
                **{n: 0.0 for n in names}, **{f"hist_{i}": 0.0 for i in range(len(HIST_EDGES_MM) - 1)}}
        for batch in loader:
            n = int(batch["index"].shape[0])
            if n == 0:
                continue
            batch = to_device(batch, self.device)
            x, valid, gt = batch["pose2d"], batch["visible"], batch.get("joints_3d")
            out = model(x, hypotheses=k if gt is not None else 0)
            sums["n"] += n
            sums["recon"] += float(V.reprojection_loss(out["pose"], x, valid, v.depth)) * n
            sums["kl"] += float(vae_kl(out["mu"], out["logvar"])) * n
            fake = V.project(V.random_vertical_rotation(out["pose"])[0], v.depth)
            sums["adv"] += float(V.adversarial_loss(model.discriminator(drop_root(fake, model.root_index)))) * n
            if gt is not None:  # the figures (a 2D-only dataset has none)
                sums["pose3d"] += float(V.pose3d_loss(out["pose"], gt / v.unit_mm, valid)) * n
                _add_errors(sums, out["pose"] * v.unit_mm, out.get("hypotheses"), gt, valid, v.unit_mm)
        return _finish(reduce(sums), v)

    def final_metrics(self, net: nn.Module, loader_for, reduce) -> dict:
        if not len(self.test_indices) or not self.dataset.has("joints_3d"):
            return {}
        test = self.evaluate(net, loader_for("test"), reduce)
        test.pop("histograms", None)
        base = mean_pose_baseline(self.dataset, self.train_indices, self.test_indices, self.skeleton.root)
        out = {"test": test, "baseline_test": base}
        if base.get("pa_mpjpe"):
            out["pa_mpjpe_gain_over_baseline"] = 1.0 - test["pa_mpjpe"] / base["pa_mpjpe"]
        return out


def _add_errors(sums: dict, pose_mm, hyps, gt, valid, unit_mm: float) -> None:
    """Add the per-joint error sums of the mean pose and the best hypothesis, and the histogram."""
    from hpe_core.metrics import best_hypothesis, pjpe

    g = gt.double().cpu().numpy()
    m = valid.cpu().numpy().astype(bool)
    rows = m.any(axis=1)
    g, m = g[rows], m[rows]
    if not rows.any():
        return
    p = pose_mm.double().cpu().numpy()[rows]
    sums["joints"] += float(m.sum())
    for name, align in ALIGNS.items():
        err = pjpe(p, g, m, align=align)
        sums[name] += float(np.nansum(err))
        if name == "n_mpjpe":
            counts, _ = np.histogram(np.clip(err[m], 0, HIST_EDGES_MM[-1] - 1e-9), bins=HIST_EDGES_MM)
            for i, c in enumerate(counts):
                sums[f"hist_{i}"] += float(c)
    if hyps is None:
        return
    h = (hyps * unit_mm).double().cpu().numpy()[rows]  # (n, K, J, 3)
    for name, align in ALIGNS.items():
        sums[f"bh_{name}"] += float(np.nansum(best_hypothesis(h, g, m, align=align)[0]))


def _finish(sums: dict, v) -> dict:
    n, joints = max(sums["n"], 1.0), sums["joints"]
    out = {name: sums[name] / joints if joints else None for name in (*ALIGNS, *(f"bh_{a}" for a in ALIGNS))}
    out.update(recon=sums["recon"] / n, kl=sums["kl"] / n, adv=sums["adv"] / n,
               pose3d=sums["pose3d"] / n if joints else None)
    out["loss"] = (v.lambda_recon * out["pose3d"] + v.lambda_kld * out["kl"] if v.supervised else
                   v.lambda_recon * out["recon"] + v.lambda_kld * out["kl"] + v.lambda_disc * out["adv"])
    if not joints:
        return out
    counts = [sums[f"hist_{i}"] for i in range(len(HIST_EDGES_MM) - 1)]
    out["histograms"] = {"pjpe": {"edges_mm": list(HIST_EDGES_MM), "counts": counts, "align": "scale",
                                  "of": "per-joint errors of the mean hypothesis (last bin: and above)"}}
    return out


def mean_pose_baseline(dataset, train: np.ndarray, test: np.ndarray, root: int) -> dict[str, float]:
    """Errors (mm) of always predicting the training split's mean root-relative pose on ``test``."""
    from hpe_core.metrics import pjpe

    def rel(idx):
        j = np.asarray(dataset.joints_3d[idx], dtype=np.float64)
        return j - j[:, root:root + 1]

    with np.errstate(invalid="ignore"):
        mean = np.nan_to_num(np.nanmean(rel(train), axis=0))
    g = rel(test)
    m = np.asarray(dataset.visible[test], dtype=bool) & np.isfinite(g).all(axis=-1)
    rows = m.any(axis=1)
    p = np.broadcast_to(mean, g.shape)[rows]
    return {name: float(np.nanmean(pjpe(p, g[rows], m[rows], align=align))) for name, align in ALIGNS.items()}


def _inner(net: nn.Module) -> nn.Module:
    return getattr(net, "module", net)
