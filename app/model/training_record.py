"""What the GUI knows about a training job, without Qt: the line buffer that turns byte chunks
into JSON lines, the run state rebuilt from ``hpe train`` events (curves, position, ETA), the
job record and the job history file (the run queue, from :mod:`hpe_core.training.runs.queue`).

Events follow :mod:`hpe_core.training.events` (validated with its ``validate_event``). A line
split across two reads is held until its newline arrives; a last line with no newline (a job
killed mid-write) is parsed at the end if it is complete JSON, else reported as truncated.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hpe_core.analysis.health_alarms import PREFIX as HEALTH_PREFIX
from hpe_core.errors import InputError
from hpe_core.training.events import validate_event
# the job record and the queue file are shared with ``hpe queue`` (hpe_core.training.runs.queue)
from hpe_core.training.runs.queue import (ACTIVE, HISTORY_FORMAT, HISTORY_VERSION, STATES,  # noqa: F401
                                          JobRecord, load_history, save_history)


class LineBuffer:
    """Bytes in, complete text lines out; a partial last line waits for the next chunk."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        data = self._pending + data
        *lines, self._pending = data.split(b"\n")
        return [line.decode("utf-8", errors="replace").rstrip("\r") for line in lines]

    def flush(self) -> list[str]:
        """At the end of the stream: the unterminated last line, if any."""
        rest, self._pending = self._pending, b""
        return [rest.decode("utf-8", errors="replace")] if rest.strip() else []

    @property
    def pending(self) -> int:
        return len(self._pending)


class FileTail:
    """Follows a growing file (``tail -f``): each :meth:`read` returns the lines completed since.

    ``chunk`` caps one read (bytes), so a long line may arrive over several reads. A file that
    shrank was replaced: reading restarts from its beginning and :attr:`resets` counts up.
    """

    def __init__(self, path: str | Path, chunk: int = 1 << 20) -> None:
        self.path, self.chunk = Path(path), chunk
        self.offset, self.resets = 0, 0
        self.buffer = LineBuffer()

    def read(self, final: bool = False) -> list[str]:
        """The complete lines appended since the last read (``final``: also an unterminated one)."""
        try:
            size = self.path.stat().st_size
        except OSError:  # not written yet
            return self.buffer.flush() if final else []
        if size < self.offset:
            self.offset, self.buffer = 0, LineBuffer()
            self.resets += 1
        lines: list[str] = []
        if size > self.offset:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                while True:
                    data = fh.read(self.chunk)
                    if not data:
                        break
                    self.offset += len(data)
                    lines += self.buffer.feed(data)
        return lines + (self.buffer.flush() if final else [])


def parse_line(line: str) -> tuple[dict | None, str | None]:
    """``(event, None)`` for a valid event line, ``(None, why)`` otherwise (blank: ``(None, None)``)."""
    if not line.strip():
        return None, None
    try:
        return validate_event(json.loads(line)), None
    except json.JSONDecodeError as exc:
        return None, f"not a JSON event ({exc.msg}): {line[:80]}"
    except InputError as exc:
        return None, str(exc)


class Series:
    """``(x, y)`` points of one curve; a resumed run drops the points past its start."""

    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []

    def append(self, x: float, y: float | None) -> None:
        self.x.append(float(x))
        self.y.append(math.nan if y is None else float(y))

    def truncate(self, x_max: float) -> None:
        keep = sum(1 for v in self.x if v <= x_max)
        del self.x[keep:], self.y[keep:]

    def __len__(self) -> int:
        return len(self.x)


#: UniHPE's validation cosine between the embeddings of one sample, per modality pair (the
#: paper's Fig. 5; logged by the unihpe task): metric name -> curve label
COSINE_METRICS = {"cos_image_pose2d": "image – 2D", "cos_image_pose3d": "image – 3D",
                  "cos_pose2d_pose3d": "2D – 3D"}


class RunState:
    """Everything the curves and the job list show, rebuilt event by event.

    ``loss``, ``lr`` and ``throughput`` are series over optimizer steps; ``metrics[name]`` is a
    series over finished epochs (1-based) of the validation metrics; ``final`` the last run's
    final metrics.
    """

    def __init__(self) -> None:
        self.loss, self.lr, self.throughput = Series(), Series(), Series()
        self.metrics: dict[str, Series] = {}
        # name -> {"edges": (B+1,) bin edges, "epochs": [1-based], "counts": [(B,) per epoch]}: the
        # histograms a task logs at each validation (vae_lift: per-joint errors, "pjpe")
        self.histograms: dict[str, dict] = {}
        self.final: dict[str, float | None] = {}
        self.alarms: list[dict] = []  # the health alarms raised (hpe_core.analysis.health_alarms.Alarm dicts)
        self.health_config: dict = {}  # the run's ``health`` config section (the alarms' thresholds)
        self.epoch = self.step = self.total_steps = self.epochs = 0
        self.checkpoints: dict[str, str] = {}  # kind ("last" | "best") -> path
        self.messages: list[str] = []
        self.reason: str | None = None  # the done event's reason
        self.error: str | None = None
        self.summary: dict = {}
        self.task = ""
        self.config: dict = {}  # the run's config, from its start event
        self.last_time: float | None = None
        self._ref: tuple[float, int] | None = None  # (time, step) the ETA counts from
        self.events = 0
        self.finals = 0  # done and error events: one per run that ended by itself
        self.requeues = 0  # done events of runs stopped by a scheduler's SIGUSR1 (the job goes on)
        self.waiting_requeue = False  # the last run was requeued and the next has not started
        self.bad_lines = 0

    def health_series(self) -> dict[str, dict[str, Series]]:
        """``{measure: {layer: series over epochs}}`` of the live health measures (``health.<layer>.<measure>``)."""
        out: dict[str, dict[str, Series]] = {}
        for name, series in self.metrics.items():
            if name.startswith(HEALTH_PREFIX) and name.count(".") == 2:
                _, layer, measure = name.split(".")
                out.setdefault(measure, {})[layer] = series
        return out

    def cosine_series(self) -> dict[str, Series]:
        """The cross-modal cosine curves present (:data:`COSINE_METRICS`), over epochs."""
        return {name: self.metrics[name] for name in COSINE_METRICS if name in self.metrics}

    @property
    def ended(self) -> bool:
        return self.reason is not None or self.error is not None

    def apply(self, event: dict) -> None:
        self.events += 1
        self.last_time = float(event["time"])
        getattr(self, f"_on_{event['type']}")(event)

    def note_bad_line(self, why: str) -> None:
        self.bad_lines += 1
        self.messages.append(f"[ignored] {why}")

    def _on_start(self, e: dict) -> None:
        self.task = str(e["config"].get("task", ""))
        self.config = dict(e["config"])
        self.health_config = dict(e["config"].get("health") or {})
        self.alarms = [a for a in self.alarms if int(a.get("epoch", 0)) <= e["epoch"]]  # a resume drops later ones
        self.reason = self.error = None
        self.waiting_requeue = False
        self.total_steps, self.epochs = e["total_steps"], e["epochs"]
        self.epoch, self.step = e["epoch"], e["step"]
        for s in (self.loss, self.lr, self.throughput):
            s.truncate(self.step)
        for s in self.metrics.values():
            s.truncate(self.epoch)
        for h in self.histograms.values():
            keep = [i for i, ep in enumerate(h["epochs"]) if ep <= self.epoch]
            h["epochs"], h["counts"] = [h["epochs"][i] for i in keep], [h["counts"][i] for i in keep]
        self._ref = (e["time"], e["step"])
        where = f" (resumed from {e['resumed_from']}, step {e['step']})" if e["resumed_from"] else ""
        self.messages.append(f"start: {e['epochs']} epochs, {e['total_steps']} steps on "
                             f"{e.get('device', '?')}{where}")

    def _on_progress(self, e: dict) -> None:
        self.epoch, self.step, self.total_steps = e["epoch"], e["step"], e["total_steps"]
        self.loss.append(e["step"], e["loss"])
        self.lr.append(e["step"], e["lr"])
        self.throughput.append(e["step"], e["samples_per_s"])
        if self._ref is None:
            self._ref = (e["time"], e["step"])

    def _on_metric(self, e: dict) -> None:
        if e["split"] != "val":
            self.final.update(e["metrics"])
            self.messages.append(f"{e['split']}: " + _format_metrics(e["metrics"]))
            return
        for name, value in e["metrics"].items():
            self.metrics.setdefault(name, Series()).append(e["epoch"] + 1, value)
        for name, hist in (e.get("histograms") or {}).items():
            edges, counts = hist.get("edges_mm") or hist.get("edges"), hist.get("counts")
            if isinstance(counts, list) and isinstance(edges, list) and len(edges) == len(counts) + 1:
                record = self.histograms.setdefault(name, {"edges": edges, "epochs": [], "counts": []})
                record["epochs"].append(e["epoch"] + 1)
                record["counts"].append([float(c or 0) for c in counts])
        self.messages.append(f"epoch {e['epoch'] + 1}: " + _format_metrics(e["metrics"]))

    def _on_checkpoint(self, e: dict) -> None:
        self.checkpoints[e["kind"]] = e["path"]
        self.messages.append(f"checkpoint ({e['kind']}): {e['path']}")

    def _on_log(self, e: dict) -> None:
        if isinstance(e.get("alarm"), dict):
            self.alarms.append(dict(e["alarm"], message=e["message"]))
        self.messages.append(f"{e['level']}: {e['message']}")

    def _on_done(self, e: dict) -> None:
        self.epoch, self.step, self.reason, self.summary = e["epoch"], e["step"], e["reason"], e["summary"]
        self.finals += 1
        self.messages.append(f"{e['reason']} at epoch {e['epoch']}, step {e['step']}/{e['total_steps']}")
        if e["reason"] == "interrupted" and e["summary"].get("signal") == "SIGUSR1":  # hpe_core.training.cluster
            self.requeues += 1
            self.waiting_requeue = True
            self.messages.append("requeued on the scheduler's time limit; it resumes from its last.pt")

    def _on_error(self, e: dict) -> None:
        self.error = e["message"]
        self.finals += 1
        self.messages.append(f"error: {e['message']}")

    # ------------------------------------------------------------------ derived figures
    @property
    def fraction(self) -> float:
        return min(self.step / self.total_steps, 1.0) if self.total_steps else 0.0

    @property
    def samples_per_s(self) -> float | None:
        return self.throughput.y[-1] if len(self.throughput) else None

    def eta_s(self) -> float | None:
        """Seconds left at the rate of this run segment (None before two progress points)."""
        if self._ref is None or self.last_time is None or self.ended or not self.total_steps:
            return None
        t0, s0 = self._ref
        done, spent = self.step - s0, self.last_time - t0
        if done <= 0 or spent <= 0:
            return None
        return max(self.total_steps - self.step, 0) * spent / done


def _format_metrics(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} n/a"
                     for k, v in metrics.items())


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
