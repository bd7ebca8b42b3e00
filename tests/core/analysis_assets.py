"""Small real files for the analysis and inference tests: a synthetic dataset, tiny checkpoints,
a video with one undecodable frame. Everything is seeded and made in a temporary folder."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIZE = 64
BROKEN = 4  # the sample whose image file holds garbage


@dataclass(frozen=True)
class Assets:
    root: Path
    dataset: Path        # 10 poses x 3 cameras, 64 px; sample BROKEN's image is not an image
    simclr: Path         # resnet18 width 8, SimCLR heads
    simsiam: Path        # resnet18 width 8, SimSiam heads (another seed)
    regressor: Path      # the SimCLR encoder + a 2-layer pose head (panoptic19)
    video: Path          # 8 frames of 64 x 48, MJPG
    bad_video: Path      # the same with frame 3's data zeroed
    cache: Path


def make_assets(root: Path) -> Assets:
    import torch

    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.models import build_model, regressor_from, save_checkpoint
    from hpe_core.progress import NullProgress

    root.mkdir(parents=True, exist_ok=True)
    dataset = Path(synthesize(SynthSpec(root / "synth", poses=10, cameras=3, size=IMAGE_SIZE, seed=0),
                              NullProgress()))
    from hpe_core.datasets import open_dataset

    open_dataset(dataset).image_path(BROKEN).write_bytes(b"not an image at all")
    torch.manual_seed(0)
    simclr = build_model("simclr", "resnet18", width=8)
    _randomise_batchnorm(simclr)
    reg = regressor_from(simclr, head_layers=2, pose_scale=100.0)
    torch.manual_seed(1)
    simsiam = build_model("simsiam", "resnet18", width=8)
    paths = {}
    for name, model in (("simclr", simclr), ("simsiam", simsiam), ("regressor", reg)):
        paths[name] = save_checkpoint(root / f"{name}.pt", model)
    video = write_video(root / "clip.avi", 8)
    bad = corrupt_video_frame(video, root / "clip_bad.avi", 3)
    return Assets(root, dataset, paths["simclr"], paths["simsiam"], paths["regressor"], video, bad,
                  root / "cache")


def _randomise_batchnorm(model) -> None:
    """Non-trivial running statistics, so folding BatchNorm into convolutions is really tested."""
    import torch

    gen = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def frame_image(i: int, h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth, seeded RGB frame (compresses well, decodes close to itself)."""
    rng = np.random.default_rng(i)
    y, x = np.mgrid[:h, :w]
    base = np.stack([np.sin(x / (5 + c) + i) * np.cos(y / (7 + c)) for c in range(3)], -1)
    return ((base * 0.5 + 0.5) * 200 + rng.integers(0, 20, (1, 1, 3))).astype(np.uint8)


def write_video(path: Path, frames: int) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(frames):
        writer.write(cv2.cvtColor(frame_image(i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def corrupt_video_frame(src: Path, dst: Path, frame: int) -> Path:
    """Copy an MJPG AVI with the JPEG data of ``frame`` zeroed (the decoder refuses that frame)."""
    data = bytearray(src.read_bytes())
    movi = data.index(b"movi")
    chunks = [m.start() for m in re.finditer(b"00dc", data) if m.start() > movi]
    start = chunks[frame]
    size = struct.unpack("<I", data[start + 4:start + 8])[0]
    data[start + 8:start + 8 + size] = bytes(size)
    dst.write_bytes(bytes(data))
    return dst


def demo_checkpoint(name: str) -> Path:
    """A shipped demo checkpoint (resources/demo); the test is skipped when the demo is not built."""
    import pytest

    from hpe_core import resources_dir

    path = resources_dir() / "demo" / name
    if not path.is_file():
        pytest.skip(f"resources/demo/{name} is not built ('hpe demo build')")
    return path


def demo_like_views(root: Path) -> Path:
    """60 new poses x 4 cameras from the demo's generator settings (another seed: unseen poses)."""
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    return Path(synthesize(SynthSpec(root / "views", poses=60, cameras=4, size=96, seed=1, subjects=12),
                           NullProgress()))
