"""Regenerate the README's "Runs and sweeps" screenshots (a 16-trial sweep on a small synthetic set,
a few minutes on 2 cores):

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 docs/make_runs_screenshots.py [OUT_FOLDER]

docs/sweep.png (the training panel's Sweep tab: the trials, the best one, parallel coordinates and
the metric against each parameter) and docs/compare-runs.png (three of its trials compared:
overlaid curves, the configs' differing keys highlighted).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_screenshots import save_small, spin, wait  # noqa: E402


def make_sweep(work: Path) -> Path:
    from hpe_core.commands.train import resolve_config_path
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress
    from hpe_core.training.config_data import apply_overrides, read_mapping
    from hpe_core.training.runs.sweep import SweepSpec, run_sweep
    from hpe_core.training.runs.sweep_space import parse_param

    data = synthesize(SynthSpec(work / "data", poses=120, cameras=4, size=32, subjects=4, seed=1), NullProgress())
    raw = apply_overrides(read_mapping(resolve_config_path("lift_cpu")),
                          [f"data.path={work / 'data'}", "train.epochs=6", "model.options.linear_size=64",
                           "train.batch_size=32", "train.log_every=2", "schedule.step_epoch=5"])
    del data
    spec = SweepSpec(config=raw, params=(parse_param("optim.lr=log:1e-4..3e-2"),
                                         parse_param("model.options.dropout=0.0,0.25,0.5")),
                     metric="val/pa_mpjpe", sampler="tpe", trials=16, seed=2, study_name="lift-lr-dropout")
    folder = work / "lift-lr-dropout"
    run_sweep(spec, folder)
    return folder


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    work = Path(tempfile.mkdtemp(prefix="hpe-runs-shots-"))
    os.environ["HPE_STUDIO_CONFIG_DIR"] = str(work / "config")
    os.environ["HPE_STUDIO_DATA_DIR"] = str(work / "studio")
    folder = make_sweep(work)
    app = QApplication(sys.argv[:1])
    from app.views.training_view import TrainingView
    from app.workers.training_jobs import TrainingJobsManager
    from app.workspace import Workspace

    manager = TrainingJobsManager()
    panel = TrainingView(manager, Workspace())
    panel.resize(1600, 1000)
    panel.show()
    view = panel.jobs_view
    view.tabs.setCurrentWidget(view.sweep)
    view.sweep.load(folder)
    spin(app, 1.0)
    save_small(panel.grab().toImage(), out / "sweep.png")
    table = view.sweep.table
    for row in (0, 1, table.rowCount() - 1):  # the two best trials and the worst
        table.cellDoubleClicked.emit(row, 0)
    wait(app, lambda: all(not j.record.active for j in manager.jobs()), "the trials' events")
    view.tabs.setCurrentWidget(view.compare)
    view.jobs.selectAll()
    spin(app, 1.0)
    save_small(panel.grab().toImage(), out / "compare-runs.png")
    manager.shutdown(stop=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent))
