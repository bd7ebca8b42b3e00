"""Training-jobs benchmarks, each against a baseline measured in the same run; prints ratios.

1. replaying a long events file (a 40-epoch run of 50,000 steps: the history of a job, or a
   cluster job followed from its start) through the tail, the schema check and the run state,
   vs a bare ``json.loads`` of every line;
2. one poll of a live job on the GUI thread (10 new events in a 50,000-event file) vs the bare
   read of those bytes: the cost does not grow with the file;
3. the curves view redrawn with 50,000 points per curve vs pyqtgraph ``setData`` of the same
   arrays on bare plots (the view adds little to pyqtgraph itself).

Run: ``xvfb-run -a -s "-screen 0 1600x1200x24" python3 bench/training_jobs_bench.py``
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

STEPS, EPOCHS = 50_000, 40


def events(steps: int = STEPS, epochs: int = EPOCHS):
    t = 1.0e9
    yield {"type": "start", "time": t, "config": {"task": "simclr"}, "total_steps": steps,
           "steps_per_epoch": steps // epochs, "epochs": epochs, "world_size": 1, "resumed_from": None,
           "epoch": 0, "step": 0}
    for step in range(1, steps + 1):
        epoch = (step - 1) * epochs // steps
        yield {"type": "progress", "time": t + step * 0.01, "epoch": epoch, "step": step, "total_steps": steps,
               "loss": 5.0 / (1 + step / 1000), "lr": 0.01, "samples_per_s": 900.0 + step % 7}
        if step % (steps // epochs) == 0:
            yield {"type": "metric", "time": t + step * 0.01, "epoch": epoch, "step": step, "split": "val",
                   "metrics": {"loss": 1.0, "pair_top1": 0.5, "feature_std": 0.3}}
            yield {"type": "checkpoint", "time": t + step * 0.01, "epoch": epoch + 1, "step": step,
                   "path": "/runs/x/last.pt", "kind": "last"}


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def replay(path: Path) -> None:
    from app.workers.training_jobs import TrainingJob
    from app.model.training_record import JobRecord

    job = TrainingJob(JobRecord(id="b", name="b", events_path=str(path)))
    job.ensure_loaded()
    assert job.state.step == STEPS


def bare_loads(path: Path) -> None:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            json.loads(line)


def bench_replay(path: Path) -> None:
    ours, base = best_of(lambda: replay(path)), best_of(lambda: bare_loads(path))
    size = path.stat().st_size / 1e6
    print(f"1. replay {size:.1f} MB ({STEPS} steps): {ours * 1e3:.0f} ms vs json.loads {base * 1e3:.0f} ms "
          f"-> ratio {ours / base:.2f}")


def bench_poll(path: Path) -> None:
    from app.workers.training_jobs import TrainingJob
    from app.model.training_record import JobRecord

    live = path.with_name("live.jsonl")
    live.write_bytes(path.read_bytes())
    job = TrainingJob(JobRecord(id="p", name="p", events_path=str(live)))
    job.ensure_loaded()
    extra = [json.dumps(e) + "\n" for e in events(10, 1)][1:11]
    poll_times, read_times = [], []
    for _ in range(200):
        with open(live, "a") as fh:
            fh.writelines(extra)
        offset = job.tail.offset
        t0 = time.perf_counter()
        job.poll()
        poll_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with open(live, "rb") as fh:
            fh.seek(offset)
            fh.read()
        read_times.append(time.perf_counter() - t0)
    ours, base = float(np.median(poll_times)), float(np.median(read_times))
    print(f"2. poll of 10 new events: {ours * 1e6:.0f} µs vs bare read {base * 1e6:.0f} µs -> ratio {ours / base:.1f}")


def bench_curves(path: Path) -> None:
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from app.views.job_curves import JobCurvesView
    from app.workers.training_jobs import TrainingJob
    from app.model.training_record import JobRecord

    app = QApplication.instance() or QApplication([])
    job = TrainingJob(JobRecord(id="c", name="c", events_path=str(path)))
    job.ensure_loaded()
    view = JobCurvesView()
    view.resize(1200, 500)
    view.show()
    view.set_state(job.state, running=True)
    bare = pg.GraphicsLayoutWidget()
    bare.resize(1200, 500)
    bare.show()
    items = [bare.addPlot(row=i // 2, col=i % 2).plot() for i in range(4)]
    x = np.asarray(job.state.loss.x)
    ys = [np.asarray(s.y) for s in (job.state.loss, job.state.lr, job.state.throughput)]

    def ours():
        view.refresh()
        view.graphics.repaint()
        app.processEvents()

    def base():
        for item, y in zip(items, ys + [ys[0][:EPOCHS]]):
            item.setData(x[:len(y)], y)
        bare.repaint()
        app.processEvents()

    ours(), base()  # warm up
    a, b = best_of(ours, 5), best_of(base, 5)
    print(f"3. curves, {len(x)} points: refresh {a * 1e3:.0f} ms vs bare setData {b * 1e3:.0f} ms -> ratio {a / b:.2f}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        with open(path, "w") as fh:
            fh.writelines(json.dumps(e) + "\n" for e in events())
        bench_replay(path)
        bench_poll(path)
        bench_curves(path)


if __name__ == "__main__":
    from record import recording

    with recording("training_jobs_bench"):
        main()
