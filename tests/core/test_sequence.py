"""The one sequence trainer of the demo builds and the ablations, on real (tiny) training runs."""

from pathlib import Path

import pytest

from hpe_core import resources_dir
from hpe_core.errors import InputError
from hpe_core.progress import RecordingProgress
from hpe_core.studies.sequence import Step, run_sequence, work_folder
from hpe_core.training.config import load_config


#: the demo's *_cpu presets made tiny
TINY = ("data.image_size=32", "data.num_workers=0", "model.width=4", "train.epochs=1", "train.batch_size=8")


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    from hpe_core.datasets.synthetic import SynthSpec, synthesize

    return synthesize(SynthSpec(tmp_path_factory.mktemp("sequence") / "tiny", poses=12, cameras=4, size=32,
                                subjects=3, seed=1))


def steps(dataset: Path, work: Path, *encoder_overrides: str) -> list[Step]:
    """A SimCLR encoder, then a head on it (its config made from the encoder's checkpoint)."""
    presets = resources_dir() / "presets"

    def head(done: dict):
        return load_config(presets / "regress_1layer_cpu.yaml", [
            f"data.path={dataset}", *TINY, f"train.output={work / 'head'}", f"regression.encoder={done['encoder']}",
            "regression.encoder_family=simclr"])

    encoder = load_config(presets / "simclr_cpu.yaml", [f"data.path={dataset}", *TINY, *encoder_overrides,
                                                         f"train.output={work / 'encoder'}"])
    return [Step("encoder", encoder), Step("head", head, status="the head")]


def test_steps_train_in_order_each_from_the_checkpoints_before_it(tiny_dataset, tmp_path):
    from hpe_core.models.checkpoint import load_checkpoint

    progress = RecordingProgress()
    runs = run_sequence(steps(tiny_dataset, tmp_path), progress)
    assert list(runs) == ["encoder", "head"]
    assert all(r.result.reason == "finished" and r.checkpoint == r.result.best_checkpoint and r.seconds > 0
               for r in runs.values())
    _, info = load_checkpoint(runs["head"].checkpoint)
    assert info.training["config"]["regression"]["encoder"] == str(runs["encoder"].checkpoint)
    assert progress.statuses[0] == "training encoder" and "the head" in progress.statuses
    encoder_share = progress.fractions[:progress.statuses.index("the head")]
    assert 0 < max(encoder_share) <= 0.5 < max(progress.fractions) <= 1.0  # each step its half


def test_an_interrupted_step_stops_the_sequence_and_says_which(tiny_dataset, tmp_path):
    with pytest.raises(InputError, match=f"demo build: encoder was interrupted; nothing was written to {tmp_path}"):
        run_sequence(steps(tiny_dataset, tmp_path), RecordingProgress(cancel_after=2), out=tmp_path)
    assert not (tmp_path / "head").exists()  # the step after it never ran


def test_reuse_keeps_a_finished_run_of_the_same_config_and_retrains_a_changed_one(tiny_dataset, tmp_path):
    first = run_sequence(steps(tiny_dataset, tmp_path), reuse=True)
    stamp = first["encoder"].checkpoint.stat().st_mtime_ns
    again = run_sequence(steps(tiny_dataset, tmp_path), reuse=True)
    assert all(r.result is None and r.seconds is None for r in again.values())
    assert again["encoder"].checkpoint == first["encoder"].checkpoint
    assert again["encoder"].checkpoint.stat().st_mtime_ns == stamp
    changed = run_sequence(steps(tiny_dataset, tmp_path, "optim.lr=0.02"), reuse=True)
    assert changed["encoder"].result is not None  # another config: trained again


def test_a_work_folder_is_kept_when_given_and_a_temporary_one_removed(tmp_path):
    with work_folder(tmp_path / "keep", "hpe-test-") as kept:
        assert kept == tmp_path / "keep"
    with work_folder(None, "hpe-test-") as temporary:
        (temporary / "run").mkdir()
        assert temporary.name.startswith("hpe-test-")
    assert not temporary.exists()
