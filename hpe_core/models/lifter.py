"""Seed 001's 2D -> 3D lifter: the MLP of Martinez et al. (2017), "A simple yet effective baseline".

    2D (N, J, 2) px --normalise--> linear 2J_in -> 1024, BN, ReLU, dropout 0.5
                                   2 x residual [linear, BN, ReLU, dropout] x 2
                                   linear -> 3 J_out --de-normalise--> (N, J, 3) mm, root-relative

The normalisation statistics (per-coordinate mean and standard deviation of the training
split's 2D input and root-relative 3D output) are buffers, so the checkpoint stores them.
``input_joints`` / ``output_joints`` pick the skeleton joints fed in and predicted (default: all
in, all but the root out; the root row of the output is zero). ``max_norm`` projects each linear
layer's rows onto a ball of that L2 norm before every training forward (the Keras max-norm
constraint); Kaiming-normal initialisation as in the paper.

The public PyTorch port (3d_pose_baseline_pytorch, ``LinearModel``) names the same layers ``w1``,
``batch_norm1``, ``linear_stages.<i>.{w1,batch_norm1,w2,batch_norm2}``, ``w2``; :data:`PORT_KEYS`
maps them onto ours. Its 16 input joints are h36m17 without the nose, its 16 output joints
h36m17 without the pelvis.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from hpe_core.errors import InputError
from hpe_core.skeleton import get_skeleton

#: the port's 2D joints (h36m17 without Nose) and 3D joints (without Pelvis), as h36m17 indices
PORT_INPUT = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16)
PORT_OUTPUT = tuple(range(1, 17))
PORT_KEYS = {"w1": "inp", "batch_norm1": "inp_bn", "w2": "out", "linear_stages": "blocks"}
PORT_BLOCK_KEYS = {"w1": "fc1", "batch_norm1": "bn1", "w2": "fc2", "batch_norm2": "bn2"}


class Residual(nn.Module):
    """x + [linear, BN, ReLU, dropout] x 2."""

    def __init__(self, size: int, dropout: float) -> None:
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(size, size), nn.BatchNorm1d(size)
        self.fc2, self.bn2 = nn.Linear(size, size), nn.BatchNorm1d(size)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(torch.relu(self.bn1(self.fc1(x))))
        return x + self.drop(torch.relu(self.bn2(self.fc2(y))))


class Lifter(nn.Module):
    """(N, J, 2) px -> (N, J, 3) mm root-relative (see the module docstring)."""

    family = "lifter"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.backbone_name = None
        self.skeleton: str | None = config["skeleton"]
        self.num_joints = int(config["num_joints"])
        self.root_index = int(config["root_index"])
        self.input_joints = list(config["input_joints"])
        self.output_joints = list(config["output_joints"])
        size, p = int(config["linear_size"]), float(config["dropout"])
        d_in, d_out = 2 * len(self.input_joints), 3 * len(self.output_joints)
        self.inp, self.inp_bn = nn.Linear(d_in, size), nn.BatchNorm1d(size)
        self.drop = nn.Dropout(p)
        self.blocks = nn.ModuleList(Residual(size, p) for _ in range(int(config["num_stage"])))
        self.out = nn.Linear(size, d_out)
        for name, d in (("mean_2d", d_in), ("std_2d", d_in), ("mean_3d", d_out), ("std_3d", d_out)):
            self.register_buffer(name, torch.zeros(d) if name.startswith("mean") else torch.ones(d))
        for m in self.modules():
            if isinstance(m, nn.Linear) and not m.weight.is_meta:
                nn.init.kaiming_normal_(m.weight)
                nn.init.zeros_(m.bias)
        self.train(False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("hidden", "pose")

    @property
    def normalised_output(self) -> bool:
        """True when the model has no 3D statistics (a foreign file without ``--stats``)."""
        return bool(self.config.get("normalised_output"))

    def set_stats(self, mean_2d, std_2d, mean_3d, std_3d) -> None:
        """Store normalisation statistics (flattened per-coordinate vectors; std floored at 1e-6)."""
        for name, value in (("mean_2d", mean_2d), ("std_2d", std_2d), ("mean_3d", mean_3d), ("std_3d", std_3d)):
            t = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
            buf = getattr(self, name)
            if t.shape != buf.shape:
                raise InputError(f"lifter statistics {name}: expected {buf.numel()} values, got {t.numel()}")
            if name.startswith("std"):
                t = t.clamp_min(1e-6)
            buf.copy_(t.to(buf.device))
        self.config["normalised_output"] = False

    def _project_weights(self) -> None:
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    m.weight.copy_(torch.renorm(m.weight, 2, 0, float(self.config["max_norm"])))

    def hidden(self, joints_2d: torch.Tensor) -> torch.Tensor:
        """(N, J, 2) px -> (N, linear_size) features of the last residual block."""
        if joints_2d.ndim != 3 or joints_2d.shape[1:] != (self.num_joints, 2):
            raise InputError(f"lifter: expected 2D joints (N, {self.num_joints}, 2), got {tuple(joints_2d.shape)}")
        if self.training and self.config.get("max_norm"):
            self._project_weights()
        x = joints_2d[:, self.input_joints].reshape(len(joints_2d), -1).float()
        y = self.drop(torch.relu(self.inp_bn(self.inp((x - self.mean_2d) / self.std_2d))))
        for block in self.blocks:
            y = block(y)
        return y

    def normalised(self, joints_2d: torch.Tensor) -> torch.Tensor:
        """(N, 3 J_out) network output in normalised units (what the loss sees)."""
        return self.out(self.hidden(joints_2d))

    def denormalise(self, y: torch.Tensor) -> torch.Tensor:
        """(N, 3 J_out) normalised -> (N, J, 3) mm root-relative, root (and unpredicted joints) zero."""
        y = y * self.std_3d + self.mean_3d
        out = y.new_zeros(len(y), self.num_joints, 3)
        out[:, self.output_joints] = y.reshape(len(y), -1, 3)
        return out

    def normalise_3d(self, joints_3d: torch.Tensor) -> torch.Tensor:
        """(N, J, 3) mm root-relative -> (N, 3 J_out) normalised targets."""
        return (joints_3d[:, self.output_joints].reshape(len(joints_3d), -1) - self.mean_3d) / self.std_3d

    def forward(self, joints_2d: torch.Tensor) -> torch.Tensor:
        return self.denormalise(self.normalised(joints_2d))


def resolve(options: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A lifter config from ``options`` (InputError naming a bad one)."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise InputError(f"lifter model: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(defaults))}")
    cfg = {**defaults, **options}
    if cfg["skeleton"] is not None:
        sk = get_skeleton(cfg["skeleton"])
        cfg["num_joints"], cfg["root_index"] = sk.num_joints, sk.root
    if cfg["num_joints"] is None:
        raise InputError("lifter: give num_joints or a skeleton")
    j, root = int(cfg["num_joints"]), int(cfg["root_index"] or 0)
    cfg["num_joints"], cfg["root_index"] = j, root
    if cfg["input_joints"] is None:
        cfg["input_joints"] = list(range(j))
    if cfg["output_joints"] is None:
        cfg["output_joints"] = [k for k in range(j) if k != root]
    for key in ("input_joints", "output_joints"):
        cfg[key] = [int(k) for k in cfg[key]]
        if not cfg[key] or min(cfg[key]) < 0 or max(cfg[key]) >= j:
            raise InputError(f"lifter {key}: indices must lie in 0..{j - 1}")
    for key in ("linear_size", "num_stage"):
        cfg[key] = int(cfg[key])
    if cfg["linear_size"] < 1 or cfg["num_stage"] < 0 or not 0.0 <= float(cfg["dropout"]) < 1.0:
        raise InputError("lifter: linear_size >= 1, num_stage >= 0 and 0 <= dropout < 1")
    if cfg["max_norm"] is not None and float(cfg["max_norm"]) <= 0:
        raise InputError(f"lifter max_norm {cfg['max_norm']}: must be positive (or null: off)")
    return cfg
