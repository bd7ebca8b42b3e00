"""``hpe demo build-unihpe``: the demo's UniHPE checkpoint, built on its own (quick here)."""

import json
import subprocess
import sys
from pathlib import Path

import torch

from hpe_core.models.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_unihpe_demo_build_writes_a_loadable_checkpoint_and_its_figures(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "hpe_core.cli", "demo", "build-unihpe", "--quick",
                             "--out", str(out), "--json"], capture_output=True, text=True, cwd=ROOT,
                            timeout=900, env={**__import__("os").environ, "HPE_STUDIO_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert sorted(p.name for p in out.iterdir()) == ["configs", "unihpe.pt", "unihpe_metrics.json"]
    model, info = load_checkpoint(out / "unihpe.pt")
    assert info.family == "unihpe" and model.modality_token and info.dtype == "float16"
    assert all(p.dtype == torch.float32 for p in model.parameters())  # stored as fp16, loaded as fp32
    assert json.loads((out / "configs" / "unihpe.json").read_text())["unihpe"]["stage"] == 3
    paths = doc["evaluation"]["paths"]
    assert paths["image_to_3d"]["mpjpe"] > 0 and paths["pose2d_to_3d"]["mpjpe"] > 0
    assert doc["bytes"] == (out / "unihpe.pt").stat().st_size


def test_the_shipped_unihpe_checkpoint_matches_its_figures_and_predicts():
    from hpe_core import resources_dir
    from hpe_core.models.checkpoint import file_hash
    from hpe_core.models.families import FAMILIES

    demo = resources_dir() / "demo"
    doc = json.loads((demo / "unihpe_metrics.json").read_text())
    assert file_hash(demo / doc["file"]) == doc["sha256"] and doc["bytes"] < 5 * 2**20
    model, info = load_checkpoint(demo / doc["file"])
    assert info.family == "unihpe" and model.modality_token
    with torch.no_grad():
        pred = FAMILIES["unihpe"].predict(model, {"image": torch.zeros(2, 3, model.image_size, model.image_size)})
    assert pred.joints_3d.shape == (2, model.num_joints, 3) and set(pred.embeddings) == {"image"}
