"""Learning-rate schedules as pure functions of the optimizer step.

A schedule has no state of its own: the factor at step ``s`` depends only on ``s`` and the
run's shape, so a resumed run continues exactly by knowing its step. Periods are given in
epochs (as in the seed report: cosine annealing with ``T_max`` 25 epochs) and converted with
``steps_per_epoch``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """Multiplier of the base learning rates at each optimizer step.

    - ``constant``: 1 (after warm-up);
    - ``cosine``: ``eta_min + (1 - eta_min) (1 + cos(pi t / T_max)) / 2`` with ``t`` the step
      since the end of warm-up and ``T_max`` in steps (``torch``'s ``CosineAnnealingLR`` per step;
      past ``T_max`` it rises again, as torch's does);
    - ``step``: 1, then ``gamma`` from epoch ``step_epoch`` on (seed 001: 1e-3 -> 1e-4);
    - ``exponential``: ``decay_rate ** (t / decay_steps)`` (seed 001's continuous decay);
    - warm-up: a linear ramp from ``1 / warmup_steps`` to 1 over the first ``warmup_steps``.
    """

    name: str = "constant"
    steps_per_epoch: int = 1
    t_max_epochs: float = 1.0
    eta_min: float = 0.0
    warmup_epochs: float = 0.0
    step_epoch: float | None = None
    gamma: float = 0.1
    decay_rate: float = 0.1
    decay_epochs: float = 1.0

    @property
    def warmup_steps(self) -> int:
        return int(round(self.warmup_epochs * self.steps_per_epoch))

    @property
    def t_max_steps(self) -> float:
        return max(self.t_max_epochs * self.steps_per_epoch, 1.0)

    def factor(self, step: int) -> float:
        """Multiplier for the update made at optimizer step ``step`` (0-based)."""
        warm = self.warmup_steps
        if step < warm:
            return (step + 1) / warm
        if self.name == "constant":
            return 1.0
        t = step - warm
        if self.name == "step":  # seed 001: 1e-3, then 1e-4 once validation has flattened
            return self.gamma if step >= self.step_epoch * self.steps_per_epoch else 1.0
        if self.name == "exponential":  # seed 001: decay_rate ** (t / decay steps), continuous
            return self.decay_rate ** (t / max(self.decay_epochs * self.steps_per_epoch, 1.0))
        return self.eta_min + (1.0 - self.eta_min) * (1.0 + math.cos(math.pi * t / self.t_max_steps)) / 2.0


def make_schedule(config, steps_per_epoch: int) -> Schedule:
    """The :class:`Schedule` of a :class:`~hpe_core.training.config.Config`."""
    s = config.schedule
    t_max = s.t_max if s.t_max is not None else max(config.train.epochs - s.warmup_epochs, 1e-9)
    decay = s.decay_epochs if s.decay_epochs is not None else max(config.train.epochs - s.warmup_epochs, 1e-9)
    return Schedule(name=s.name, steps_per_epoch=steps_per_epoch, t_max_epochs=float(t_max),
                    eta_min=s.eta_min, warmup_epochs=s.warmup_epochs, step_epoch=s.step_epoch,
                    gamma=s.gamma, decay_rate=s.decay_rate, decay_epochs=float(decay))


def apply_lr(optimizer, schedule: Schedule, step: int) -> float:
    """Set every param group's ``lr`` to its ``initial_lr`` x factor; return the first group's lr."""
    factor = schedule.factor(step)
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * factor
    return optimizer.param_groups[0]["lr"] if optimizer.param_groups else 0.0
