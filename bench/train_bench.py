"""Training-loop overhead: steps/s of ``run_training`` against a bare PyTorch loop.

    python bench/train_bench.py            # SimCLR, ResNet18 width 16, 64 px, batch 64, 30 steps
    python bench/train_bench.py --quick    # fewer steps

Both loops do the same work on the same batches: the same synthetic dataset, the same
``TwoViewDataset`` items in the same order (``EpochBatches``), the same model initialisation,
forward through encoder and projection, NT-Xent, backward, Adam step. The loop adds what makes it
a training job: per-sample seeded RNG, the schedule, the finite-loss check, events and progress,
the stop check. Steps/s are timed from the end of a warm-up to the last step (the first
``--warmup`` steps and the evaluation and checkpoint at the end are outside the timing), best
of ``--repeats`` alternating runs. The ratio loop / bare is the figure (1.0 = no overhead).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_dataset(folder: Path) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = folder / "data"
    synthesize(SynthSpec(out, poses=900, cameras=4, size=64, subjects=4), NullProgress())
    return out


def config(dataset: Path, output: Path, steps: int, threads: int):
    from hpe_core.training.config import config_from_dict

    return config_from_dict({
        "task": "simclr", "data": {"path": str(dataset), "image_size": 64, "augment": "none",
                                   "max_eval_samples": 64},
        "model": {"width": 16}, "optim": {"name": "adam", "lr": 0.001},
        "train": {"epochs": 1, "batch_size": 64, "max_steps_per_epoch": steps, "log_every": 1,
                  "output": str(output), "threads": threads, "seed": 0}})


def time_loop(cfg, warmup: int) -> float:
    """Seconds per step of ``run_training``, from the events of its steps."""
    from hpe_core.training.events import EventWriter
    from hpe_core.training.loop import run_training

    events = EventWriter(None)
    run_training(cfg, events=events)
    times = [e["time"] for e in events.events if e["type"] == "progress"]
    return (times[-1] - times[warmup - 1]) / (len(times) - warmup)


def time_bare(cfg, warmup: int) -> float:
    """Seconds per step of a plain loop over the same batches."""
    import torch
    from torch.utils.data import DataLoader

    from hpe_core.datasets import open_dataset
    from hpe_core.datasets.torch_data import TwoViewDataset, collate
    from hpe_core.losses import nt_xent
    from hpe_core.models import build_model
    from hpe_core.training.data import EpochBatches

    torch.manual_seed(cfg.train.seed)
    torch.set_num_threads(cfg.train.threads)
    dataset = open_dataset(cfg.data.path)
    items = TwoViewDataset(dataset, dataset.split_indices("train"), image_size=64, augment="none")
    model = build_model("simclr", "resnet18", width=cfg.model.width)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    sampler = EpochBatches(len(items), cfg.train.batch_size, cfg.train.seed, 0,
                           max_batches=cfg.train.max_steps_per_epoch)
    stamps = []
    for batch in DataLoader(items, batch_sampler=sampler, collate_fn=collate):
        feats = model.features(torch.cat([batch["view1"], batch["view2"]]), ["projection"])
        z1, z2 = feats["projection"].chunk(2)
        loss = nt_xent(z1, z2, 0.5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        float(loss.detach())  # the loop reads the loss too
        stamps.append(time.time())
    return (stamps[-1] - stamps[warmup - 1]) / (len(stamps) - warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    steps = 12 if args.quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dataset = make_dataset(tmp)
        cfg = config(dataset, tmp / "run", steps, args.threads)
        loop, bare = [], []
        for _ in range(args.repeats):
            bare.append(time_bare(cfg, args.warmup))
            loop.append(time_loop(cfg, args.warmup))
    b, lp = min(bare), min(loop)
    print(f"bare PyTorch loop   {1 / b:7.2f} steps/s  ({b * 1000:.0f} ms/step, batch 64 pairs)")
    print(f"hpe training loop   {1 / lp:7.2f} steps/s  ({lp * 1000:.0f} ms/step)")
    print(f"ratio loop/bare     {b / lp:7.3f}  (aim >= 0.9)")


if __name__ == "__main__":
    from record import recording

    with recording("train_bench"):
        main()
