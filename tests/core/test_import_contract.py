"""hpe_core never sees Qt, and importing it stays cheap."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "sklearn", "umap", "PySide6", "vispy", "pyqtgraph", "app", "cv2")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(out.stdout.split())


@pytest.mark.parametrize("statement", [
    "import hpe_core",
    "import hpe_core.skeleton, hpe_core.geometry, hpe_core.metrics, hpe_core.progress",
    "import hpe_core.cli; hpe_core.cli.build_parser()",
    "import hpe_core.predictions, hpe_core.inference.files, hpe_core.inference.evaluate",
])
def test_import_does_not_load_heavy_libraries(statement):
    loaded = _modules_after(statement)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], f"{statement!r} imported {heavy}"


def test_import_linter_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    exe = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run(exe, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout
    for contract in ("app.model (the GUI's state) never sees Qt", "GUI layers: main window > actions > views",
                     "Core layers: cli | commands > studies | report > training | analysis > inference"):
        assert contract in result.stdout  # the GUI's and the core's layers are checked too


def test_the_core_root_holds_only_base_modules():
    """Every module at the root of hpe_core/ is in the base layer of the core contract (or the CLI):
    a study, a demo or a driver for one seed lives in its package (issue 26)."""
    text = (ROOT / "pyproject.toml").read_text()
    base = re.search(r'"(skeleton : [^"]+)"', text).group(1).split(" : ")
    roots = sorted(p.stem for p in (ROOT / "hpe_core").glob("*.py") if p.stem not in ("__init__", "cli"))
    assert [m for m in roots if m not in base] == []


def test_no_qt_import_anywhere_in_hpe_core_source():
    """A textual backstop for imports the linter cannot see (inside strings, importlib)."""
    pattern = re.compile(r"^\s*(from|import)\s+(PySide6|vispy|pyqtgraph|app)\b", re.MULTILINE)
    offenders = []
    for path in (ROOT / "hpe_core").rglob("*.py"):
        for match in pattern.finditer(path.read_text()):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
    assert offenders == []
