"""Sweeps: an Optuna study whose trials are training runs.

A sweep folder holds ``sweep.json`` (:class:`SweepSpec`: the base config, the search space, the
metric and direction, the sampler), the study (``study.db``, SQLite, unless ``storage`` names any
SQLAlchemy URL) and one run folder per trial (``trial-NNN/``: its checkpoints and ``events.jsonl``).
Workers (:func:`work`: processes here, or Slurm array tasks) share the study through its storage:
each asks the study for a trial (under a lock file in the folder, so the budget of ``trials`` is
never overrun), trains it in-process, and tells the study the metric's last value. A trial's
value is the last value the run logged for ``SPLIT/NAME`` (``val/pa_mpjpe``: the last validation;
``test/mpjpe``: the final test). With ``prune``, a median pruner reads the validation events and
stops a trial that lags (it ends as PRUNED at its next step).

Running the same sweep again resumes it: finished trials are kept; a trial left RUNNING by a
worker of this machine that is gone is marked FAIL without an ``error`` (stale) and its parameters
are queued again (``study.enqueue_trial``), so it is retried and not counted.
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

from hpe_core.atomic import atomic_write
from hpe_core.errors import InputError
from hpe_core.training.runs.sweep_space import Param, grid_size, grid_space

SPEC_NAME = "sweep.json"
SPEC_FORMAT = "hpe-studio-sweep"
SPEC_VERSION = 1
SAMPLERS = ("grid", "random", "tpe")
DIRECTIONS = ("minimize", "maximize")
#: what must not change when a sweep is run again (``trials`` may: a larger budget continues it)
FIXED = ("config", "params", "metric", "direction", "sampler", "seed", "prune", "study_name")


@dataclass(frozen=True)
class SweepSpec:
    config: dict  # the base config, plain data, with the --set overrides applied
    params: tuple[Param, ...]
    metric: str = "val/loss"  # SPLIT/NAME
    direction: str = "minimize"
    trials: int = 0  # 0: the grid's size (grid), else required
    sampler: str = "tpe"
    storage: str | None = None  # None: sqlite:///FOLDER/study.db
    study_name: str = "sweep"
    seed: int = 0
    prune: bool = False

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        return dict(d, params=[p.to_dict() for p in self.params], format=SPEC_FORMAT, version=SPEC_VERSION)

    @classmethod
    def from_dict(cls, raw: dict) -> "SweepSpec":
        keys = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in keys and k != "params"},
                   params=tuple(Param.from_dict(p) for p in raw["params"]))

    @property
    def split_name(self) -> tuple[str, str]:
        split, _, name = self.metric.partition("/")
        return split, name


def check_spec(spec: SweepSpec) -> SweepSpec:
    """Every option checked, and the config with each parameter's first value built, so that a typo
    in a key fails now and not in every trial; the spec with ``trials`` filled in for a grid."""
    from hpe_core.training.config import config_from_dict, validate
    from hpe_core.training.config_data import apply_overrides

    if spec.sampler not in SAMPLERS:
        raise InputError(f"--sampler {spec.sampler!r}: expected one of {', '.join(SAMPLERS)}")
    if spec.direction not in DIRECTIONS:
        raise InputError(f"--direction {spec.direction!r}: expected minimize or maximize")
    split, name = spec.split_name
    if not split or not name:
        raise InputError(f"--metric {spec.metric!r}: expected SPLIT/NAME, e.g. val/pa_mpjpe")
    if not spec.params:
        raise InputError("give at least one --param KEY=SPEC")
    if spec.sampler == "grid":
        grid_space(list(spec.params))
        spec = replace(spec, trials=spec.trials or grid_size(list(spec.params)))
    if spec.trials < 1:
        raise InputError(f"--trials {spec.trials}: must be at least 1")
    first = [f"{p.key}={json.dumps(p.choices[0] if p.kind == 'choice' else p.low)}" for p in spec.params]
    validate(config_from_dict(apply_overrides(spec.config, first)))
    return spec


def prepare(spec: SweepSpec, folder: Path) -> SweepSpec:
    """Write ``sweep.json`` (or check that the folder's sweep is this one) and create the study."""
    spec = check_spec(spec)
    path = folder / SPEC_NAME
    if path.is_file():
        old = load_spec(folder)
        changed = [k for k in FIXED if getattr(old, k) != getattr(spec, k)]
        if changed:
            raise InputError(f"{folder}: holds another sweep (its {changed[0]} differs); "
                             "choose another --out folder")
        spec = replace(spec, storage=spec.storage or old.storage)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(spec.to_dict(), indent=1))
    open_study(spec, folder)
    return spec


def load_spec(folder: Path) -> SweepSpec:
    path = Path(folder) / SPEC_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a sweep ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != SPEC_FORMAT:
        raise InputError(f"{path}: not a sweep file")
    if int(raw.get("version", 0)) > SPEC_VERSION:
        raise InputError(f"{path}: made by a newer version of HPE Studio (version {raw['version']})")
    return SweepSpec.from_dict(raw)


def storage_url(spec: SweepSpec, folder: Path) -> str:
    return spec.storage or f"sqlite:///{(Path(folder) / 'study.db').resolve()}"


def open_study(spec: SweepSpec, folder: Path, worker: int = 0):
    """The study, created if missing, with this worker's sampler (seeded ``seed + worker``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage_url(spec, folder)
    storage = (optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
               if url.startswith("sqlite") else url)
    samplers = {"grid": lambda: _GridSampler(grid_space(list(spec.params)), seed=spec.seed),
                "random": lambda: optuna.samplers.RandomSampler(seed=spec.seed + worker),
                "tpe": lambda: optuna.samplers.TPESampler(seed=spec.seed + worker)}
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2) if spec.prune else optuna.pruners.NopPruner()
    return optuna.create_study(storage=storage, study_name=spec.study_name, direction=spec.direction,
                               sampler=samplers[spec.sampler](), pruner=pruner, load_if_exists=True)


def _grid_sampler_class():
    import optuna

    class GridSampler(optuna.samplers.GridSampler):
        """Optuna's grid; the budget is counted by :func:`work` (asked and told, not ``optimize``,
        where the grid's own ``study.stop()`` would be refused)."""

        def after_trial(self, study, trial, state, values) -> None:
            pass

    return GridSampler


def _GridSampler(*args, **kwargs):
    return _grid_sampler_class()(*args, **kwargs)


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(Path(folder) / ".sweep.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def is_stale(trial) -> bool:
    """A trial that failed because its worker died (no ``error`` recorded): retried, not counted."""
    from optuna.trial import TrialState

    return trial.state == TrialState.FAIL and "error" not in trial.user_attrs


def release_stale(study) -> int:
    """Mark the RUNNING trials of this machine's dead workers FAIL and queue their parameters again."""
    from optuna.trial import TrialState

    from hpe_core.training.runs.processes import process_alive

    host, released = socket.gethostname(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker") or {}
        if worker.get("host") == host and not process_alive(worker.get("pid"), worker.get("start")):
            study.tell(trial.number, state=TrialState.FAIL)
            if trial.params:
                study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            released += 1
    return released


def taken(study) -> int:
    """Trials that count against the budget: every one but the waiting and the stale."""
    from optuna.trial import TrialState

    return sum(1 for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING and not is_stale(t))


def work(folder: Path, worker: int = 0, progress=None) -> int:
    """Run trials of the sweep in ``folder`` until its budget is taken; the number this worker ran."""
    from hpe_core.training.runs.processes import process_start
    from hpe_core.training.runs.trial import run_trial

    folder = Path(folder)
    spec = load_spec(folder)
    study = open_study(spec, folder, worker)
    ran = 0
    while True:
        with _folder_lock(folder):
            release_stale(study)
            if taken(study) >= spec.trials:
                return ran
            trial = study.ask()
            trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid(),
                                           "start": process_start(os.getpid()), "index": worker})
            params = {p.key: p.suggest(trial) for p in spec.params}  # stored before a retry may need them
        ran += 1
        if not run_trial(spec, study, trial, params, folder, progress):
            return ran


def run_sweep(spec: SweepSpec, folder: Path, workers: int = 1, progress=None) -> dict:
    """Prepare the sweep in ``folder`` and run it: in this process (one worker) or in ``workers``
    processes (``hpe sweep worker FOLDER --index I``); its :func:`status` at the end."""
    import subprocess
    import time

    from hpe_core.training.runs.runner import hpe_command

    if workers < 1:
        raise InputError(f"--workers {workers}: must be at least 1")
    folder = Path(folder)
    spec = prepare(spec, folder)
    if workers == 1:
        work(folder, 0, None)
        return status(folder)
    root = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [subprocess.Popen([*hpe_command(), "sweep", "worker", str(folder), "--index", str(i)], env=env,
                              stdout=subprocess.DEVNULL) for i in range(workers)]  # stdout is the caller's
    try:
        while any(p.poll() is None for p in procs):
            if progress is not None:
                progress.set_progress(min(_finished(folder, spec) / spec.trials, 1.0))
            time.sleep(0.5)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
    failed = [p.returncode for p in procs if p.returncode != 0]
    if failed:
        raise InputError(f"{len(failed)} of {workers} sweep workers failed (exit status {failed[0]}); "
                         f"run the same command again to resume")
    return status(folder)


def _finished(folder: Path, spec: SweepSpec) -> int:
    study = open_study(spec, folder)
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.is_finished() and not is_stale(t))


def status(folder: Path) -> dict:
    """The sweep as plain data: its spec, every trial (number, state, value, params, run folder,
    seconds, error) and the best finished one."""
    from optuna.trial import TrialState

    folder = Path(folder)
    spec = load_spec(folder)
    study = open_study(spec, folder)
    trials = []
    for t in study.get_trials(deepcopy=False):
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else None
        trials.append({"number": t.number, "state": t.state.name.lower(), "value": t.value, "params": t.params,
                       "run": t.user_attrs.get("run"), "seconds": seconds, "error": t.user_attrs.get("error"),
                       "stale": is_stale(t), "retry_of": t.user_attrs.get("retry_of")})
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    best = None
    if complete:
        b = study.best_trial
        best = {"number": b.number, "value": b.value, "params": b.params, "run": b.user_attrs.get("run")}
    return {"folder": str(folder), "metric": spec.metric, "direction": spec.direction, "sampler": spec.sampler,
            "budget": spec.trials, "storage": storage_url(spec, folder),
            "params": [dict(p.to_dict(), spec=p.describe()) for p in spec.params], "trials": trials, "best": best}
