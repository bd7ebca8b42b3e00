"""One trial of a sweep: its config (the base config with the trial's parameters), its training
run in ``FOLDER/trial-NNN/`` with ``events.jsonl``, and its value told to the study."""

from __future__ import annotations

import json
from pathlib import Path

from hpe_core.errors import InputError

TRIAL_DIR = "trial-{number:03d}"
EVENTS_NAME = "events.jsonl"


def metric_value(events: list[dict], metric: str) -> float | None:
    """The last value logged for ``SPLIT/NAME``: a ``metric`` event of that split, or the ``final``
    event's ``SPLIT.NAME`` (the test figures)."""
    split, _, name = metric.partition("/")
    value = None
    for event in events:
        if event.get("type") != "metric":
            continue
        metrics = event.get("metrics") or {}
        if event.get("split") == split and name in metrics:
            value = metrics[name]
        elif event.get("split") == "final" and f"{split}.{name}" in metrics:
            value = metrics[f"{split}.{name}"]
    return None if value is None else float(value)


def logged_metrics(events: list[dict]) -> list[str]:
    names = []
    for event in events:
        if event.get("type") == "metric":
            split = event.get("split")
            for key in event.get("metrics") or {}:
                name = key.replace(".", "/", 1) if split == "final" else f"{split}/{key}"
                if name not in names:
                    names.append(name)
    return names


def trial_config(spec, params: dict, output: Path):
    from hpe_core.training.config import config_from_dict
    from hpe_core.training.config_data import apply_overrides

    overrides = [f"{key}={json.dumps(value)}" for key, value in params.items()]
    return config_from_dict(apply_overrides(spec.config, [*overrides, f"train.output={json.dumps(str(output))}"]))


def run_trial(spec, study, trial, params: dict, folder: Path, progress=None) -> bool:
    """Train the trial, then tell the study its value (COMPLETE), PRUNED, or FAIL with an ``error``.
    Stopped by a signal (Ctrl-C, a scheduler's SIGTERM or SIGUSR1): FAIL without an error, its
    parameters queued again for another worker, and False (this worker should stop)."""
    from optuna.trial import TrialState

    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training
    from hpe_core.training.state import StopFlag, stop_on_signals

    output = Path(folder) / TRIAL_DIR.format(number=trial.number)
    trial.set_user_attr("run", str(output.resolve()))
    stop, pruned = StopFlag(), []
    try:
        config = trial_config(spec, params, output)
        output.mkdir(parents=True, exist_ok=True)
        with EventWriter(output / EVENTS_NAME, on_event=_pruning(spec, trial, stop, pruned)) as writer, \
                stop_on_signals(stop):
            run_training(config, progress, writer, None, stop)
    except (InputError, OSError, ArithmeticError, RuntimeError) as exc:  # one bad trial, not the sweep
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}" if not isinstance(exc, InputError) else str(exc))
        study.tell(trial, state=TrialState.FAIL)
        return True
    if pruned:
        study.tell(trial, state=TrialState.PRUNED)
    elif stop.requested:
        study.tell(trial, state=TrialState.FAIL)
        study.enqueue_trial(params, user_attrs={"retry_of": trial.number})
        return False
    else:
        _tell_value(spec, study, trial, writer.events)
    return True


def _pruning(spec, trial, stop, pruned: list):
    """The events hook of a trial: with ``spec.prune``, each validation value is reported to the
    study, and a trial the pruner judges lagging is asked to stop (``pruned`` gets its epoch)."""
    split = spec.split_name[0]

    def report(event: dict) -> None:
        if event["type"] == "metric" and event["split"] == split and spec.prune:
            value = metric_value([event], spec.metric)
            if value is not None:
                trial.report(value, event["epoch"])
                if trial.should_prune():
                    pruned.append(event["epoch"])
                    stop.request("pruned")

    return report


def _tell_value(spec, study, trial, events: list[dict]) -> None:
    from optuna.trial import TrialState

    value = metric_value(events, spec.metric)
    if value is None:
        trial.set_user_attr("error", f"the run never logged {spec.metric}; it logged "
                                     f"{', '.join(logged_metrics(events)) or 'no metric'}")
        study.tell(trial, state=TrialState.FAIL)
    else:
        study.tell(trial, value)
