"""packaging/: the PyInstaller spec's data files and modules exist, the freedesktop files are valid.

The bundle itself is built by ``bash packaging/build`` (minutes, outside the suite). Here the
spec is executed with PyInstaller's build classes replaced by recorders, so what it would
bundle is checked against the source tree: every data folder exists and holds files, vispy's
shaders are among them, and every hidden import can be found.
"""

import ast
import configparser
import importlib.util
import shutil
import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
METAINFO = PACKAGING / "org.hpestudio.HPEStudio.metainfo.xml"


def _fake_hooks() -> types.ModuleType:
    """``collect_data_files`` / ``collect_submodules`` for when PyInstaller is not installed."""
    import pkgutil

    def collect_data_files(package, includes=("**/*",)):
        base = Path(importlib.util.find_spec(package).origin).parent
        files = {p for pattern in includes for p in base.glob(pattern) if p.is_file() and p.suffix not in (".py", ".pyc")}
        return [(str(p), str(Path(package, p.parent.relative_to(base)))) for p in sorted(files)]

    def collect_submodules(package):
        spec = importlib.util.find_spec(package)
        return [package] + [m.name for m in pkgutil.walk_packages(spec.submodule_search_locations, package + ".")]

    module = types.ModuleType("PyInstaller.utils.hooks")
    module.collect_data_files, module.collect_submodules = collect_data_files, collect_submodules
    return module


@pytest.fixture(scope="module")
def spec():
    calls = {"Analysis": [], "EXE": [], "COLLECT": []}

    def recorder(kind):
        def record(*args, **kwargs):
            calls[kind].append((args, kwargs))
            return types.SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])
        return record

    namespace = {"SPECPATH": str(PACKAGING), "Analysis": recorder("Analysis"), "EXE": recorder("EXE"),
                 "COLLECT": recorder("COLLECT"), "PYZ": lambda *a, **k: None, "__name__": "spec"}
    saved = {name: sys.modules.get(name) for name in ("PyInstaller", "PyInstaller.utils", "PyInstaller.utils.hooks")}
    if importlib.util.find_spec("PyInstaller") is None:
        sys.modules.update({"PyInstaller": types.ModuleType("PyInstaller"),
                            "PyInstaller.utils": types.ModuleType("PyInstaller.utils"),
                            "PyInstaller.utils.hooks": _fake_hooks()})
    try:
        exec(compile((PACKAGING / "hpe-studio.spec").read_text(), "hpe-studio.spec", "exec"), namespace)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return calls


def test_the_spec_builds_two_programs_from_existing_entry_scripts(spec):
    assert sorted(kw["name"] for _a, kw in spec["EXE"]) == ["hpe", "hpe-studio"]
    scripts = [Path(args[0][0]) for args, _kw in spec["Analysis"]]
    assert [p.name for p in scripts] == ["entry_hpe_studio.py", "entry_hpe.py"] and all(p.is_file() for p in scripts)
    for path in scripts:
        ast.parse(path.read_text())
    assert spec["COLLECT"][0][1]["name"] == "hpe-studio"


def test_every_data_file_of_the_spec_exists(spec):
    datas = spec["Analysis"][0][1]["datas"]
    for source, _dest in datas:
        assert Path(source).exists(), source
    dests = {dest for _s, dest in datas}
    assert {"resources/presets", "resources/demo", "app/icons"} <= dests
    presets = ROOT / "resources" / "presets"
    assert len(list(presets.glob("*.yaml"))) >= 6
    for name in ("simclr_regress2.pt", "simsiam_regress2.pt", "simclr.pt", "simsiam.pt"):
        assert (ROOT / "resources" / "demo" / name).is_file(), name
    shaders = [s for s, d in datas if d.startswith("vispy/glsl") and s.endswith(".glsl")]
    assert len(shaders) >= 20  # vispy compiles its visuals from these at run time


def test_every_hidden_import_of_the_spec_is_found(spec):
    hidden = spec["Analysis"][0][1]["hiddenimports"]
    missing = [name for name in hidden if importlib.util.find_spec(name) is None]
    assert missing == []
    tree = ast.parse((ROOT / "app" / "main_window.py").read_text())  # without importing Qt here
    views = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                 and getattr(n.targets[0], "id", "") == "ANALYSIS_VIEWS")
    assert {module for _t, module, _c in views.values()} <= set(hidden)  # imported by name
    assert {"app.self_test", "hpe_core.training.cluster", "vispy.app.backends._pyside6"} <= set(hidden)


def test_the_build_script_and_the_desktop_entry_are_valid():
    assert subprocess.run(["bash", "-n", str(PACKAGING / "build")], capture_output=True).returncode == 0
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "hpe-studio.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].split()[0] == "hpe-studio"
    assert (ROOT / "app" / "icons" / f"{desktop['Icon']}.svg").is_file()
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(PACKAGING / "hpe-studio.desktop")],
                                capture_output=True, text=True)
        assert result.returncode == 0 and "error" not in result.stdout.lower(), result.stdout


def test_the_appstream_metainfo_names_the_desktop_entry():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == "org.hpestudio.HPEStudio"
    assert root.find("launchable").text == "hpe-studio.desktop"
    assert {b.text for b in root.iter("binary")} == {"hpe-studio", "hpe"}
    if shutil.which("appstreamcli"):
        result = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_pip_install_carries_the_presets_the_demo_and_the_freedesktop_files():
    import tomllib

    from hpe_core import resources_dir

    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    for target, patterns in data_files.items():
        for pattern in patterns:
            assert list(ROOT.glob(pattern)), (target, pattern)
    shipped = {Path(t).relative_to("share/hpe-studio").as_posix(): p for t, p in data_files.items()
               if t.startswith("share/hpe-studio/")}
    presets = [p.name for p in (resources_dir() / "presets").glob("*.yaml")]
    assert presets and shipped["resources/presets"] == ["resources/presets/*.yaml"]
    demo = {p.name for p in (resources_dir() / "demo").glob("*.pt")}
    assert demo and {p.name for p in ROOT.glob(shipped["resources/demo"][0])} == demo
