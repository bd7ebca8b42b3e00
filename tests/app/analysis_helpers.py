"""Real files for the analysis views' tests: a small synthetic dataset (multi-view, with actions
and subjects), SimCLR / SimSiam encoders (ResNet18 width 8) and a regressor on each."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

POSES, CAMERAS, SIZE = 16, 3, 64


def make_analysis_files(root: Path) -> SimpleNamespace:
    import torch

    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.models import build_model, regressor_from, save_checkpoint
    from hpe_core.progress import NullProgress

    root.mkdir(parents=True, exist_ok=True)
    dataset = Path(synthesize(SynthSpec(root / "synth", poses=POSES, cameras=CAMERAS, size=SIZE, seed=0,
                                        subjects=3), NullProgress()))
    torch.manual_seed(0)
    simclr = build_model("simclr", "resnet18", width=8)
    torch.manual_seed(1)
    simsiam = build_model("simsiam", "resnet18", width=8)
    paths = {"dataset": dataset, "root": root}
    for name, model in (("simclr", simclr), ("simsiam", simsiam)):
        paths[name] = save_checkpoint(root / f"{name}.pt", model)
        torch.manual_seed(2)
        reg = regressor_from(model, head_layers=2, pose_scale=100.0)
        paths[f"{name}_regress"] = save_checkpoint(root / f"{name}_regress2.pt", reg)
    return SimpleNamespace(**paths)


def wait_task(qtbot, slot, timeout: int = 60_000) -> None:
    """Wait until a view's TaskSlot has no running task."""
    qtbot.waitUntil(lambda: slot.task is None, timeout=timeout)
