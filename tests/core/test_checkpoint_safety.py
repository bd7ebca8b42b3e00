"""Loading never runs code from a file; unreadable files get one clear message; `hpe inspect`."""

import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from checkpoint_factories import torchvision
from hpe_core.cli import main
from hpe_core.errors import CheckpointError
from hpe_core.models import build_model, inspect_checkpoint, load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "checkpoints" / "native_v1_regressor.pt"


class _Planted:
    """Unpickling this would create ``marker`` (it asks pickle to call os.system)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Net(torch.nn.Module):  # torch.save(model) stores the class by reference: code to import
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)


@pytest.mark.parametrize("how", ["torch.save", "legacy", "pickle"])
def test_a_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path, how):
    marker = tmp_path / "ran"
    payload = {"state_dict": torch.nn.Linear(2, 2).state_dict(), "hook": _Planted(marker)}
    path = tmp_path / "evil.pt"
    if how == "pickle":
        path.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=(how == "torch.save"))
    with pytest.raises(CheckpointError, match=r"evil.pt: refused: unpickling it needs arbitrary code execution"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_whole_pickled_module_is_refused_naming_its_class(tmp_path):
    torch.save(_Net(), tmp_path / "net.pt")
    with pytest.raises(CheckpointError, match=r"arbitrary code execution \(it refers to .*_Net\)"):
        inspect_checkpoint(tmp_path / "net.pt")


def test_loading_uses_neither_pickle_load_nor_eval(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", build_model("simclr", "resnet18", width=2))
    torch.save({"state_dict": torchvision("resnet18", 2).obj, "epoch": 1}, tmp_path / "tv.pth")

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle.load / eval must not be used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr("builtins.eval", forbidden)
    assert load_checkpoint(path)[1].family == "simclr"
    assert load_checkpoint(tmp_path / "tv.pth")[1].layout == "torchvision"


def test_source_never_disables_weights_only():
    text = "\n".join(p.read_text() for p in (ROOT / "hpe_core" / "models").glob("*.py"))
    assert "weights_only=True" in text
    assert not re.search(r"weights_only\s*=\s*False|pickle\.load|(?<![.\w])eval\(|allow_pickle\s*=\s*True", text)


def _good_bytes() -> bytes:
    return FIXTURE.read_bytes()


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (lambda: _good_bytes()[: len(_good_bytes()) // 2], "truncated or corrupt"),
    (lambda: _good_bytes()[:-30], "truncated or corrupt"),
    (lambda: pickle.dumps({"w": 1}, protocol=2)[:-3], "truncated or corrupt"),
    (b"\x89HDF\r\n\x1a\n" + bytes(64), "an HDF5 file"),
    (b"\x93NUMPY\x01\x00" + bytes(64), "a NumPy .npy array"),
    (json.dumps({"conv1.weight": [1, 2]}).encode(), "a text file, not a PyTorch checkpoint"),
    (bytes(range(7, 250)), "not a PyTorch checkpoint \\(unknown file type\\)"),
    (b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":1}" + bytes(8), "safetensors file is truncated or corrupt"),
])
def test_unreadable_files_get_one_clear_message_naming_them(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content() if callable(content) else content)
    with pytest.raises(CheckpointError, match=f"bad.pt: .*{message}"):
        load_checkpoint(path)


def test_other_archives_are_named(tmp_path):
    np.savez(tmp_path / "w.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="w.npz: a NumPy .npz archive"):
        load_checkpoint(tmp_path / "w.npz")
    with zipfile.ZipFile(tmp_path / "w.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="w.zip: a zip archive that is not a PyTorch checkpoint"):
        load_checkpoint(tmp_path / "w.zip")
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07\x12\x04onnx" + bytes(40))
    with pytest.raises(CheckpointError, match="m.onnx: a .onnx file of another framework"):
        load_checkpoint(tmp_path / "m.onnx")


@pytest.mark.parametrize("obj, message", [
    ([torch.zeros(2)], "holds a list, not a dict of weights"),
    ({"epoch": 3, "args": {"lr": 0.1}}, r"holds no tensors \(its keys: epoch, args\)"),
    ({"vit.blocks.0.attn.qkv.weight": torch.zeros(6, 2)}, "holds no ResNet backbone"),
])
def test_pytorch_files_that_hold_no_resnet_are_refused(tmp_path, obj, message):
    torch.save(obj, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=f"other.pt: {message}"):
        load_checkpoint(tmp_path / "other.pt")


def test_hpe_inspect_prints_the_record(capsys):
    assert main(["inspect", str(FIXTURE), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["family"], info["backbone"], info["layout"], info["joints"]) == ("regressor", "resnet18", "hpe-studio", 19)
    assert info["heads"]["pose"]["dims"] == [16, 128, 54] and info["conv1_shape"] == [2, 3, 7, 7]
    assert main(["inspect", str(FIXTURE)]) == 0
    text = capsys.readouterr().out
    assert "family      regressor" in text and "pose: 16 -> 128 -> 54" in text and "joints      19" in text


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), "the file is empty"),
    (lambda p: torch.save({"x": _Planted(p.with_suffix(".ran"))}, p), "arbitrary code execution"),
    (lambda p: None, "no such checkpoint file"),
])
def test_hpe_inspect_exits_2_with_one_line_and_no_traceback(tmp_path, capsys, make, message):
    path = tmp_path / "c.pt"
    make(path)
    assert main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and re.match(rf"hpe inspect: error: .*c.pt.*{message}", captured.err)
    assert not path.with_suffix(".ran").exists()


def test_hpe_inspect_in_a_fresh_process(tmp_path):
    """The real entry point: exit status 2 and one line on stderr for a corrupt file."""
    (tmp_path / "junk.pth").write_bytes(b"PK\x03\x04" + bytes(100))
    run = subprocess.run([sys.executable, "-m", "hpe_core.cli", "inspect", str(tmp_path / "junk.pth")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        f"hpe inspect: error: {tmp_path / 'junk.pth'}: the file is truncated or corrupt (its zip archive has no end)"]
