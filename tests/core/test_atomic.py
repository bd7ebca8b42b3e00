"""The one atomic-write mechanism every saved file goes through."""

import os
import stat

import pytest

from hpe_core.atomic import atomic_open, atomic_path, atomic_write


def test_write_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "a.json"
    atomic_write(path, "old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "a.txt"
    atomic_write(path, "previous")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write("half")
            raise RuntimeError("writer died")
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_permissions_follow_the_umask_not_mkstemp(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "x.pdf", suffix=".pdf") as tmp:
            assert tmp.suffix == ".pdf" and tmp.parent == tmp_path
            tmp.write_bytes(b"%PDF")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.pdf").stat().st_mode) == 0o644


def test_only_write_modes(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "x", "a"):
            pass
