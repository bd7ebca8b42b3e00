"""JSON-lines events, resumable batch order and RNG handling of the training loop."""

import json
import random

import numpy as np
import pytest
import torch

from hpe_core.errors import InputError
from hpe_core.training.data import EpochBatches, SeededItems, subset
from hpe_core.training.events import EventWriter, parse_events, read_events, validate_event
from hpe_core.training.state import capture_rng, restore_rng, sample_seed


def test_writer_writes_valid_lines_and_parses_back(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.emit("start", config={"task": "simclr"}, total_steps=4, steps_per_epoch=2, epochs=2,
               world_size=1, resumed_from=None, epoch=0, step=0)
        w.emit("progress", epoch=0, step=1, total_steps=4, loss=float("nan"), lr=np.float32(0.1),
               samples_per_s=12.5)
        w.emit("metric", epoch=0, step=2, split="val", metrics={"loss": torch.tensor(0.5), "x": float("inf")})
        w.emit("done", epoch=2, step=4, total_steps=4, reason="finished", summary={})
    text = path.read_text()
    assert len(text.splitlines()) == 4 and "NaN" not in text and "Infinity" not in text
    events = read_events(path)
    assert [e["type"] for e in events] == ["start", "progress", "metric", "done"]
    assert events[1]["loss"] is None and events[2]["metrics"] == {"loss": 0.5, "x": None}
    assert events[1]["lr"] == pytest.approx(0.1)


def test_stdout_target(capsys):
    w = EventWriter("-")
    w.emit("log", level="info", message="hello")
    line = capsys.readouterr().out
    assert json.loads(line)["message"] == "hello"


@pytest.mark.parametrize("event, fragment", [
    ({"type": "nope", "time": 1.0}, "unknown type"),
    ({"type": "log", "level": "info", "message": "x"}, "'time' must be a number"),
    ({"type": "log", "time": 1.0, "level": "info"}, "missing key 'message'"),
    ({"type": "progress", "time": 1.0, "epoch": "0", "step": 1, "total_steps": 2, "loss": 1.0,
      "lr": 0.1, "samples_per_s": 1.0}, "'epoch' has type str"),
    ({"type": "metric", "time": 1.0, "epoch": 0, "step": 1, "split": "val", "metrics": {"a": "x"}},
     "metric 'a' is not a number"),
    ([1, 2], "expected a JSON object"),
])
def test_schema_rejects_bad_events(event, fragment):
    with pytest.raises(InputError) as err:
        validate_event(event)
    assert fragment in str(err.value)


def test_parse_reports_the_bad_line():
    good = json.dumps({"type": "log", "time": 1.0, "level": "info", "message": "m"})
    with pytest.raises(InputError, match="line 2: not JSON"):
        parse_events([good, '{"type": "log", "ti'])
    assert len(parse_events([good, "", good])) == 2


def test_writer_refuses_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        EventWriter(tmp_path / "no" / "events.jsonl")


# ----------------------------------------------------------------------------- batches
@pytest.mark.parametrize("world", [1, 2, 4])
def test_ranks_split_each_global_batch(world):
    whole = list(EpochBatches(50, 8, seed=3, epoch=1))
    parts = [list(EpochBatches(50, 8, seed=3, epoch=1, rank=r, world_size=world)) for r in range(world)]
    assert len(whole) == 6 and all(len(p) == 6 for p in parts)
    for b, batch in enumerate(whole):
        assert sum((p[b] for p in parts), []) == batch


def test_epoch_order_is_a_seeded_permutation_and_skips_without_reordering():
    a = list(EpochBatches(40, 8, seed=0, epoch=0))
    assert sorted(sum(a, [])) == list(range(40))
    assert a == list(EpochBatches(40, 8, seed=0, epoch=0))
    assert a != list(EpochBatches(40, 8, seed=0, epoch=1))
    assert list(EpochBatches(40, 8, seed=0, epoch=0, start=3)) == a[3:]
    tail = list(EpochBatches(10, 4, seed=0, epoch=0, shuffle=False, drop_last=False))
    assert tail == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(InputError, match="not divisible"):
        EpochBatches(10, 5, 0, 0, world_size=2)


class _Noisy(torch.utils.data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return (i, random.random(), float(torch.rand(1)))


def test_seeded_items_do_not_depend_on_order_and_leave_global_rngs_alone():
    items = SeededItems(_Noisy(), seed=5)
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    forward = [items[i] for i in range(10)]
    assert torch.equal(torch.rand(1), before)  # the global torch RNG did not move
    backward = [items[i] for i in reversed(range(10))][::-1]
    assert forward == backward
    items.epoch = 1
    assert items[3] != forward[3]
    assert len({sample_seed(0, e, i) for e in range(5) for i in range(100)}) == 500


def test_rng_state_round_trips_through_a_weights_only_file(tmp_path):
    state = capture_rng()
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    torch.save({"rng": state}, tmp_path / "s.pt")
    restore_rng(torch.load(tmp_path / "s.pt", weights_only=True)["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


def test_subset_is_seeded_and_ordered():
    idx = np.arange(100, 200)
    a, b = subset(idx, 10, seed=1), subset(idx, 10, seed=1)
    assert np.array_equal(a, b) and np.all(np.diff(a) > 0) and len(a) == 10
    assert subset(idx, None, 1) is idx or np.array_equal(subset(idx, None, 1), idx)


@pytest.mark.parametrize("limit", [1, 9, 20, 39])
def test_subset_by_group_keeps_whole_groups(limit):
    idx = np.arange(40)
    groups = idx // 4  # 10 poses x 4 views
    picked = subset(idx, limit, seed=2, groups=groups)
    assert 0 < len(picked) <= max(limit, 4) and len(picked) % 4 == 0
    for g in np.unique(groups[picked]):
        assert set(idx[groups == g]) <= set(picked)
