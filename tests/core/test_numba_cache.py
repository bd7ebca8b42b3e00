"""UMAP's numba functions are cached on disk: a second process compiles none of them for a fit,
and gets the same map."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from hpe_core.analysis.numba_cache import import_umap, numba_cache_dir
import_umap()  # before numba loads: points its cache at the user cache, enables caching
from numba.core import event
compiled = []
class Listener(event.Listener):
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        compiled.append(f"{f.__module__}.{f.__qualname__}")
event.register("numba:compile", Listener())
import numpy as np
from hpe_core.analysis.projections import project
x = np.random.default_rng(0).normal(size=(120, 6)).astype(np.float32)
coords = project(x, "umap", 2, seed=0, n_neighbors=8).coords
print(json.dumps({"compiled": compiled, "coords": coords.tolist(), "cache": str(numba_cache_dir())}))
"""


def _run(cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "HPE_STUDIO_TESTING")}
    env["HPE_STUDIO_CACHE"] = str(cache)
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.timeout(3600)  # ~30 s on an idle 2-core machine; compiling under heavy load took > 10 min
def test_a_second_process_compiles_none_of_umaps_functions(tmp_path):
    first = _run(tmp_path)
    assert first["cache"] == str(tmp_path / "numba")
    umap_compiled = [f for f in first["compiled"] if f.startswith("umap.")]
    assert umap_compiled  # the first process compiles them ...
    assert any((tmp_path / "numba").rglob("*.nbi"))  # ... and writes them to the cache
    second = _run(tmp_path)
    assert [f for f in second["compiled"] if f.startswith(("umap.", "pynndescent."))] == []
    assert second["coords"] == first["coords"]
