"""Faults and bad input (issue 30), tried as a hostile user would: a full disk (``RLIMIT_FSIZE``,
and a small tmpfs where this machine lets us mount one), read-only folders, ``kill -9`` at seeded
random points of ``hpe predict --out`` and ``hpe report``, bit flips at 20 seeded offsets of a
checkpoint. Each case checks the exit status, one line on stderr naming the file and the cause,
no traceback, no half file under a final name, and the hashes of the files that were there.

The commands run as real processes forked from :mod:`fault_runner` (torch imported once), so a
case costs its own work only. ``HPE_FAULT_TABLE=FILE`` writes the table of every case to FILE.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hpe_core
from hpe_core.predictions import load_prediction

ROOT = Path(__file__).resolve().parents[2]
LIFTER = ROOT / "resources" / "demo" / "lifter.pt"  # 1.2 MB, lifts the dataset's own 2D: fast
TABLE: list[dict] = []


class Runner:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(Path(hpe_core.__file__).resolve().parents[1])}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fault_runner.py"))],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout.readline().strip() == "ready"

    def __call__(self, *argv, **case) -> dict:
        self.proc.stdin.write(json.dumps({"argv": [str(a) for a in argv], **case}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def hpe():
    runner = Runner()
    yield runner
    runner.close()
    if os.environ.get("HPE_FAULT_TABLE"):
        Path(os.environ["HPE_FAULT_TABLE"]).write_text(json.dumps(TABLE, indent=1))


@pytest.fixture(scope="module")
def world(tmp_path_factory, hpe):
    """A synthetic set (4 poses x 2 cameras, 32 px), good predictions of the lifter on it (.npz and
    .json) and a good report, made by the runner; the hashes of the inputs."""
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    root = tmp_path_factory.mktemp("faults")
    synthesize(SynthSpec(root / "ds", poses=4, cameras=2, size=32, subjects=2, seed=3), NullProgress())
    for name in ("good.npz", "good.json"):
        assert hpe("predict", LIFTER, root / "ds", "--out", root / name, "--device", "cpu")["status"] == 0
    assert hpe(*REPORT, root / "ds", LIFTER, "--out", root / "good_report")["status"] == 0
    inputs = {**hashes(root / "ds"), "lifter": sha(LIFTER)}
    return root, inputs


REPORT = ("report", "--no-figures", "--no-analysis", "--split", "all", "--device", "cpu")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def hashes(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> its sha256."""
    return {p.relative_to(folder).as_posix(): sha(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def one_line(result: dict, *words: str) -> str:
    """The one stderr line of a refused command (exit 2, no traceback), holding ``words``."""
    err = result["stderr"]
    assert result["status"] == 2, result
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)
    return err.strip()


def record(case: str, result: dict, line: str, half: bool, unchanged: bool) -> None:
    TABLE.append({"case": case, "status": result["status"], "line": line, "traceback": "Traceback" in result["stderr"],
                  "half_file": half, "hashes_unchanged": unchanged, "seconds": round(result["seconds"], 2)})


def inputs_unchanged(world) -> bool:
    root, inputs = world
    return {**hashes(root / "ds"), "lifter": sha(LIFTER)} == inputs


# --------------------------------------------------------------------------- a full disk
@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_full_disk_predict_keeps_the_previous_file(world, hpe, tmp_path, suffix):
    root, _ = world
    out = tmp_path / f"p{suffix}"
    shutil.copy(root / f"good{suffix}", out)
    before = hashes(tmp_path)
    result = hpe("predict", LIFTER, root / "ds", "--out", out, "--device", "cpu", fsize=out.stat().st_size // 2)
    line = one_line(result, str(out), "file too large")
    assert hashes(tmp_path) == before and inputs_unchanged(world)  # no temporary left, the old file whole
    record(f"full disk (RLIMIT_FSIZE): predict --out {suffix}", result, line, False, True)


def test_full_disk_report_keeps_the_previous_report(world, hpe, tmp_path):
    root, _ = world
    out = tmp_path / "report"
    shutil.copytree(root / "good_report", out)
    before = hashes(tmp_path)
    result = hpe(*REPORT, root / "ds", LIFTER, "--out", out, fsize=4096)
    line = one_line(result, str(out), "file too large")
    assert hashes(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["report"]
    record("full disk (RLIMIT_FSIZE): report --out", result, line, False, True)


def test_full_disk_training_last_pt(world, hpe, tmp_path):
    root, _ = world
    result = hpe("train", *tiny_training(root, tmp_path / "run"), "--events", tmp_path / "events.jsonl",
                 fsize=64 * 1024)
    line = one_line(result, str(tmp_path / "run" / "last.pt"), "file too large")
    assert sorted(os.listdir(tmp_path / "run")) == []  # no half last.pt, no temporary
    events = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "error" and events[-1]["exit_status"] == 2
    record("full disk (RLIMIT_FSIZE): train writing last.pt", result, line, False, True)


def tiny_training(root: Path, output: Path) -> tuple[str, ...]:
    sets = ["data.path=" + str(root / "ds"), "data.image_size=32", "model.width=4", "model.options={proj_dim: 8}",
            "train.epochs=1", "train.batch_size=4", "train.max_steps_per_epoch=1", "train.threads=1"]
    return ("simclr_cpu", "--output", str(output), "--device", "cpu", *[a for s in sets for a in ("--set", s)])


@pytest.fixture()
def tmpfs(tmp_path):
    """A 64 KiB tmpfs mounted at a new folder, where this machine allows it (root with mount)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_full_tmpfs_says_the_disk_is_full(world, hpe, tmpfs):
    root, _ = world
    (tmpfs / "filler").write_bytes(b"\0" * (60 * 1024))
    before = hashes(tmpfs)
    result = hpe("predict", LIFTER, root / "ds", "--out", tmpfs / "p.npz", "--device", "cpu")
    line = one_line(result, str(tmpfs / "p.npz"), "the disk is full")
    assert hashes(tmpfs) == before
    record("full disk (64 KiB tmpfs): predict --out .npz", result, line, False, True)


# --------------------------------------------------------------------------- read-only folders
@pytest.fixture(params=["permission", "mount"])
def read_only(request, tmp_path):
    """A folder without write permission (root loses CAP_DAC_OVERRIDE in the runner), or a
    read-only file system mounted there (EROFS; where this machine allows a mount)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if request.param == "mount":
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot mount a tmpfs here (not root, or no mount permission)")
        yield folder, "read-only file system"
        subprocess.run(["umount", str(folder)], check=True)
        return
    folder.chmod(0o555)
    yield folder, "permission denied"
    folder.chmod(0o755)


@pytest.mark.parametrize("command", ["predict", "report", "train"])
def test_read_only_output_folder(world, hpe, read_only, command):
    root, _ = world
    folder, cause = read_only
    out = folder / {"predict": "p.npz", "report": "report", "train": "run"}[command]
    argv = {"predict": ("predict", LIFTER, root / "ds", "--out", out, "--device", "cpu"),
            "report": (*REPORT, root / "ds", LIFTER, "--out", out),
            "train": ("train", *tiny_training(root, out))}[command]
    result = hpe(*argv, read_only=True)
    line = one_line(result, str(out), cause)
    assert ".tmp" not in line and os.listdir(folder) == [] and inputs_unchanged(world)
    record(f"read-only folder ({cause}): {command} --out", result, line, False, True)


# --------------------------------------------------------------------------- kill -9
def test_kill_predict_at_random_points(world, hpe, tmp_path):
    root, _ = world
    out = tmp_path / "p.npz"
    shutil.copy(root / "good.npz", out)
    full = hpe("predict", LIFTER, root / "ds", "--out", out, "--device", "cpu")
    reference = load_prediction(root / "good.npz").joints_3d
    rng = np.random.default_rng(30)
    for delay in rng.uniform(0.0, 1.2 * full["seconds"], 10):
        previous = sha(out)
        result = hpe("predict", LIFTER, root / "ds", "--out", out, "--device", "cpu", kill_after=float(delay),
                     kill_on_hidden=str(tmp_path))  # or the moment a temporary file shows
        assert os.listdir(tmp_path) == ["p.npz"], (delay, os.listdir(tmp_path))  # no hidden temporary
        if sha(out) != previous:  # replaced: only by a whole file
            np.testing.assert_array_equal(load_prediction(out).joints_3d, reference)
        assert inputs_unchanged(world)
        record(f"kill -9 after {delay:.2f} s: predict --out .npz", result, "", False, True)


REPORT_FILES = {"provenance.json", "report.html", "report.pdf", "metrics.json", "tables"}


def test_kill_report_at_random_points(world, hpe, tmp_path):
    root, _ = world
    out = tmp_path / "report"
    shutil.copytree(root / "good_report", out)
    old = hashes(out)
    full = hpe(*REPORT, root / "ds", LIFTER, "--out", out)
    rng = np.random.default_rng(31)
    for delay in rng.uniform(0.0, 1.2 * full["seconds"], 10):
        result = hpe(*REPORT, root / "ds", LIFTER, "--out", out, kill_after=float(delay))
        now = hashes(out)
        assert REPORT_FILES <= set(os.listdir(out)), (delay, os.listdir(out))  # a whole report, never a part
        assert now.keys() == old.keys() and now["tables/overall.csv"] == old["tables/overall.csv"], delay
        assert inputs_unchanged(world)
        record(f"kill -9 after {delay:.2f} s: report --out", result, "", False, True)
    assert hpe(*REPORT, root / "ds", LIFTER, "--out", out)["status"] == 0
    assert sorted(os.listdir(tmp_path)) == ["report"]  # what a killed run left is gone after the next


# --------------------------------------------------------------------------- bit flips
def test_bit_flips_are_refused_or_harmless(world, hpe, tmp_path):
    """20 seeded single-bit flips of a checkpoint: each is refused with one line naming the file,
    or (a flip in bytes no reader uses, e.g. the zip's alignment padding) predicts exactly the
    same poses as the intact file; never a silently different result."""
    root, _ = world
    data = LIFTER.read_bytes()
    reference = load_prediction(root / "good.npz").joints_3d
    rng = np.random.default_rng(3)
    refused = 0
    for k, offset in enumerate(rng.integers(0, len(data), 20)):
        flipped = bytearray(data)
        flipped[offset] ^= 1 << int(rng.integers(8))
        ckpt = tmp_path / f"flip{k}.pt"
        ckpt.write_bytes(bytes(flipped))
        out = tmp_path / f"flip{k}.npz"
        result = hpe("predict", ckpt, root / "ds", "--out", out, "--device", "cpu")
        if result["status"] == 0:
            np.testing.assert_array_equal(load_prediction(out).joints_3d, reference, err_msg=f"offset {offset}")
            line = "(loads: the flip is in bytes no reader uses; identical poses)"
        else:
            line = one_line(result, str(ckpt))
            assert not out.exists()
            refused += 1
        record(f"bit flip at byte {offset}: predict", result, line, False, True)
    assert refused >= 15  # nearly every byte of a checkpoint is weights or pickle, under a CRC
