"""Where the built-in demo lives: the synthetic dataset and the demo checkpoints."""

from __future__ import annotations

from pathlib import Path

from app.model import messages
from hpe_core.errors import InputError

# Checkpoints with a pose head first: the first one found becomes the active checkpoint.
DEMO_CHECKPOINTS = ("simclr_regress2.pt", "simsiam_regress2.pt",
                    "heatmap2d.pt", "lifter.pt")  # seed 001: image -> 2D heatmaps, 2D -> 3D lifting


class DemoUnavailable(InputError):
    """The demo is not part of this installation."""


def demo_checkpoints() -> list[Path]:
    from hpe_core import resources_dir

    folder = resources_dir() / "demo"
    return [folder / name for name in DEMO_CHECKPOINTS if (folder / name).is_file()]


def demo_paths_job():
    """``fn(progress) -> [dataset, checkpoints...]``; (re)generates the dataset when needed."""

    def run(progress):
        progress.set_status("Preparing the demo dataset")
        try:
            from hpe_core.datasets.demo import demo_dataset_path
        except ImportError:
            raise DemoUnavailable(messages.NO_DEMO) from None
        path = demo_dataset_path(progress=progress)
        if path is None or not Path(path).exists():
            raise DemoUnavailable(messages.NO_DEMO)
        return [Path(path), *demo_checkpoints()]

    return run
