"""The cluster bridge: exported job folders, and a Slurm job run here through local shims.

``sbatch``, ``srun`` and ``scontrol`` are replaced by small shell scripts on PATH: ``sbatch``
runs the batch script with the ``SLURM_*`` variables set (and runs it again after a
``scontrol requeue``, as Slurm would), ``srun`` starts its command on this machine, ``scontrol``
answers ``show hostnames`` and records ``requeue``. The training itself is real: ``torchrun``
with 2 gloo processes on the CPU. The time limit's SIGUSR1 is sent to the batch shell by hand,
as ``#SBATCH --signal=B:USR1@...`` would.
"""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from hpe_core.errors import InputError
from hpe_core.training.cluster import (ClusterOptions, export_job, locate_checkpoints, pull_checkpoints,
                                       time_limit_seconds)
from hpe_core.training.config import config_from_dict
from hpe_core.training.config_data import apply_overrides
from hpe_core.training.events import read_events

ROOT = Path(__file__).resolve().parents[2]

SBATCH = r"""#!/usr/bin/env bash
# sbatch shim: run the batch script here; run it again while scontrol asked for a requeue
set -u
script="$1"
nodes=$(sed -n 's/^#SBATCH --nodes=//p' "$script")
out=$(sed -n 's/^#SBATCH --output=//p' "$script")
export SLURM_JOB_ID="$SHIM_JOB_ID" SLURM_NNODES="$nodes" SLURM_JOB_NODELIST=localhost
out="${out//%j/$SLURM_JOB_ID}"
restart=0
while :; do
    export SLURM_RESTART_COUNT=$restart
    bash "$script" >> "$out" 2>&1 &
    pid=$!
    echo "$pid" > "$SHIM_DIR/batch-$restart.pid"
    wait "$pid"
    echo $? > "$SHIM_DIR/batch-$restart.status"
    [ -f "$SHIM_DIR/requeue-$SLURM_JOB_ID" ] || break
    rm "$SHIM_DIR/requeue-$SLURM_JOB_ID"
    restart=$((restart + 1))
done
"""
SRUN = r"""#!/usr/bin/env bash
# srun shim: one task on this node; drop srun's own options, run the command in its place
while [ $# -gt 0 ] && [ "${1#--}" != "$1" ]; do shift; done
exec "$@"
"""
SCONTROL = r"""#!/usr/bin/env bash
# scontrol shim: 'show hostnames LIST' and 'requeue JOBID'
case "$1 ${2:-}" in
    "show hostnames") echo localhost ;;
    "requeue "*) touch "$SHIM_DIR/requeue-$2" ;;
    *) echo "scontrol shim: unsupported: $*" >&2; exit 1 ;;
esac
"""


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize
    from hpe_core.progress import NullProgress

    out = tmp_path_factory.mktemp("data") / "tiny"
    synthesize(SynthSpec(out, poses=20, cameras=4, size=32, subjects=3, seed=1), NullProgress())
    return out


def tiny_config(dataset: Path, *overrides: str):
    raw = {"task": "simclr", "data": {"path": str(dataset), "image_size": 32},
           "model": {"width": 4, "options": {"proj_dim": 16}}, "optim": {"name": "adam", "lr": 0.01},
           "schedule": {"name": "cosine", "warmup_epochs": 0.5},
           "train": {"epochs": 2, "batch_size": 4, "output": "runs/x", "log_every": 1, "seed": 3,
                     "threads": 1, "device": "cpu"}}
    return config_from_dict(apply_overrides(raw, list(overrides)))


def shims(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("sbatch", SBATCH), ("srun", SRUN), ("scontrol", SCONTROL)):
        path = folder / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weights(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


# ----------------------------------------------------------------------------- the folder
def test_exported_slurm_folder_has_config_script_and_readme(tiny_dataset, tmp_path):
    options = ClusterOptions(nodes=4, gpus_per_node=8, time="1-12:00:00", partition="gpu", account="proj7",
                             shared_path="/scratch/me/simclr", requeue_grace_s=600, cpus_per_task=32,
                             setup="module load cuda/12", extra_sbatch=("--qos=long",))
    job = export_job(tiny_config(tiny_dataset, "train.batch_size=64", "train.device=auto"), tmp_path / "job",
                     options)
    assert sorted(p.name for p in job.folder.iterdir()) == ["README.md", "config.yaml", "job.sbatch"]
    config = yaml.safe_load(job.config.read_text())
    assert config["train"]["output"] == "/scratch/me/simclr/checkpoints" and config["train"]["batch_size"] == 64
    script = job.script.read_text()
    assert subprocess.run(["bash", "-n", str(job.script)], capture_output=True).returncode == 0
    directives = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    for wanted in ("--nodes=4", "--gpus-per-node=8", "--time=1-12:00:00", "--partition=gpu", "--account=proj7",
                   "--cpus-per-task=32", "--requeue", "--signal=B:USR1@600", "--qos=long",
                   "--output=/scratch/me/simclr/slurm-%j.out"):
        assert f"#SBATCH {wanted}" in directives
    assert "--nproc-per-node=8" in script and "SIGUSR1" in script and "scontrol requeue" in script
    assert 'JOB_DIR="${HPE_JOB_DIR:-/scratch/me/simclr}"' in script and "module load cuda/12" in script
    readme = job.readme.read_text()
    assert "sbatch /scratch/me/simclr/job.sbatch" in readme and "tail -f /scratch/me/simclr/events.jsonl" in readme
    assert "nccl" in readme


def test_exported_torchrun_script_passes_bash_n(tiny_dataset, tmp_path):
    job = export_job(tiny_config(tiny_dataset), tmp_path / "job", ClusterOptions(kind="torchrun", gpus_per_node=2))
    assert job.script.name == "run.sh" and os.access(job.script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(job.script)], capture_output=True).returncode == 0
    assert "--nproc-per-node=2" in job.script.read_text() and job.submit == f"bash {job.folder}/run.sh"


@pytest.mark.parametrize("change, message", [
    ({"nodes": 0}, "--nodes"), ({"time": "soon"}, "--time 'soon'"),
    ({"time": "00:04:00", "requeue_grace_s": 300}, "--requeue-grace 300"),
    ({"partition": "gpu; rm -rf ~"}, "--partition"), ({"shared_path": "relative/dir"}, "--shared-path"),
    ({"gpus_per_node": 3}, "not divisible by the 3 processes"), ({"python": "py thon"}, "--python"),
])
def test_bad_export_options_are_named(tiny_dataset, tmp_path, change, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        export_job(tiny_config(tiny_dataset), tmp_path / "job", ClusterOptions(**change))
    assert not (tmp_path / "job" / "job.sbatch").exists()


def test_a_folder_holding_a_job_is_not_overwritten(tiny_dataset, tmp_path):
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "events.jsonl").write_text("")
    with pytest.raises(InputError, match="already holds a job's events.jsonl"):
        export_job(tiny_config(tiny_dataset), tmp_path / "job", ClusterOptions())


def test_time_limits():
    assert [time_limit_seconds(t) for t in ("90", "90:30", "02:00:00", "1-00", "2-01:30:00")] == \
           [5400, 5430, 7200, 86400, 178200]


def test_cli_export_and_its_errors(tiny_dataset, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(tiny_config(tiny_dataset).to_dict()))
    run = lambda *a: subprocess.run([sys.executable, "-m", "hpe_core.cli", "train", *a], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    ok = run(str(cfg), "--export-script", "slurm", str(tmp_path / "job"), "--gpus-per-node", "2",
             "--set", "train.epochs=5", "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["submit"] == f"sbatch {tmp_path / 'job'}/job.sbatch"
    assert yaml.safe_load(Path(out["config"]).read_text())["train"]["epochs"] == 5
    bad = run(str(cfg), "--export-script", "pbs", str(tmp_path / "other"))
    assert bad.returncode == 2 and "expected one of slurm, torchrun" in bad.stderr and "Traceback" not in bad.stderr


# ----------------------------------------------------------------------------- a Slurm job, here
def _env(tmp_path: Path, shim_dir: Path, job_id: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "RANK", "WORLD_SIZE", "MASTER_"))}
    return {**env, "PATH": f"{shims(tmp_path / 'bin')}{os.pathsep}{env['PATH']}", "SHIM_DIR": str(shim_dir),
            "SHIM_JOB_ID": str(job_id), "HPE_PYTHON": sys.executable, "OMP_NUM_THREADS": "1",
            "MASTER_PORT": str(free_port()), "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")}


def _submit(config, folder: Path, tmp_path: Path, job_id: int) -> tuple[subprocess.Popen, Path, Path]:
    job = export_job(config, folder, ClusterOptions(gpus_per_node=2, time="00:30:00", requeue_grace_s=120))
    shim_dir = tmp_path / f"shim-{job_id}"
    shim_dir.mkdir()
    proc = subprocess.Popen(["sbatch", str(job.script)], env=_env(tmp_path, shim_dir, job_id), cwd=tmp_path)
    return proc, shim_dir, folder / "events.jsonl"


def _events(path: Path) -> list[dict]:
    return read_events(path) if path.exists() else []


def test_a_requeued_slurm_job_ends_with_the_weights_of_an_uninterrupted_one(tiny_dataset, tmp_path):
    config = tiny_config(tiny_dataset)
    straight, _, straight_events = _submit(config, tmp_path / "straight", tmp_path, 101)
    assert straight.wait(timeout=240) == 0

    proc, shim_dir, events = _submit(config, tmp_path / "requeued", tmp_path, 102)
    deadline = time.monotonic() + 180
    while not any(e["type"] == "progress" and e["step"] >= 1 for e in _events(events)):
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "requeued" / "slurm-102.out")
        time.sleep(0.02)
    script = (tmp_path / "requeued" / "job.sbatch").read_text()
    assert "#SBATCH --signal=B:USR1@120" in script  # the signal Slurm would send to the batch shell
    os.kill(int((shim_dir / "batch-0.pid").read_text()), signal.SIGUSR1)
    assert proc.wait(timeout=240) == 0, (tmp_path / "requeued" / "slurm-102.out").read_text()[-3000:]

    log = (tmp_path / "requeued" / "slurm-102.out").read_text()
    assert "requeueing job 102" in log and "resuming from" in log
    assert sorted(p.name for p in shim_dir.glob("batch-*.status")) == ["batch-0.status", "batch-1.status"]
    evs = read_events(events)
    starts = [e for e in evs if e["type"] == "start"]
    dones = [e for e in evs if e["type"] == "done"]
    assert len(starts) == 2 and [d["reason"] for d in dones] == ["interrupted", "finished"]
    stopped = dones[0]
    assert stopped["summary"]["signal"] == "SIGUSR1"
    assert 0 < stopped["step"] < stopped["total_steps"]
    assert stopped["step"] % starts[0]["steps_per_epoch"] != 0  # mid-epoch
    assert starts[1]["resumed_from"] == str(tmp_path / "requeued" / "checkpoints" / "last.pt")
    assert starts[1]["step"] == stopped["step"] and starts[1]["world_size"] == 2
    ref = read_events(straight_events)
    assert dones[1]["step"] == ref[-1]["step"]
    a = weights(tmp_path / "straight" / "checkpoints" / "last.pt")
    b = weights(tmp_path / "requeued" / "checkpoints" / "last.pt")
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


# ----------------------------------------------------------------------------- coming back
def test_checkpoints_of_a_synced_job_folder_are_found_and_pulled(tmp_path):
    local = tmp_path / "synced"
    (local / "checkpoints").mkdir(parents=True)
    (local / "checkpoints" / "best.pt").write_bytes(b"best")
    (local / "events.jsonl").write_text("")
    remote = {"best": "/scratch/me/job/checkpoints/best.pt", "last": "/scratch/me/job/checkpoints/last.pt"}
    found = locate_checkpoints(local / "events.jsonl", remote)
    assert found == {"best": local / "checkpoints" / "best.pt"}  # last.pt was not synced
    pulled = pull_checkpoints(found, tmp_path / "runs" / "job")
    assert pulled == {"best": tmp_path / "runs" / "job" / "best.pt"}
    assert pulled["best"].read_bytes() == b"best"
