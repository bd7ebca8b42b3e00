"""``hpe evaluate`` (the standard protocol) on the three benchmark layouts: mmpose's body3d files,
MPI-INF-3DHP's test set and 3DPW, each through its images with a tiny image model of the layout's
joint set (a checkpoint must predict the dataset's joints: 17 for h36m17 / mpi3dhp17, 24 for
smpl24), and Human3.6M's 2D lifted by a tiny lifter. Fixtures: tests/benchmark_layouts.py."""

import json

import numpy as np
import pytest
import torch

from benchmark_layouts import write_3dhp_test, write_mmpose_h36m, write_pw3d
from hpe_core.cli import main
from hpe_core.models import build_model, save_checkpoint


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    root = tmp_path_factory.mktemp("layouts")
    write_mmpose_h36m(root / "h36m")
    write_3dhp_test(root / "3dhp", "v7.3")
    write_pw3d(root / "3dpw")
    return {"h36m17": (root / "h36m" / "processed", 12), "mpi3dhp17": (root / "3dhp", 6),
            "smpl24": (root / "3dpw", 7)}  # the test split: S9 + S11; every valid 3DHP frame; 3DPW's test folder


def _regressor(folder, skeleton):
    torch.manual_seed(0)
    model = build_model("regressor", "resnet18", width=2, head_layers=1, skeleton=skeleton, pose_scale=100.0)
    return save_checkpoint(folder / f"{skeleton}.pt", model)


def _evaluate(capsys, *argv):
    code = main(["evaluate", *map(str, argv), "--image-size", "32", "--device", "cpu", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("skeleton", ["h36m17", "mpi3dhp17", "smpl24"])
def test_an_image_model_is_scored_on_each_layout_through_its_images(layouts, skeleton, tmp_path, capsys):
    path, rows = layouts[skeleton]
    doc = _evaluate(capsys, _regressor(tmp_path, skeleton), path)
    assert doc["samples"] == rows and doc["skipped"] == 0 and doc["unpredicted"] == 0  # every image was read
    assert all(np.isfinite(doc["metrics"][k]) for k in ("mpjpe", "pa_mpjpe", "pck3d", "auc3d"))


def test_a_lifter_scores_the_mmpose_2d_and_a_model_of_another_joint_set_is_refused(layouts, tmp_path, capsys):
    torch.manual_seed(0)
    lifter = save_checkpoint(tmp_path / "lifter.pt", build_model("lifter", skeleton="h36m17", linear_size=16))
    doc = _evaluate(capsys, lifter, layouts["h36m17"][0])
    assert doc["samples"] == 12 and np.isfinite(doc["metrics"]["mpjpe"])
    assert main(["evaluate", str(_regressor(tmp_path, "smpl24")), str(layouts["h36m17"][0])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the model predicts 24 joints (smpl24), the dataset has 17 (h36m17)" in err[0]
