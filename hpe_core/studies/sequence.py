"""One sequence trainer for the demo builds and the ablations: ``run_sequence(steps, progress, events)``.

The steps train in order with :func:`hpe_core.training.loop.run_training`, each in an equal share
of ``progress`` under the status ``training <name>`` (or the step's own). A step's config is
given, or made from the best checkpoints of the steps before it (a stage that starts where the
previous one ended). A step that does not finish stops the sequence with an ``InputError``; with
``reuse``, a step whose ``train.output`` already holds the best checkpoint of a finished run of
the same config is kept rather than trained again. :func:`work_folder` is where the runs go;
:func:`demo_runs` makes a demo build's dataset and trains its runs there.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpe_core.errors import InputError
from hpe_core.progress import NullProgress, check_cancelled, stage


@dataclass(frozen=True)
class Step:
    """One training run of a sequence: ``config`` is a Config, or a function of the earlier
    steps' best checkpoints (``{name: Path}``) that makes it."""

    name: str
    config: Any | Callable[[dict[str, Path]], Any]
    status: str | None = None  # the progress status (default: "training <name>")


@dataclass(frozen=True)
class StepResult:
    checkpoint: Path | None  # the run's best checkpoint
    result: Any = None  # the TrainResult; None where a finished run was reused
    seconds: float | None = None  # training time; None where reused


def run_sequence(steps: list[Step], progress=None, events=None, *, what: str = "demo build",
                 out: Path | None = None, reuse: bool = False) -> dict[str, StepResult]:
    """Train ``steps`` in order; returns ``{name: StepResult}`` in the same order. ``what`` and
    ``out`` name the build and its folder in the message of a step that was interrupted."""
    from hpe_core.training.loop import run_training

    progress = progress or NullProgress()
    done: dict[str, StepResult] = {}
    for i, step in enumerate(steps):
        check_cancelled(progress)
        progress.set_status(step.status or f"training {step.name}")
        config = step.config({k: r.checkpoint for k, r in done.items()}) if callable(step.config) else step.config
        kept = finished_run(Path(config.train.output) / "best.pt", config) if reuse else None
        if kept is not None:
            done[step.name] = StepResult(kept)
            continue
        t0 = time.monotonic()
        result = run_training(config, stage(progress, i / len(steps), (i + 1) / len(steps)), events)
        if result.reason != "finished":
            where = f" to {out}" if out is not None else ""
            raise InputError(f"{what}: {step.name} was interrupted; nothing was written{where}")
        done[step.name] = StepResult(result.best_checkpoint, result, time.monotonic() - t0)
    return done


def finished_run(path: Path, config) -> Path | None:
    """``path`` when it is the best checkpoint of a finished run of ``config`` (the same settings
    but for where it was written and which file it started from), else None."""
    from hpe_core.training.checkpoints import read_raw

    if not path.is_file():
        return None
    training = read_raw(path).get("training") or {}
    stored, wanted = training.get("config") or {}, config.to_dict()
    for doc in (stored, wanted):
        doc.get("train", {}).pop("output", None)
        doc.get("model", {}).pop("init", None)
    return path if training.get("complete") and stored == wanted else None


@contextmanager
def work_folder(keep: Path | None, prefix: str) -> Iterator[Path]:
    """``keep`` when given (the runs stay there), else a temporary folder removed on leaving."""
    if keep is not None:
        yield Path(keep)
        return
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def demo_runs(spec, make_configs: Callable, progress, events=None, *, params: dict, sub: str = "",
              span: tuple[float, float] = (0.02, 1.0)) -> Iterator[tuple[dict, Path, Path]]:
    """A demo build's runs: the demo set of ``params`` (in the first ``span[0]`` of ``progress``) and
    ``make_configs(spec, work, dataset)`` (name -> Config) trained in order in ``spec.work/sub`` (or
    a temporary folder, removed on leaving). Yields ``(runs, work, dataset)``."""
    from hpe_core.datasets.demo import demo_dataset_path

    spec.out.mkdir(parents=True, exist_ok=True)
    dataset = demo_dataset_path(params, stage(progress, 0.0, span[0]))
    with work_folder(spec.work and Path(spec.work) / sub, f"hpe-demo-{sub}-" if sub else "hpe-demo-") as work:
        steps = [Step(name, config) for name, config in make_configs(spec, work, dataset).items()]
        yield run_sequence(steps, stage(progress, *span), events, out=spec.out), work, dataset
