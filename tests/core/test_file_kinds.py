"""One file-kind classifier for the CLI and the GUI: workspace files by suffix or content, our
predictions by content, checkpoints by suffix, everything else a dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hpe_core.file_kinds import CHECKPOINT_SUFFIXES, WORKSPACE_FORMAT, classify_file, is_workspace_file
from hpe_core.predictions import Prediction


def test_workspace_files_are_recognised_by_suffix_or_content(tmp_path):
    json_ws = tmp_path / "w.json"
    json_ws.write_text(json.dumps({"format": WORKSPACE_FORMAT, "format_version": 1}))
    other = tmp_path / "coco.json"
    other.write_text(json.dumps({"images": []}))
    assert is_workspace_file(tmp_path / "x.hpews")
    assert is_workspace_file(json_ws)
    assert not is_workspace_file(other)
    assert [classify_file(p) for p in (tmp_path / "x.hpews", json_ws, other)] == ["workspace", "workspace", "dataset"]


@pytest.mark.parametrize("suffix", sorted(CHECKPOINT_SUFFIXES) + [".PT"])
def test_checkpoints_are_recognised_by_suffix(tmp_path, suffix):
    assert classify_file(tmp_path / f"model{suffix}") == "checkpoint"


def test_our_predictions_by_content_a_bare_array_by_suffix_other_npz_a_dataset(tmp_path):
    ours = Prediction(joints_3d=np.zeros((2, 17, 3), np.float32), frame="camera",
                      skeleton="h36m17").save(tmp_path / "p.npz")
    np.savez(tmp_path / "data_3d_h36m.npz", positions_3d=np.zeros(1))
    np.save(tmp_path / "a.npy", np.zeros((2, 17, 3)))
    assert classify_file(ours) == "predictions"
    assert classify_file(tmp_path / "a.npy") == "predictions"
    assert classify_file(tmp_path / "data_3d_h36m.npz") == "dataset"
    assert classify_file(tmp_path / "clip.mp4") == "dataset"  # a video is a dataset of its frames
    assert classify_file(tmp_path) == "dataset"
