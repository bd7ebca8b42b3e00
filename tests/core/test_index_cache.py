"""The dataset index cache: a re-open reads no annotation file, gives the same dataset, and any
change to the files (rewritten, added, removed) is seen; racy or corrupt caches are not used."""

import json
import os
import time

import numpy as np
import pytest

import hpe_core.datasets.panoptic as panoptic
import hpe_core.datasets.panoptic_files as panoptic_files
from hpe_core.datasets import index_cache, open_dataset
from hpe_core.errors import DatasetError
from hpe_core.progress import Cancelled, RecordingProgress
from test_datasets_panoptic import _cam, _world_pose

SEQ = "171204_pose1"


def _write(root, n_frames=30, cams=(3, 12), seed=0):
    """A Panoptic set of joints files only, with modification times a minute in the past."""
    rng = np.random.default_rng(seed)
    folder = root / "ProcessedPanopticDataset" / SEQ / "hdJoints"
    folder.mkdir(parents=True)
    (folder.parent / "hdImages").mkdir()
    for frame in range(n_frames):
        pose = _world_pose(rng)
        for c in cams:
            cam = _cam(c)
            doc = {"poses_3d": pose.reshape(-1).tolist(),
                   "cam": repr({"K": cam["K"], "distCoef": cam["distCoef"], "R": cam["R"], "t": cam["t"]})}
            (folder / f"{SEQ};hd_00_{c:02d};person_0;{frame:08d}.json").write_text(json.dumps(doc))
    _age(folder)
    return folder


def _age(folder, seconds=60):
    past = time.time() - seconds
    for f in folder.iterdir():
        os.utime(f, (past, past))


def _same(a, b):
    assert len(a) == len(b) and [a.sample_name(i) for i in range(len(a))] == [b.sample_name(i) for i in range(len(b))]
    for column in ("joints_3d", "joints_2d", "visible", "pose_id", "camera_id", "sequence", "frame"):
        np.testing.assert_array_equal(a.column(column), b.column(column))
    assert sorted(a.cameras) == sorted(b.cameras)
    for c in a.cameras:
        ca, cb = a.cameras[c], b.cameras[c]
        assert ca.name == cb.name
        for field in ("K", "R", "t", "dist"):
            np.testing.assert_array_equal(getattr(ca, field), getattr(cb, field))


def _no_file_reads(monkeypatch):
    def refuse(folder, names, take_stats):
        raise AssertionError(f"{folder}: {len(names)} files were read")

    monkeypatch.setattr(panoptic_files, "read_part", refuse)


def test_a_reopen_reads_no_file_and_gives_the_same_dataset(tmp_path, monkeypatch):
    _write(tmp_path)
    first = open_dataset(tmp_path)
    assert index_cache.entry_path("panoptic", tmp_path).is_file()
    _no_file_reads(monkeypatch)
    again = open_dataset(tmp_path)
    _same(first, again)
    assert len(again) == 60 and np.isfinite(again.joints_3d).all()


def test_the_cache_holds_no_pickles(tmp_path):
    _write(tmp_path, n_frames=3)
    open_dataset(tmp_path)
    with np.load(index_cache.entry_path("panoptic", tmp_path), allow_pickle=False) as npz:
        assert all(not npz[name].dtype.hasobject for name in npz.files)


@pytest.mark.parametrize("change", ["rewritten-same-size", "added", "removed"])
def test_a_changed_file_invalidates_the_cache(tmp_path, change):
    folder = _write(tmp_path, n_frames=5)
    before = open_dataset(tmp_path)
    files = sorted(folder.glob("*.json"))
    if change == "rewritten-same-size":
        doc = json.loads(files[0].read_text())
        text = json.dumps(doc)
        moved = text.replace(str(doc["poses_3d"][0])[:6], str(doc["poses_3d"][0] + 1)[:6], 1)
        assert len(moved) == len(text) and moved != text
        files[0].write_text(moved)
    elif change == "added":
        name = files[0].name.replace("00000000", "00000099")
        (folder / name).write_text(files[0].read_text())
    else:
        files[-1].unlink()
    _age(folder, 30)  # a different time from the first listing's, still settled
    after = open_dataset(tmp_path)
    expected = {"rewritten-same-size": 10, "added": 11, "removed": 9}[change]
    assert len(after) == expected
    if change == "rewritten-same-size":
        row = [after.sample_name(i) for i in range(len(after))].index(f"{SEQ}/hdImages/{files[0].stem}.jpg")
        assert not np.allclose(after.joints_3d[row], before.joints_3d[row])
        _same(after, panoptic_without_cache(tmp_path))


def panoptic_without_cache(path):
    index_cache.entry_path("panoptic", path).unlink()
    return open_dataset(path)


def test_files_modified_just_before_the_listing_are_not_cached(tmp_path):
    folder = _write(tmp_path, n_frames=2)
    newest = sorted(folder.glob("*.json"))[0]
    os.utime(newest, None)  # now: it could change again within the same time-stamp tick
    open_dataset(tmp_path)
    assert not index_cache.entry_path("panoptic", tmp_path).exists()


def test_a_corrupt_cache_is_ignored_and_replaced(tmp_path):
    _write(tmp_path, n_frames=4)
    first = open_dataset(tmp_path)
    entry = index_cache.entry_path("panoptic", tmp_path)
    entry.write_bytes(b"PK\x03\x04 not really a zip file")
    _same(first, open_dataset(tmp_path))
    assert index_cache.load("panoptic", tmp_path, "x") is None and entry.stat().st_size > 1000


def test_the_first_open_reports_progress_and_can_be_cancelled(tmp_path):
    _write(tmp_path, n_frames=3000, cams=(3,))
    with pytest.raises(Cancelled):
        open_dataset(tmp_path, progress=RecordingProgress(cancel_after=1))
    assert not index_cache.entry_path("panoptic", tmp_path).exists()
    rec = RecordingProgress()
    open_dataset(tmp_path, progress=rec)
    assert rec.fractions[0] == 0.0 and rec.fractions[-1] == 1.0 and len(rec.fractions) >= 3
    assert rec.fractions == sorted(rec.fractions)


def test_an_unreadable_file_is_still_named_after_a_cached_open(tmp_path):
    folder = _write(tmp_path, n_frames=2)
    open_dataset(tmp_path)
    bad = sorted(folder.glob("*.json"))[1]
    bad.write_text('{"poses_3d": ')
    _age(folder, 20)
    with pytest.raises(DatasetError, match=f"{bad.name}: corrupt"):
        open_dataset(tmp_path)


def test_files_that_are_not_samples_stay_out_of_a_cached_open(tmp_path, monkeypatch):
    folder = _write(tmp_path, n_frames=4)
    (folder / "notes.json").write_text("{}")  # listed, not named as a sample
    (folder / "odd.json").mkdir()  # not a regular file
    (folder / f"{SEQ};hd_00_03;person_0;00000099.json").mkdir()  # named as a sample, not a regular file
    _age(folder)
    first = open_dataset(tmp_path)
    assert len(first) == 8
    _no_file_reads(monkeypatch)
    again = open_dataset(tmp_path)
    _same(first, again)
    listing = index_cache.scan(folder, ".json")
    assert "odd.json" not in listing.names and "notes.json" in listing.names
    assert listing.sizes.dtype == listing.mtimes.dtype == np.int64 and len(listing.sizes) == len(listing.names)
    assert listing.sizes[listing.names.index("notes.json")] == 2


def test_an_index_of_another_shape_is_not_used(tmp_path, monkeypatch):
    """An entry under the right key whose sample flags do not fit the listing is parsed afresh."""
    folder = _write(tmp_path, n_frames=3)
    first = open_dataset(tmp_path)
    key = index_cache.fingerprint([index_cache.scan(folder, ".json")], extra="panoptic")
    arrays, meta = index_cache.load("panoptic", tmp_path, key)
    arrays = {k: np.array(v) for k, v in arrays.items()}
    arrays["matched"] = arrays["matched"][:-1]
    index_cache.save("panoptic", tmp_path, key, arrays, meta)
    reads = []
    monkeypatch.setattr(panoptic_files, "_read_doc", lambda file: reads.append(file) or json.loads(open(file).read()))
    _same(first, open_dataset(tmp_path))
    assert len(reads) == 6


def test_worker_processes_give_the_same_dataset_and_an_index_that_fits(tmp_path, monkeypatch):
    """Parts of 7 files read by two worker processes give what one process gives (columns, cameras,
    names); the index they leave, keyed by the sizes and times the workers took from the files
    they opened, is the one a later listing (a stat per file) finds."""
    _write(tmp_path, n_frames=20, cams=(3, 12))
    monkeypatch.setattr(panoptic, "PART", 7)
    alone = panoptic.read_panoptic(tmp_path, workers=1)
    index_cache.entry_path("panoptic", tmp_path).unlink()
    shared = panoptic.read_panoptic(tmp_path, workers=2)
    _same(alone, shared)
    _no_file_reads(monkeypatch)
    _same(shared, open_dataset(tmp_path))
