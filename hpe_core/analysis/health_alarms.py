"""Alarms on the live health measures of a training run, and the ``health`` config section.

A contrastive or UniHPE run logs, at every validation, the measures of :mod:`.health` for a fixed
subset of validation samples as ``health.<layer>.<measure>`` (e.g. ``health.encoder.rankme``).
:func:`alarms_at` reads a run's history (one dict of metrics per epoch) and returns the alarms
that hold at an epoch; the rules and their thresholds are the fields of :class:`HealthOptions`
(the config's ``health`` section: ``--set health.spread_min=0.2``):

- ``collapse``: a layer's spread (``sqrt(d)`` x the std of its L2-normalised features) below
  ``spread_min`` (1 is isotropic, 0 a single point; lightly's collapse level is ``1 - spread``), or
  its RankMe below ``rank_min`` x the most it can be (``min(samples, d)``, logged as ``rank_max``):
  features spread over a few directions only (dimensional collapse);
- ``rank``: RankMe below ``(1 - rankme_drop)`` x the best it reached earlier in the run;
- ``uniformity``: uniformity above ``uniform_max`` (it rises towards 0 as the features gather);
- ``knn``: kNN accuracy below the chance of a random neighbour plus ``knn_margin``.

The loop emits an alarm as a ``log`` event (level ``warning``, with an ``alarm`` object) the
epoch it starts to hold (:func:`new_alarms`); ``hpe train`` prints it, the training panel shows it
on the job's row and in the message bar. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hpe_core.errors import InputError

PREFIX = "health."


@dataclass(frozen=True)
class HealthOptions:
    """The ``health`` config section: the live measures' subset and the alarm rules."""

    samples: int = 1024  # validation samples measured at each validation (0: no live measures)
    spread_min: float = 0.1  # collapse: spread below this
    rank_min: float = 0.05  # collapse: RankMe below this share of min(samples, d)
    rankme_drop: float = 0.5  # rank: RankMe below (1 - this) x its best so far
    uniform_max: float = -0.1  # uniformity: above this (0 is a single point)
    knn_margin: float = 0.0  # knn: below chance + this

    def validate(self) -> None:
        if self.samples < 0 or self.samples == 1:
            raise InputError(f"health.samples: 0 (off) or at least 2, got {self.samples}")
        if not 0.0 < self.rankme_drop < 1.0:
            raise InputError(f"health.rankme_drop: a share between 0 and 1, got {self.rankme_drop}")
        if self.spread_min < 0 or not 0 <= self.rank_min < 1:
            raise InputError(f"health.spread_min, health.rank_min: spread_min 0 or more, rank_min a share "
                             f"below 1; got {self.spread_min}, {self.rank_min}")


@dataclass(frozen=True)
class Alarm:
    rule: str  # "collapse" | "rank" | "uniformity" | "knn"
    measure: str  # what crossed its threshold: "spread" | "rankme" | "uniform" | "knn"
    layer: str
    epoch: int  # 1-based
    value: float
    threshold: float
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def health_series(history: list[dict]) -> dict[str, dict[str, list]]:
    """``{layer: {measure: [value per epoch (None where absent)]}}`` of a run's history."""
    out: dict[str, dict[str, list]] = {}
    for k, entry in enumerate(history):
        for key, value in entry.items():
            if key.startswith(PREFIX) and key.count(".") == 2:
                _, layer, measure = key.split(".")
                out.setdefault(layer, {}).setdefault(measure, [None] * len(history))[k] = value
    return out


def alarms_at(history: list[dict], options: HealthOptions | None = None, at: int = -1) -> list[Alarm]:
    """The alarms that hold at entry ``at`` of ``history`` (each entry a dict of metrics with ``epoch``,
    0-based); the entries before it give RankMe's best so far."""
    options = options or HealthOptions()
    if not history:
        return []
    at = at % len(history)
    epoch = int(history[at].get("epoch", at)) + 1
    out = []
    for layer, series in health_series(history[:at + 1]).items():
        now = {m: v[-1] for m, v in series.items()}
        for rule, measure, value, threshold, fired in _rules(options, series, now):
            if fired:
                text = MESSAGES[(rule, measure)].format(layer=layer, value=value, threshold=threshold)
                out.append(Alarm(rule, measure, layer, epoch, float(value), float(threshold),
                                 f"alarm at epoch {epoch}: {text}"))
    return out


def _rules(o: HealthOptions, series: dict, now: dict):
    """``(rule, measure, value, threshold, fired)`` of each rule whose measure is present now."""
    if now.get("spread") is not None:
        yield "collapse", "spread", now["spread"], o.spread_min, now["spread"] < o.spread_min
    if now.get("rankme") is not None and now.get("rank_max"):
        floor = o.rank_min * now["rank_max"]
        yield "collapse", "rankme", now["rankme"], floor, now["rankme"] < floor
    earlier = [v for v in series.get("rankme", [])[:-1] if v is not None]
    if now.get("rankme") is not None and earlier:
        floor = (1.0 - o.rankme_drop) * max(earlier)
        yield "rank", "rankme", now["rankme"], floor, now["rankme"] < floor
    if now.get("uniform") is not None:
        yield "uniformity", "uniform", now["uniform"], o.uniform_max, now["uniform"] > o.uniform_max
    if now.get("knn") is not None and now.get("knn_chance") is not None:
        floor = now["knn_chance"] + o.knn_margin
        yield "knn", "knn", now["knn"], floor, now["knn"] < floor


MESSAGES = {("collapse", "spread"): "collapse: {layer} spread {value:.3f} < {threshold:.3f}",
            ("collapse", "rankme"): "collapse: {layer} RankMe {value:.1f} < {threshold:.1f} (of its maximum, "
                                    "the share health.rank_min)",
            ("rank", "rankme"): "rank: {layer} RankMe {value:.1f} < {threshold:.1f} (its best so far less the "
                                "allowed drop)",
            ("uniformity", "uniform"): "uniformity: {layer} {value:.3f} > {threshold:.3f} (rising towards 0)",
            ("knn", "knn"): "kNN: {layer} {value:.3f} < chance + margin {threshold:.3f}"}


def new_alarms(history: list[dict], options: HealthOptions | None = None) -> list[Alarm]:
    """The alarms that hold at the last entry of ``history`` and did not at the one before."""
    now = alarms_at(history, options)
    before = {(a.rule, a.measure, a.layer) for a in alarms_at(history[:-1], options)} if len(history) > 1 else set()
    return [a for a in now if (a.rule, a.measure, a.layer) not in before]


def emit_new_alarms(events, history: list[dict], options: HealthOptions | None = None) -> list[Alarm]:
    """Emit each of :func:`new_alarms` as a ``log`` event (level ``warning``, with ``alarm``) through
    ``events`` (an :class:`~hpe_core.training.events.EventWriter`); returns them."""
    alarms = new_alarms(history, options)
    for alarm in alarms:
        events.emit("log", level="warning", message=alarm.message, alarm=alarm.to_dict())
    return alarms
