"""Bad input (issue 30): each refused with one line naming the file, the field or the key, and
what it looks like: sizes that cannot fit, negative counts, a resumed copy of a run, predictions
in the wrong units, a Human3.6M 2D file that does not cover the 3D file, image folders with broken
files, malformed COCO and safetensors files, a damaged native set, a refused training, a changed
checkpoint, and CJK names in report figures."""

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from hpe_core.cli import main
from hpe_core.datasets import open_dataset
from hpe_core.errors import DatasetError, InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ds(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("bad") / "ds"
    synthesize(SynthSpec(out, poses=4, cameras=2, size=32, subjects=2, seed=5), NullProgress())
    return out


def refused(capsys, *argv) -> str:
    """The one stderr line of ``hpe argv`` (exit 2, no traceback)."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, (code, err)
    return err.strip()


def training(ds: Path, output, *sets: str) -> list[str]:
    base = [f"data.path={ds}", "data.image_size=32", "model.width=4", "model.options={proj_dim: 8}",
            "train.epochs=1", "train.batch_size=4", "train.max_steps_per_epoch=2", "train.threads=1", *sets]
    return ["train", "simclr_cpu", "--output", str(output), "--device", "cpu", *[a for s in base for a in ("--set", s)]]


def hashes(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------- 4: config checks
@pytest.mark.parametrize("width, words", [(1_000_000_000, "too large to build"), (20_000, "GiB")])
def test_a_model_that_cannot_fit_is_refused_before_allocating(ds, tmp_path, capsys, width, words):
    line = refused(capsys, *training(ds, tmp_path / "run", f"model.width={width}"))
    assert words in line and "model.width" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("key, value, words", [
    ("data.max_train_samples", -100, "data.max_train_samples: must be at least 1, got -100"),
    ("data.max_train_samples", -5, "data.max_train_samples: must be at least 1, got -5"),
    ("data.max_eval_samples", 0, "data.max_eval_samples: must be at least 1, got 0"),
    ("optim.momentum", 1.5, "optim.momentum: must be in [0, 1), got 1.5"),
    ("optim.lr", float("nan"), "optim.lr: must be a finite number, got nan"),
    ("schedule.warmup_epochs", -1, "schedule.warmup_epochs: must be 0 or more, got -1.0"),
    ("train.seed", -3, "train.seed: must be 0 or more, got -3"),
])
def test_every_numeric_key_has_a_range(key, value, words):
    from hpe_core.training.config import config_from_dict, validate

    section, name = key.split(".")
    config = config_from_dict({"task": "simclr", "data": {"path": "demo"}, section: {name: value}})
    with pytest.raises(InputError) as info:
        validate(config)
    assert str(info.value) == words


# --------------------------------------------------------------------------- 5: --resume of a copy
def test_resuming_a_copied_run_writes_beside_the_copy(ds, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(training(ds, "runA")) == 0  # recorded output: "runA", relative to this folder
    shutil.copytree("runA", "copy")
    original = hashes(tmp_path / "runA")
    capsys.readouterr()
    assert main(["train", "--resume", "copy/last.pt", "--set", "train.epochs=2", "--device", "cpu"]) == 0
    assert hashes(tmp_path / "runA") == original  # the original run is untouched
    resumed = torch.load(tmp_path / "copy" / "last.pt", weights_only=True)["training"]
    assert resumed["epoch"] == 2
    line = refused(capsys, "train", "--resume", "copy/last.pt", "--output", "runA", "--set", "train.epochs=3")
    assert "--output runA: holds another run's checkpoints" in line
    assert hashes(tmp_path / "runA") == original


# --------------------------------------------------------------------------- 7: units
def test_metres_declared_as_millimetres_are_refused(ds, tmp_path, capsys):
    joints = open_dataset(ds).joints_3d
    np.save(tmp_path / "metres.npy", joints / 1000.0)
    line = refused(capsys, "evaluate", "--pred", tmp_path / "metres.npy", ds, "--units", "mm", "--split", "all")
    assert "look like metres" in line and "pass --units m" in line and "metres.npy" in line
    assert main(["evaluate", "--pred", str(tmp_path / "metres.npy"), str(ds), "--units", "m", "--split", "all"]) == 0
    np.save(tmp_path / "mm.npy", joints)
    assert "look like micrometres" in refused(capsys, "evaluate", "--pred", tmp_path / "mm.npy", ds, "--units", "m")


# --------------------------------------------------------------------------- 8: Human3.6M 2D
def test_a_h36m_2d_file_must_cover_the_3d_file(tmp_path):
    rng = np.random.default_rng(0)
    poses = {"S1": {"Walking": rng.normal(0, 0.3, (10, 32, 3)), "Directions": rng.normal(0, 0.3, (6, 32, 3))},
             "S9": {"Eating": rng.normal(0, 0.3, (5, 32, 3))}}
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=poses)
    two_d = {"S1": {"Walking": [rng.uniform(0, 900, (7, 17, 2)) for _ in range(4)]},
             "S9": {"Eating": [rng.uniform(0, 900, (5, 17, 2)) for _ in range(4)]}}
    np.savez(tmp_path / "data_2d_h36m_gt.npz", positions_2d=two_d)
    with pytest.raises(DatasetError) as info:
        open_dataset(tmp_path)
    text = str(info.value)
    assert "does not cover data_3d_h36m.npz" in text and "S1/Directions" in text
    assert "S1/Walking (7 of 10 frames)" in text and "S9/Eating" not in text


# --------------------------------------------------------------------------- 9: files left out
def test_data_check_and_info_name_every_file_left_out(ds, tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    good = sorted((ds / "images").rglob("*.jpg"))[0].read_bytes()
    (folder / "good.jpg").write_bytes(good)
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not an image")
    for command in ("check", "info"):
        assert main(["data", command, str(folder)]) == 0
        out = capsys.readouterr().out
        assert "left out (not samples): 3 file(s)" in out, out
        for name, why in (("truncated.jpg", "truncated"), ("empty.png", "empty"), ("notes.jpg", "not an image")):
            assert f"  {name}: {why}" in out, (command, out)


# --------------------------------------------------------------------------- 10: malformed files
@pytest.mark.parametrize("change, field", [
    (lambda d: d["annotations"][0].update(keypoints=["x"] * 51), "annotations[0].keypoints: expected 51 numbers"),
    (lambda d: d["annotations"][1].update(image_id=99), "annotations[1].image_id: 99 is not the id"),
    (lambda d: d["annotations"][1].update(keypoints=[1.0] * 50), "annotations[1].keypoints: expected 51 numbers"),
    (lambda d: d["images"][0].pop("id"), "images[0].id: expected an integer"),
])
def test_malformed_coco_names_the_field(tmp_path, capsys, change, field):
    kps = [10.0, 20.0, 2] * 17
    doc = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
           "annotations": [{"id": 5, "image_id": 1, "keypoints": list(kps)}, {"id": 6, "image_id": 2, "keypoints": list(kps)}]}
    change(doc)
    path = tmp_path / "person_keypoints_val.json"
    path.write_text(json.dumps(doc))
    assert field in refused(capsys, "data", "info", path)


def test_a_safetensors_header_longer_than_its_file(tmp_path, capsys):
    path = tmp_path / "big.safetensors"
    path.write_bytes((10 ** 12).to_bytes(8, "little") + b'{"a": {"dtype": "F32"}}')
    line = refused(capsys, "inspect", path)
    assert "damaged safetensors file: its header length field says 1,000,000,000,000 bytes" in line


def test_a_native_set_without_its_manifest_is_named_damaged(ds, tmp_path, capsys):
    copy = shutil.copytree(ds, tmp_path / "copy")
    (copy / "dataset.json").unlink()
    assert "a damaged HPE Studio dataset: annotations.npz is there but its manifest dataset.json is missing" in \
        refused(capsys, "data", "info", copy)


def test_a_refused_training_leaves_no_folder(ds, tmp_path, capsys):
    line = refused(capsys, *training(tmp_path / "nowhere", tmp_path / "run"))
    assert "nowhere" in line and not (tmp_path / "run").exists()
    images = tmp_path / "images"
    shutil.copytree(ds / "images", images)  # images without joints: regress3d needs 3D joints
    line = refused(capsys, *training(images, tmp_path / "run"), "--set", "task=regress3d",
                   "--set", "regression.encoder=random")
    assert "3D joints" in line and not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- 3: content hash
def test_inspect_checks_the_content_hash(tmp_path, capsys):
    from hpe_core.models.checkpoint import save_checkpoint
    from hpe_core.models.families import build_model

    path = save_checkpoint(tmp_path / "lifter.pt", build_model("lifter", None, num_joints=19, linear_size=32, num_stage=1))
    assert main(["inspect", str(path)]) == 0
    assert "weights match the stored content hash" in capsys.readouterr().out
    raw = torch.load(path, weights_only=True)
    first = next(k for k, v in raw["state_dict"].items() if v.is_floating_point())
    raw["state_dict"][first] = raw["state_dict"][first] + 1e-3  # a consistent file with changed weights
    torch.save(raw, tmp_path / "changed.pt")
    assert "do not match the content hash stored when it was saved" in refused(capsys, "inspect", tmp_path / "changed.pt")


# --------------------------------------------------------------------------- 11: CJK in figures
def test_cjk_names_draw_in_report_figures(tmp_path):
    import matplotlib.pyplot as plt

    from hpe_core.report.style import fallback_fonts, save_figure, use_style

    use_style()
    assert fallback_fonts(), "no CJK font on this machine (.ci/run installs fonts-wqy-microhei)"
    fig = plt.figure()
    fig.suptitle("模型 走路 テスト 한국어")
    fig.add_subplot().bar(["坐下", "Walking"], [1, 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_figure(fig, tmp_path, "cjk")
    plt.close(fig)
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
