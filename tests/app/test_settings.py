"""Recent files and the window layout persist in the settings file."""

from __future__ import annotations

from app.settings import MAX_RECENT, Settings, config_dir


def test_recent_files_are_most_recent_first_unique_and_bounded(tmp_path):
    s = Settings(tmp_path)
    for i in range(MAX_RECENT + 3):
        s.add_recent(tmp_path / f"f{i}.pt")
    s.add_recent(tmp_path / "f5.pt")
    again = Settings(tmp_path)  # a new process reads the same file
    files = again.recent_files()
    assert len(files) == MAX_RECENT
    assert files[0] == str(tmp_path / "f5.pt")
    assert files[1] == str(tmp_path / f"f{MAX_RECENT + 2}.pt")
    assert len(set(files)) == len(files)
    again.clear_recent()
    assert Settings(tmp_path).recent_files() == []


def test_one_recent_file_survives_a_reload(tmp_path):
    Settings(tmp_path).add_recent(tmp_path / "only.pt")
    assert Settings(tmp_path).recent_files() == [str(tmp_path / "only.pt")]


def test_device_choice_persists(tmp_path):
    Settings(tmp_path).set_device("cuda:1", "bf16")
    assert Settings(tmp_path).device() == ("cuda:1", "bf16")


def test_config_dir_override_and_testing_isolation(tmp_path, monkeypatch):
    monkeypatch.setenv("HPE_STUDIO_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg" and (tmp_path / "cfg").is_dir()
    monkeypatch.delenv("HPE_STUDIO_CONFIG_DIR")
    monkeypatch.setenv("HPE_STUDIO_TESTING", "1")
    assert "hpe-studio-test-" in config_dir().name
