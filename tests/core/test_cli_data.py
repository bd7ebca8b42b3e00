"""``hpe data synth | info | check`` end to end, in process, with their JSON and their errors."""

import json
import subprocess
import sys

import pytest

from hpe_core.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "synth"
    assert main(["data", "synth", "--out", str(out), "--poses", "12", "--cameras", "2", "--size", "40",
                 "--corrupt", "0.1", "--seed", "3"]) == 0
    return out


def test_synth_json_reports_what_it_wrote(tmp_path, capsys):
    code, out, err = _run(capsys, "data", "synth", "--out", str(tmp_path / "s"), "--poses", "3", "--cameras", "2",
                          "--size", "32", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["samples"] == 6 and doc["planted_faults"] == 0 and doc["bytes"] > 0
    assert (tmp_path / "s" / "dataset.json").is_file() and len(list((tmp_path / "s" / "images").rglob("*.jpg"))) == 6


def test_info_text_and_json(made, capsys):
    code, out, _ = _run(capsys, "data", "info", str(made))
    assert code == 0 and "format    native" in out and "samples   24" in out and "panoptic19" in out
    code, out, _ = _run(capsys, "data", "info", str(made), "--json")
    doc = json.loads(out)
    assert doc["samples"] == 24 and doc["cameras"] == 2 and doc["format"] == "native" and len(doc["actions"]) >= 12


def test_check_writes_a_skip_list_that_info_honours(made, tmp_path, capsys):
    skip = tmp_path / "skip.txt"
    code, out, _ = _run(capsys, "data", "check", str(made), "--json", "--write-skip-list", str(skip))
    doc = json.loads(out)
    planted = json.loads((made / "planted_faults.json").read_text())
    assert code == 0 and doc["flagged"] == len(planted) == 2
    assert {i["name"] for i in doc["issues"]} == {p["file"] for p in planted}
    code, out, _ = _run(capsys, "data", "info", str(made), "--skip-list", str(skip), "--json")
    assert json.loads(out)["samples"] == 22 and json.loads(out)["skipped"] == 2
    code, out, _ = _run(capsys, "data", "check", str(made))
    assert "2 flagged" in out and planted[0]["file"] in out


@pytest.mark.parametrize("argv, message", [
    (["data", "info", "/nonexistent/place"], "no such file or folder"),
    (["data", "synth", "--out", "{tmp}/x", "--corrupt", "2"], "corrupt must be a fraction"),
    (["data", "synth", "--out", "{tmp}/x", "--size", "8"], "size must be"),
    (["data", "check", "{tmp}"], "no dataset found"),
    (["data", "info", "{tmp}", "--skip-list", "{tmp}/none.txt"], "skip list not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message, made):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--skip-list" in argv:
        argv[2] = str(made)
    code, out, err = _run(capsys, *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_data_without_an_action_shows_help_and_exits_2(capsys):
    code, out, _ = _run(capsys, "data")
    assert code == 2 and "synth" in out and "check" in out


def test_hpe_help_does_not_import_heavy_libraries():
    code = "import sys, hpe_core.cli as c; c.build_parser().parse_args(['data', 'info', 'x']); " \
           "print(sorted(m for m in ('torch', 'cv2', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_terminal_progress_finishes_its_line_also_on_an_error():
    import io

    from hpe_core.progress import NullProgress, terminal_progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    with pytest.raises(RuntimeError):
        with terminal_progress("job", stream=stream) as bar:
            bar.set_progress(0.5)
            raise RuntimeError("boom")
    assert "job [" in stream.getvalue() and stream.getvalue().endswith("\n")
    with terminal_progress("rank 1", stream=stream, enabled=False) as quiet:
        assert isinstance(quiet, NullProgress)
