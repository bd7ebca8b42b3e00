"""The evented parts of the GUI state, without Qt: catalog, browse state, view options, device,
prediction cache and sample feed, on a real in-memory :class:`PoseDataset`."""

from __future__ import annotations

import subprocess
import sys
import weakref

import numpy as np
import pytest

from app.model.browsing import Browse, BrowseState
from app.model.catalog import Catalog, DatasetEntry, path_key
from app.model.device import DeviceChoice
from app.model.predictions import PredictionCache
from app.model.sample_feed import SampleFeed
from app.model.view_options import ViewOptions
from hpe_core.datasets.base import NoImages, PoseDataset
from hpe_core.skeleton import PANOPTIC19

J = PANOPTIC19.num_joints


def dataset(n: int = 12, seed: int = 0) -> PoseDataset:
    rng = np.random.default_rng(seed)
    joints = rng.normal(0, 300, (n, J, 3)).astype(np.float32) + np.float32([0, 0, 4000])
    return PoseDataset(path=f"/data/set{seed}", format="native", skeleton=PANOPTIC19, size=n,
                       columns={"joints_3d": joints, "joints_2d": joints[..., :2],
                                "action": np.arange(n, dtype=np.int32) % 3,
                                "camera_id": np.arange(n, dtype=np.int32) % 2},
                       images=NoImages("drawn in memory"), names={"action": ["walk", "wave", "sit"]})


class Recorder(list):
    def __call__(self, *args):
        self.append(args)


def test_app_model_imports_no_gui_toolkit():
    code = ("import sys, pkgutil, importlib, app.model as m\n"
            "for info in pkgutil.iter_modules(m.__path__): importlib.import_module('app.model.' + info.name)\n"
            "print(sorted({n.split('.')[0] for n in sys.modules} & {'PySide6', 'vispy', 'pyqtgraph'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_catalog_announces_what_opens_closes_and_becomes_current():
    cat, events = Catalog(), Recorder()
    cat.datasets_changed.connect(lambda: events.append("datasets"))
    cat.current_dataset_changed.connect(lambda e: events.append(("current", None if e is None else e.key)))
    a, b = DatasetEntry(path_key("/tmp/a"), dataset(4, 1)), DatasetEntry(path_key("/tmp/b"), dataset(5, 2))
    cat.add_dataset(a)
    cat.add_dataset(b)
    cat.set_current(b.key)
    assert cat.dataset is b.dataset and cat.entry is b
    cat.remove_dataset(b.key)
    assert events == ["datasets", "datasets", ("current", b.key), "datasets", ("current", a.key)]
    cat.set_current("not open")
    assert cat.dataset is None and events[-1] == ("current", None)


def test_a_replaced_checkpoint_is_announced_to_who_follows_the_active_one():
    cat, active = Catalog(), Recorder()
    cat.active_checkpoint_changed.connect(active)
    cat.put_checkpoint("k", "cpu model")
    cat.set_active("k")
    cat.put_checkpoint("k", "bf16 model")  # moved to a new precision: a new entry, same key
    assert active == [("cpu model",), ("bf16 model",)] and cat.checkpoint == "bf16 model"
    cat.remove_checkpoint("k")
    assert cat.checkpoint is None and active[-1] == (None,)


def test_browse_state_changes_by_replacement_and_lists_the_rows_it_says():
    ds = dataset(12)
    s0 = BrowseState()
    s1 = s0.with_filter("action", 1)
    assert s0.filters == {} and s1.filters == {"action": 1} and s1 != s0  # s0 untouched
    assert s1.rows(ds, None).tolist() == [1, 4, 7, 10]
    ranking = np.arange(12, dtype=np.float32)[::-1].copy()
    ranking[4] = np.nan
    s2 = s1.with_sort("error_asc")
    assert s2.rows(ds, ranking).tolist() == [10, 7, 1, 4]  # unknown error last
    s3 = s2.with_picked([7, 1, 1, 3])
    assert s3.picked == (1, 3, 7) and s3.rows(ds, ranking).tolist() == [7, 1]
    assert s3.with_picked([]).picked is None
    assert s0.with_sort("nonsense").sort == "index"
    with pytest.raises(ValueError, match="unknown filter"):
        s0.with_filter("colour", 1)


def test_browse_part_announces_rows_and_picks_and_steps_through_its_list():
    ds, browse, rows, picked = dataset(12), Browse(), Recorder(), Recorder()
    browse.rows_changed.connect(rows)
    browse.picked_changed.connect(picked)
    browse.set_state(BrowseState().with_filter("camera", 0), ds, None)
    assert browse.rows.tolist() == [0, 2, 4, 6, 8, 10] and len(rows) == 1 and picked == []
    browse.set_state(browse.state.with_picked([2, 4, 5]), ds, None)
    assert browse.rows.tolist() == [2, 4] and picked[-1][0].tolist() == [2, 4, 5]
    assert browse.step(2, 1) == 4 and browse.step(4, 1) == 4 and browse.step(99, -1) == 2


def test_view_options_are_evented_fields():
    options, seen = ViewOptions(), Recorder()
    options.events.align.connect(seen)
    options.align = "rigid"
    options.align = "rigid"  # no change, no event
    options.update({"frustums": False, "unknown": 1})
    assert seen == [("rigid", "none")] and options.as_dict() == {"align": "rigid", "frustums": False, "show_gt": True,
                                                          "show_pred": True, "hypotheses": 10, "parts": "",
                                                          "heatmap": "all", "protocol": "standard"}


def test_device_choice_announces_precision_changes():
    device, seen = DeviceChoice(), Recorder()
    device.events.precision.connect(seen)
    device.precision = "bf16"
    assert seen == [("bf16", "fp32")] and device.spec == "auto"  # (new, old)


def test_prediction_cache_keeps_one_store_per_dataset_and_checkpoint():
    ds, cache, seen = dataset(6), PredictionCache(), Recorder()
    cache.changed.connect(seen)
    a = cache.store("d", "A", len(ds), J)
    b = cache.store("d", "B", len(ds), J, "PA-MPJPE")
    assert cache.store("d", "A", len(ds), J) is a and a is not b and len(cache) == 2
    gt = np.asarray(ds.joints_3d, np.float64)
    pred = (gt - gt[:, :1])[[1, 3]].astype(np.float32)
    cache.add(("d", "A"), np.array([1, 3]), pred, gt, 0)
    assert seen[0][0] == ("d", "A") and seen[0][1].tolist() == [1, 3]
    assert a.error[[1, 3]] == pytest.approx([0, 0], abs=1e-3) and np.isnan(a.error[0])
    assert b.count == 0 and cache.get("d", "B") is b
    cache.drop(checkpoint_key="A")
    assert cache.get("d", "A") is None and len(cache) == 1
    cache.drop(dataset_key="d")
    assert len(cache) == 0


def test_sample_feed_builds_the_selected_sample_and_keeps_only_its_image():
    ds, feed, samples = dataset(6), SampleFeed(), Recorder()
    feed.sample_changed.connect(samples)
    assert feed.select(2) and not feed.select(2)
    feed.rebuild(ds, None, "none")
    assert samples == []  # no image yet: nothing to draw
    image = np.zeros((8, 8, 3), np.uint8)
    assert not feed.set_image(1, image)  # a late image of another row is dropped
    assert feed.set_image(2, image)
    feed.rebuild(ds, None, "none")
    sample = samples[-1][0]
    assert sample.index == 2 and sample.image is image and sample.pred_3d is None
    ref = weakref.ref(image)
    del image, sample, samples[:]
    feed.select(3)
    feed.show(None)
    assert ref() is None  # selecting another row frees the previous image
