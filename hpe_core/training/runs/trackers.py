"""Optional trackers written from our events: TensorBoard event files and MLflow runs.

``train.trackers: [tensorboard, mlflow]`` adds writers fed by the run's :class:`EventWriter`
(:func:`with_trackers`); ``hpe export-runs`` replays a finished run's ``events.jsonl`` into the same
writers (:func:`export_run`). Our events stay the source of truth; the GUI reads only them.

What is written (the same for both): every number of every ``progress`` event (``train/loss``,
``train/lr``, ``train/samples_per_s``) and of every ``metric`` event (``SPLIT/NAME``: ``val/mpjpe``,
``final/test.mpjpe``), at the event's optimizer step; the histograms a task logs (``val/pjpe``, the
VAE's per-joint errors); the config as hyper-parameters (dotted keys). TensorBoard writes into
``OUTPUT/tensorboard``; MLflow into ``train.tracking_uri``, by default a SQLite store beside the run
(``OUTPUT/../mlflow.db``, artifacts in ``OUTPUT/../mlartifacts``; experiment = the parent folder's
name, so the trials of a sweep share one).
"""

from __future__ import annotations

import json
from pathlib import Path

from hpe_core.errors import InputError

TRACKERS = ("tensorboard", "mlflow")
TB_FOLDER = "tensorboard"


def require(name: str):
    """The tracker's package, or one InputError saying which extra installs it."""
    import importlib

    module = {"tensorboard": "tensorboard", "mlflow": "mlflow"}[name]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"train.trackers: {name} is not installed; pip install 'hpe-studio[{name}]'") from None


def scalars(event: dict) -> list[tuple[str, float, int]]:
    """``(tag, value, step)`` of every number an event carries (None, NaN written as null, skipped)."""
    if event["type"] == "progress":
        items = [("train/loss", event["loss"]), ("train/lr", event["lr"]),
                 ("train/samples_per_s", event["samples_per_s"])]
    elif event["type"] == "metric":
        items = [(f"{event['split']}/{k}", v) for k, v in event["metrics"].items()]
    else:
        return []
    return [(tag, float(v), int(event["step"])) for tag, v in items
            if isinstance(v, (int, float)) and not isinstance(v, bool)]


def histograms(event: dict) -> list[tuple[str, list, list, int]]:
    """``(tag, edges (B+1), counts (B), step)`` of the histograms of a ``metric`` event."""
    out = []
    for name, h in (event.get("histograms") or {}).items() if event["type"] == "metric" else ():
        edges, counts = h.get("edges_mm") or h.get("edges"), h.get("counts")
        if isinstance(edges, list) and isinstance(counts, list) and len(edges) == len(counts) + 1:
            out.append((f"{event['split']}/{name}", [float(e) for e in edges], [float(c or 0) for c in counts],
                        int(event["step"])))
    return out


def hyperparameters(config: dict) -> dict[str, object]:
    """The config as flat ``dotted.key -> int | float | str | bool`` (lists, mappings and None as JSON text)."""
    from hpe_core.training.config import flatten

    return {k: v if isinstance(v, (int, float, str, bool)) else json.dumps(v) for k, v in flatten(config).items()}


class TensorBoardWriter:
    """Event files in ``logdir`` through ``torch.utils.tensorboard``."""

    def __init__(self, logdir: Path) -> None:
        require("tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(logdir), flush_secs=10)

    def write(self, event: dict) -> None:
        if event["type"] == "start":
            from torch.utils.tensorboard.summary import hparams

            for summary in hparams(hyperparameters(event["config"]), {})[:2]:
                self.writer.file_writer.add_summary(summary)
        for tag, value, step in scalars(event):
            self.writer.add_scalar(tag, value, step)
        for tag, edges, counts, step in histograms(event):
            self._histogram(tag, edges, counts, step)
        if event["type"] in ("metric", "done", "error"):
            self.writer.flush()

    def _histogram(self, tag: str, edges: list, counts: list, step: int) -> None:
        centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
        n = sum(counts)
        self.writer.add_histogram_raw(tag, min=edges[0], max=edges[-1], num=n,
                                      sum=sum(c * x for c, x in zip(counts, centres)),
                                      sum_squares=sum(c * x * x for c, x in zip(counts, centres)),
                                      bucket_limits=edges[1:], bucket_counts=counts, global_step=step)

    def close(self) -> None:
        self.writer.close()


class MlflowWriter:
    """One MLflow run per training run (a resumed run starts another), through ``MlflowClient``."""

    def __init__(self, uri: str, experiment: str, run_name: str, artifacts: Path | None = None) -> None:
        import logging

        require("mlflow")
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):  # its database set-up talks at INFO on stderr
            logging.getLogger(name).setLevel(logging.WARNING)

        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        exp_id = found.experiment_id if found else self.client.create_experiment(
            experiment, artifact_location=artifacts.resolve().as_uri() if artifacts else None)
        self.run_id = self.client.create_run(exp_id, run_name=run_name).info.run_id
        self._metrics: list = []

    def write(self, event: dict) -> None:
        from mlflow.entities import Metric, Param

        ms = int(event["time"] * 1000)
        if event["type"] == "start":
            params = [Param(k, str(v)[:6000]) for k, v in hyperparameters(event["config"]).items()]
            for i in range(0, len(params), 100):
                self.client.log_batch(self.run_id, params=params[i:i + 100])
        self._metrics += [Metric(tag, value, ms, step) for tag, value, step in scalars(event)]
        for tag, edges, counts, step in histograms(event):
            self.client.log_dict(self.run_id, {"edges": edges, "counts": counts}, f"histograms/{tag}/step_{step}.json")
        if event["type"] in ("metric", "done", "error"):
            self.flush()
        if event["type"] in ("done", "error"):
            finished = event["type"] == "done" and event.get("reason") == "finished"
            self.client.set_terminated(self.run_id, "FINISHED" if finished else
                                       "KILLED" if event["type"] == "done" else "FAILED")

    def flush(self) -> None:
        for i in range(0, len(self._metrics), 1000):
            self.client.log_batch(self.run_id, metrics=self._metrics[i:i + 1000])
        self._metrics = []

    def close(self) -> None:
        self.flush()


def default_mlflow_uri(run_dir: Path) -> str:
    return f"sqlite:///{(Path(run_dir).resolve().parent / 'mlflow.db')}"


def open_writers(names, run_dir: Path, tracking_uri: str | None = None, tb_dir: Path | None = None) -> list:
    """The writers ``names`` asks for, for the run in ``run_dir``."""
    run_dir = Path(run_dir).expanduser()
    writers = []
    for name in names:
        if name == "tensorboard":
            writers.append(TensorBoardWriter(tb_dir or run_dir / TB_FOLDER))
        elif name == "mlflow":
            writers.append(MlflowWriter(tracking_uri or default_mlflow_uri(run_dir), run_dir.resolve().parent.name,
                                        run_dir.name, run_dir.resolve().parent / "mlartifacts"))
        else:
            raise InputError(f"train.trackers: unknown tracker {name!r}; expected {', '.join(TRACKERS)}")
    return writers


def with_trackers(config, events):
    """``events`` (an EventWriter), also feeding the trackers ``config.train.trackers`` names."""
    names = tuple(config.train.trackers)
    if not names or events is None:
        return events
    writers = open_writers(names, Path(config.train.output), config.train.tracking_uri)
    previous = events.on_event

    def feed(event: dict) -> None:
        if previous is not None:
            previous(event)
        for writer in writers:
            writer.write(event)
        if event["type"] in ("done", "error"):
            for writer in writers:
                writer.close()

    events.on_event = feed
    return events


def export_run(events_path: Path, to: str, tracking_uri: str | None = None, out: Path | None = None) -> dict:
    """Replay a run's events into a tracker; what was written, as plain data."""
    from hpe_core.training.events import read_events

    events = read_events(events_path)
    start = next((e for e in events if e["type"] == "start"), None)
    if start is None:
        raise InputError(f"{events_path}: no start event (not a training run's events)")
    run_dir = Path(events_path).resolve().parent
    writers = open_writers([to], run_dir, tracking_uri, out)
    for event in events:
        for writer in writers:
            writer.write(event)
    for writer in writers:
        writer.close()
    where = str(out or run_dir / TB_FOLDER) if to == "tensorboard" else (tracking_uri or default_mlflow_uri(run_dir))
    return {"events": str(events_path), "to": to, "where": where, "scalars": sum(len(scalars(e)) for e in events),
            **({"run_id": writers[0].run_id} if to == "mlflow" else {})}
