"""The workspace file: versioned JSON, relative paths, clear messages for bad or newer files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.model.workspace_file import FORMAT, VERSION, WorkspaceState, load_workspace_file, save_workspace_file
from hpe_core.errors import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_version_1_fixture_reads_with_paths_resolved_against_its_folder(tmp_path):
    path = tmp_path / "session.hpews"
    shutil.copy(FIXTURES / "workspace_v1.hpews", path)
    state = load_workspace_file(path)
    assert state.datasets == [{"path": str(tmp_path / "data" / "synth"), "skip_list": None}]
    assert state.current_dataset == str(tmp_path / "data" / "synth")
    assert state.checkpoints == [str(tmp_path / "ckpt" / "regress.pt"), "/abs/elsewhere/simsiam.pt"]
    assert (state.selection, state.sort, state.device, state.precision) == (7, "error_desc", "cpu", "bf16")
    assert state.filters == {"action": 1, "split": "val"}
    assert state.options == {"align": "similarity", "frustums": False}


def test_round_trip_keeps_everything_and_stores_inner_paths_relative(tmp_path):
    inner, outer = tmp_path / "proj" / "data", tmp_path / "elsewhere" / "m.pt"
    state = WorkspaceState(datasets=[{"path": str(inner), "skip_list": None}], current_dataset=str(inner),
                           checkpoints=[str(outer)], active_checkpoint=str(outer), selection=3,
                           filters={"camera": 2}, sort="error_asc", options={"align": "rigid"},
                           device="cuda:1", precision="fp16", video=None, video_frame=0,
                           units={str(tmp_path / "proj" / "theirs.npy"): "m"}, lift_source=str(outer))
    (tmp_path / "proj").mkdir()
    path = save_workspace_file(tmp_path / "proj" / "s.hpews", state)
    doc = json.loads(path.read_text())
    assert doc["format"] == FORMAT and doc["format_version"] == VERSION
    assert doc["datasets"][0]["path"] == "data"  # inside the project: relative
    assert doc["checkpoints"][0] == str(outer)  # outside: absolute
    assert doc["units"] == {"theirs.npy": "m"} and doc["lift_source"] == str(outer)
    assert load_workspace_file(path) == state
    assert list(path.parent.glob(".tmp-*")) == []  # written atomically, no leftovers


def test_moving_the_project_folder_keeps_relative_paths_working(tmp_path):
    (tmp_path / "a").mkdir()
    state = WorkspaceState(datasets=[{"path": str(tmp_path / "a" / "ds"), "skip_list": None}])
    save_workspace_file(tmp_path / "a" / "s.hpews", state)
    shutil.move(tmp_path / "a", tmp_path / "b")
    loaded = load_workspace_file(tmp_path / "b" / "s.hpews")
    assert loaded.datasets[0]["path"] == str(tmp_path / "b" / "ds")


@pytest.mark.parametrize("content, expected", [
    ('{"format": "hpe-studio-workspace", "format_version": 99}', "newer version of HPE Studio"),
    ('{"format": "something-else", "format_version": 1}', "not a workspace file"),
    ("{not json", "invalid JSON"),
    ('{"format": "hpe-studio-workspace", "format_version": "one"}', "format_version"),
    ('{"format": "hpe-studio-workspace", "format_version": 1, "datasets": [{"nopath": 1}]}', "malformed"),
])
def test_bad_files_raise_input_error_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "bad.hpews"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_workspace_file(path)
    assert expected in str(info.value) and str(path) in str(info.value)
