"""The training panel's defaults (issue 14, item 9): a CPU preset and the open dataset, errors in
words, Name names the run folder, and the finished run's checkpoint is listed as <name>/best.pt."""

from __future__ import annotations

from pathlib import Path

from training_helpers import tiny_config, tiny_dataset, wait_state, window_env  # noqa: F401

from app.workspace import path_key


def test_the_panel_starts_on_a_cpu_preset_with_the_open_dataset(qtbot, window_env, window, files):
    ws = window.workspace
    ws.open_paths([str(files.dataset)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None, timeout=30_000)
    window.show_training()
    panel = window.training_view
    assert panel.task.currentText() == "simclr" and panel.preset.currentText() == "simclr_cpu"
    assert panel.dataset.currentText() == path_key(files.dataset)
    qtbot.waitUntil(panel.start.isEnabled, timeout=5000)
    assert panel.form.raw()["data"]["path"] == path_key(files.dataset)
    assert panel.form.raw()["train"].get("device") in (None, "auto", "cpu")
    panel.task.setCurrentText("regress3d")  # every task starts on its CPU preset with the dataset
    assert panel.preset.currentText().endswith("_cpu")
    assert panel.dataset.currentText() == path_key(files.dataset)
    panel.dataset.setCurrentText("/somewhere/else")  # the user's choice stays...
    ws.open_paths([str(files.video)])
    qtbot.waitUntil(lambda: ws.catalog.dataset is not None and ws.catalog.dataset.format == "video", timeout=30_000)
    assert panel.dataset.currentText() == "/somewhere/else"  # ...and a video is no training set


def test_errors_are_said_in_words_not_cli_syntax(qtbot, window_env, window):
    window.show_training()
    panel = window.training_view
    panel.task.setCurrentText("regress3d")
    panel.dataset.setCurrentText("")
    panel.form.revalidate()
    shown = panel.form.error_label.text()
    assert panel.form.error_key == "regression.encoder" and "--set" not in shown
    assert shown.startswith("regression › encoder: no encoder given") and "(e.g. runs/simclr/best.pt)" in shown
    panel.form.fields["regression.encoder"].set("random")
    panel.form.revalidate()
    shown = panel.form.error_label.text()
    assert panel.form.error_key == "data.path" and "--set" not in shown and "data.path" not in shown
    assert shown.startswith("Dataset: no dataset given; choose one in the Dataset field")
    panel.form.fields["train.epochs"].set("abc")
    panel.dataset.setCurrentText("demo")
    panel.form.revalidate()
    assert panel.form.error_label.text() == "train › epochs: must be a whole number, got 'abc'"


def test_name_names_the_run_folder_and_its_checkpoint_is_listed_under_it(qtbot, window_env, window,
                                                                         tiny_dataset):  # noqa: F811
    window.show_training()
    panel = window.training_view
    for section, fields in tiny_config(tiny_dataset, epochs=1).items():
        for name, value in (fields.items() if isinstance(fields, dict) else ()):
            panel.form.fields[f"{section}.{name}"].set(value)
    panel.name.setText("bad/name")
    assert panel.start_job() is None and "bad/name" in panel.form.error_label.text()
    assert window.training_jobs.jobs() == []
    panel.name.setText("pose-v1")
    job = panel.start_job()
    assert job is not None and Path(job.record.output) == window_env / "runs" / "pose-v1"
    assert job.record.name == "pose-v1"
    wait_state(qtbot, window.training_jobs, job.id, "done", timeout=180_000)
    key = path_key(job.record.checkpoint)
    assert Path(key).parent == Path(job.record.output).resolve()
    qtbot.waitUntil(lambda: key in window.workspace.catalog.checkpoints, timeout=30_000)
    listed = [window.checkpoints_view.list.topLevelItem(i).text(0).strip(" ●")
              for i in range(window.checkpoints_view.list.topLevelItemCount())]
    assert f"pose-v1/{Path(key).name}" in listed
    second = panel.start_job()  # the same name again: its own folder, never mixed with the first
    assert second is not None and Path(second.record.output).name == "pose-v1-2"
    window.training_jobs.cancel(second.id)
    wait_state(qtbot, window.training_jobs, second.id, ("cancelled", "done"), timeout=180_000)
