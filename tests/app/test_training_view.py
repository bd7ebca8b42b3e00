"""The training panel: a form generated from the config dataclasses that validates like the CLI,
presets, curves replayed from recorded streams, and jobs started, failed, finished and kept
from the main window with real ``hpe train`` processes."""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest
from training_helpers import (EVENTS, STREAMS, make_manager, reference_curves,  # noqa: F401
                              complete_events, kill_group, tiny_config, tiny_dataset, training_panel, wait_state,
                              window_env)

from app.views import training_view as tv
from app.views.training_form import in_words
from app.workers import training_jobs as tj
from app.workspace import path_key
from hpe_core.commands.train import presets_dir
from hpe_core.training.config import Config, config_from_dict, load_config

PRESETS = sorted(p.stem for p in presets_dir().glob("*.yaml"))


@pytest.fixture
def view(qtbot, make_manager):  # noqa: F811
    with training_panel(qtbot, make_manager()) as panel:
        yield panel


def type_into(qtbot, form, key: str, text: str) -> None:
    edit = form.fields[key].widget
    edit.clear()
    qtbot.keyClicks(edit, text)
    qtbot.waitUntil(lambda: not form._timer.isActive(), timeout=2000)


def cli_error(capsys, preset: str, key: str, text: str) -> str:
    from hpe_core.cli import main

    capsys.readouterr()
    assert main(["train", preset, "--set", f"{key}={text}"]) == 2
    return capsys.readouterr().err.strip()


# ----------------------------------------------------------------------------- the form
def test_the_form_has_a_widget_for_every_config_field(view):
    from PySide6.QtWidgets import QCheckBox, QComboBox

    hints = typing.get_type_hints(Config)
    expected = set()
    for section in dataclasses.fields(Config):
        if section.name == "task":
            continue
        cls = hints[section.name]
        for f in dataclasses.fields(cls):
            key, hint = f"{section.name}.{f.name}", typing.get_type_hints(cls)[f.name]
            expected.add(key)
            widget = view.form.fields[key].widget
            if typing.get_origin(hint) is typing.Literal:
                assert isinstance(widget, QComboBox)
                assert [widget.itemText(i) for i in range(widget.count())] == list(typing.get_args(hint))
            elif hint is bool:
                assert isinstance(widget, QCheckBox)
    assert set(view.form.fields) == expected
    assert view.form.fields["data.path"].widget is view.dataset
    assert view.form.fields["train.device"].widget is view.device


@pytest.mark.parametrize("preset", PRESETS)
def test_a_preset_fills_the_form_as_the_cli_reads_it(view, preset):
    assert view.load_config_file(presets_dir() / f"{preset}.yaml")
    assert config_from_dict(view.form.raw()) == load_config(presets_dir() / f"{preset}.yaml")
    assert view.task.currentText() == view.form.task == load_config(presets_dir() / f"{preset}.yaml").task


@pytest.mark.parametrize("key, text", [
    ("train.epochs", "abc"),
    ("train.epochs", "0"),
    ("optim.lr", "-0.1"),
    ("train.batch_size", "1"),
    ("data.image_size", ""),
    ("model.options", "[1, 2]"),
    ("contrastive.temperature", "0"),
])
def test_a_bad_value_shows_the_cli_message_as_you_type(qtbot, capsys, view, key, text):
    view.load_config_file(presets_dir() / "simclr_cpu.yaml")
    assert view.form.error is None and view.start.isEnabled()
    type_into(qtbot, view.form, key, text)
    expected = cli_error(capsys, "simclr_cpu", key, text)
    assert view.form.error and expected.endswith(view.form.error)  # the CLI names the file first
    assert view.form.error_key == key and view.form.error_label.text() == in_words(view.form.error)
    assert not view.start.isEnabled()
    type_into(qtbot, view.form, key, "2" if key != "model.options" else "{}")
    assert view.form.error is None and view.start.isEnabled()


def test_each_task_shows_its_sections_and_needs_its_inputs(qtbot, view):
    view.task.setCurrentText("regress3d")
    assert view.preset.currentText().startswith("regress")
    assert view.form.groups["regression"].isVisible() and not view.form.groups["contrastive"].isVisible()
    assert view.form.error_key == "regression.encoder" and not view.start.isEnabled()
    assert view.preset.currentText().endswith("_cpu")  # the CPU preset first, on the demo set
    type_into(qtbot, view.form, "regression.encoder", "random")
    assert view.form.error is None and view.start.isEnabled()
    view.dataset.setCurrentText("")
    qtbot.waitUntil(lambda: view.form.error_key == "data.path", timeout=2000)
    assert not view.start.isEnabled()  # no dataset named
    view.dataset.setCurrentText("demo")
    qtbot.waitUntil(view.start.isEnabled, timeout=2000)
    view.task.setCurrentText("simclr")
    assert view.form.groups["contrastive"].isVisible() and not view.form.groups["regression"].isVisible()


def test_switching_the_task_swaps_its_section_and_the_config_carries_typed_values(qtbot, view):
    from hpe_core.training.tasks import TASKS, task_sections

    for task in ("vae_lift", "unihpe", "simsiam", "lift"):
        view.task.setCurrentText(task)
        shown = [s for s in task_sections() if view.form.groups[s].isVisible()]
        assert shown == ([TASKS[task].section] if TASKS[task].section else [])  # the chosen task's, only
    view.task.setCurrentText("vae_lift")
    type_into(qtbot, view.form, "vae.latent_dim", "32")
    type_into(qtbot, view.form, "vae.lambda_kld", "0.01")
    view.form.fields["vae.supervised"].widget.setChecked(True)
    view.form.fields["vae.pose_head"].widget.setCurrentText("fk")
    raw = view.form.raw()
    assert raw["task"] == "vae_lift" and "--set" not in repr(raw)
    assert (raw["vae"]["latent_dim"], raw["vae"]["lambda_kld"], raw["vae"]["supervised"],
            raw["vae"]["pose_head"]) == (32, 0.01, True, "fk")
    assert type(raw["vae"]["latent_dim"]) is int and type(raw["train"]["epochs"]) is int
    config = view.form.revalidate()
    assert config is not None and config.vae.latent_dim == 32 and config.vae.supervised is True
    type_into(qtbot, view.form, "vae.beta_hold", "99")  # the task's own check, named in words
    assert view.form.error_key == "vae.beta_hold" and view.form.error_label.text().startswith("vae › beta hold")


def test_a_saved_config_runs_unchanged_in_the_cli(qtbot, view, tmp_path):
    view.load_config_file(presets_dir() / "simsiam_cpu.yaml")
    type_into(qtbot, view.form, "train.epochs", "3")
    view.dataset.setCurrentText(str(tmp_path / "my data: set"))  # YAML would read a bare ": " as a mapping
    for suffix in (".yaml", ".json"):
        saved = view.save_config_file(tmp_path / f"mine{suffix}")
        assert load_config(saved) == view.form.revalidate() and load_config(saved).data.path.endswith(": set")
        view.task.setCurrentText("simclr")  # another task's presets...
        assert view.load_config_file(saved) and view.preset.currentText() == f"mine{suffix} (file)"
        presets = [view.preset.itemText(i) for i in range(view.preset.count())]
        assert view.task.currentText() == "simsiam" and "simsiam_cpu" in presets  # ...give way to its own
        assert config_from_dict(view.form.raw()) == load_config(saved)


# ----------------------------------------------------------------------------- curves
@pytest.mark.parametrize("name", STREAMS)
def test_recorded_streams_replay_into_the_same_curves(qtbot, view, name):
    job = view.manager.follow(EVENTS / name)
    starts = [e for e in complete_events(name) if e["type"] == "start"]
    assert job.record.task == (starts[0]["config"]["task"] if starts else "")
    view.jobs_view.select_job(job.id)
    qtbot.waitUntil(lambda: view.jobs_view.curves.state is job.state, timeout=2000)
    view.jobs_view.curves.refresh()
    for curve, (x, y) in reference_curves(complete_events(name)).items():
        got_x, got_y = view.jobs_view.curves.curve_data(curve)
        np.testing.assert_array_equal(got_x, x)
        np.testing.assert_array_equal(got_y, y)
    if job.record.active:
        view.jobs_view.cancel.click()  # stop following
        assert job.record.state == "cancelled"


# ----------------------------------------------------------------------------- real jobs
def test_a_failing_job_shows_failed_with_its_message(qtbot, view, tmp_path, tiny_dataset):
    view.load_config_file(presets_dir() / "simclr_cpu.yaml")
    view.dataset.setCurrentText(str(tmp_path / "gone"))
    qtbot.waitUntil(lambda: view.start.isEnabled(), timeout=2000)  # the CLI checks existence at run time
    view.start.click()
    job = view.manager.jobs()[0]
    wait_state(qtbot, view.manager, job.id, "failed")
    qtbot.waitUntil(lambda: view.jobs_view._item(job.id).text(2) == "failed", timeout=2000)
    row = view.jobs_view._item(job.id)
    assert row.text(5) == job.record.message == f"data.path {tmp_path / 'gone'}: no such dataset"
    assert ("error", tj.JOB_FAILED.format(name=job.record.name, why=job.record.message)) in view.messages
    assert not view.jobs_view.resume.isEnabled() and view.jobs_view.remove.isEnabled()
    view.jobs_view.remove.click()
    assert view.manager.jobs() == []


def start_from_panel(qtbot, window, dataset, epochs: int):
    panel = window.training_view
    panel.load_config_file(presets_dir() / "simclr_cpu.yaml")
    values = tiny_config(dataset, epochs=epochs)
    for section, fields in values.items():
        for name, value in (fields.items() if isinstance(fields, dict) else ()):
            panel.form.fields[f"{section}.{name}"].set(value)
    panel.form.revalidate()
    assert panel.start.isEnabled(), panel.form.error
    panel.start.click()
    return window.training_jobs.jobs()[0]


def test_a_job_from_the_window_ends_and_its_checkpoint_joins_the_workspace(qtbot, window_env, window, tiny_dataset):
    window.training_dock.show()
    job = start_from_panel(qtbot, window, tiny_dataset, epochs=1)
    wait_state(qtbot, window.training_jobs, job.id, "done")
    key = path_key(job.record.checkpoint)
    qtbot.waitUntil(lambda: key in window.workspace.catalog.checkpoints, timeout=30_000)
    assert job.record.checkpoint.startswith(str(window_env / "runs"))
    # The jobs view redraws on a 200 ms throttle: wait for the last redraw, then every step is drawn.
    curves = window.training_view.jobs_view.curves
    qtbot.waitUntil(lambda: len(curves.curve_data("loss")[0]) == job.state.step, timeout=10_000)
    assert job.state.step > 0


@pytest.mark.parametrize("choice", ["keep", "stop"])
def test_closing_the_window_while_a_job_runs_asks_and_loses_nothing(qtbot, monkeypatch, window_env, window,
                                                                    tiny_dataset, choice):
    from app.workers.job_process import process_alive
    from app.workers.training_jobs import TrainingJobsManager
    from hpe_core.training.checkpoints import ResumePoint

    asked = []
    monkeypatch.setattr(tv, "ask_keep_running", lambda parent, count: asked.append(count) or choice)
    job = start_from_panel(qtbot, window, tiny_dataset, epochs=4)
    qtbot.waitUntil(lambda: job.state.step > 0, timeout=60_000)
    pid = job.record.pid
    try:
        window.close()
        assert asked == [1]
        if choice == "stop":  # stopped without blocking the GUI thread; the window closes after
            assert window.isVisible() and window.training_view.stop_progress.isVisible()
            qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
            assert job.record.state == "cancelled" and not process_alive(pid)
            assert ResumePoint(job.record.last_checkpoint).step == job.state.step < job.state.total_steps
            return
        assert process_alive(pid)  # kept running; the next session follows it to the end
        again = TrainingJobsManager(window_env / "jobs", poll_ms=50)
        wait_state(qtbot, again, job.id, "done")
        assert ResumePoint(again.job(job.id).record.last_checkpoint).step == again.job(job.id).state.total_steps
        again.shutdown(stop=False)
    finally:
        kill_group(pid)


def _wheel(widget, steps: int = -1) -> None:
    """A mouse-wheel turn of ``steps`` notches (negative: down) over the centre of ``widget``,
    through the window system as a real wheel is (its event propagates to the parents)."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    top = widget.window()
    QTest.wheelEvent(top.windowHandle(), QPointF(widget.mapTo(top, widget.rect().center())), QPoint(0, 120 * steps))
    QApplication.processEvents()


def test_the_wheel_scrolls_the_form_and_changes_a_field_only_when_it_has_focus(qtbot, view):
    """Scrolling over the form with the wheel scrolls it: the combo box under the pointer (the
    schedule, the task) keeps its value; once clicked (focused), the wheel changes it."""
    from PySide6.QtWidgets import QScrollArea

    view.activateWindow()
    qtbot.waitActive(view)
    view.name.setFocus()  # the keyboard is elsewhere, as while reading the form
    qtbot.waitUntil(view.name.hasFocus, timeout=2000)
    scroll = next(a for a in view.findChildren(QScrollArea) if a.widget() is view.form)
    combo = view.form.fields["schedule.name"].widget
    scroll.ensureWidgetVisible(combo)
    bar = scroll.verticalScrollBar()
    bar.setValue(bar.value() - min(bar.value(), 40))  # room to scroll down with the combo under the pointer
    assert bar.maximum() > 0
    before, top, task = combo.currentText(), bar.value(), view.task.currentText()
    for _ in range(2):
        _wheel(combo)
        _wheel(view.task)
    assert combo.currentText() == before and view.task.currentText() == task  # nothing edited
    assert bar.value() > top  # the form scrolled instead
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    _wheel(combo)
    assert combo.currentText() != before  # a focused field takes the wheel
