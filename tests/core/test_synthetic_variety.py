"""The synthetic generator's opt-in options: views that differ more (``views="varied"``) and a
held-out-subject split (``held_out_subjects``). The defaults render as before."""

import json

import cv2
import numpy as np
import pytest

from hpe_core.datasets import open_dataset
from hpe_core.datasets.synthetic import SynthSpec, subject_split, synthesize
from hpe_core.errors import InputError

POSES, CAMS = 20, 3


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("variety")
    plain = synthesize(SynthSpec(root / "plain", poses=POSES, cameras=CAMS, size=64, seed=5))
    varied = synthesize(SynthSpec(root / "varied", poses=POSES, cameras=CAMS, size=64, seed=5, views="varied"))
    return plain, varied


def _images(root):
    return np.stack([[cv2.imread(str(root / "images" / f"{c:02d}" / f"{p:06d}.jpg")).astype(np.float64)
                      for c in range(CAMS)] for p in range(POSES)])  # (P, C, H, W, 3)


def test_varied_views_keep_every_label_and_change_only_the_pixels(pair):
    plain, varied = pair
    assert (plain / "annotations.npz").read_bytes() == (varied / "annotations.npz").read_bytes()
    a, b = json.loads((plain / "dataset.json").read_text()), json.loads((varied / "dataset.json").read_text())
    assert a["cameras"] == b["cameras"] and "views" not in a["generator"] and b["generator"]["views"] == "varied"
    assert "subject_split" not in a and "subject_split" not in b
    pa, pb = _images(plain), _images(varied)
    assert np.abs(pa - pb).mean() > 10  # every image is redrawn


def test_varied_views_of_one_pose_differ_more_in_colour_and_detail(pair):
    pa, pb = (_images(root) for root in pair)

    def colour_spread(x):  # std over the views of one pose of each view's mean colour
        return x.mean(axis=(2, 3)).std(axis=1).mean()

    def detail(x):  # mean absolute horizontal gradient: textures, occluder edges, noise
        return np.abs(np.diff(x, axis=3)).mean()

    assert colour_spread(pb) > colour_spread(pa)
    assert detail(pb) > 1.2 * detail(pa)


def test_held_out_subjects_split_by_subject(tmp_path):
    root = synthesize(SynthSpec(tmp_path / "s", poses=60, cameras=2, size=48, seed=3, subjects=6,
                                held_out_subjects=1))
    doc = json.loads((root / "dataset.json").read_text())
    assert doc["subject_split"] == subject_split(6, 1) == {"train": ["P00", "P01", "P02", "P03"],
                                                            "val": ["P04"], "test": ["P05"]}
    ds = open_dataset(root)
    subjects = {split: set(np.asarray(ds.subject)[ds.split_indices(split)]) for split in ("train", "val", "test")}
    assert subjects["train"] <= {0, 1, 2, 3} and subjects["val"] == {4} and subjects["test"] == {5}
    pose_id = np.asarray(ds.pose_id)
    sets = [set(pose_id[ds.split_indices(s)]) for s in ("train", "val", "test")]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sum(len(s) for s in sets) == 60


@pytest.mark.parametrize("field,value", [("views", "wild"), ("held_out_subjects", 6), ("held_out_subjects", -1)])
def test_bad_variety_options_are_input_errors(tmp_path, field, value):
    with pytest.raises(InputError, match=field.split("_")[0]):
        synthesize(SynthSpec(tmp_path / "x", poses=2, cameras=2, size=48, subjects=12,
                             **{field: value}))


def test_cli_synth_opts_in_and_rejects_bad_values(tmp_path, capsys):
    from hpe_core.cli import main

    out = tmp_path / "cli"
    assert main(["data", "synth", "--out", str(out), "--poses", "8", "--cameras", "2", "--size", "48",
                 "--subjects", "5", "--views", "varied", "--held-out-subjects", "1", "--json"]) == 0
    doc = json.loads((out / "dataset.json").read_text())
    assert doc["generator"]["views"] == "varied" and doc["subject_split"]["test"] == ["P04"]
    capsys.readouterr()
    assert main(["data", "synth", "--out", str(tmp_path / "bad"), "--poses", "8", "--subjects", "4",
                 "--held-out-subjects", "2"]) == 2
    assert "held_out_subjects" in capsys.readouterr().err and not (tmp_path / "bad").exists()
