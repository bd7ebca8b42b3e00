"""Start-up of the PyInstaller bundle vs the pip-installed app, measured in the same run.

For each program, alternately, ``REPEATS`` times, in a clean environment (``env -i`` with only
DISPLAY, HOME and a private settings folder, run from an empty folder):

1. launch → window shown (``--quit-after-show``: the app prints the time its window was exposed);
2. the whole ``--self-test`` (demo, every view rendered once, screenshot, exit), with the
   time of its first rendered frame.

Prints medians and the bundle / pip ratios. Needs a display (Xvfb) and both programs::

    xvfb-run -a -s "-screen 0 1600x1200x24" python3 bench/bundle_bench.py \\
        /tmp/bundle/hpe-studio/hpe-studio /tmp/venv/bin/hpe-studio

The demo dataset is made once beforehand into a shared cache (or taken from HPE_STUDIO_CACHE),
so both programs time the same work. REPEATS=N sets the repeats (default 3).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = int(os.environ.get("REPEATS", "3"))


def clean_env(cache: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="hpe-bench-home-"))
    return {"DISPLAY": os.environ["DISPLAY"], "HOME": str(home), "HPE_STUDIO_CACHE": str(cache),
            "HPE_STUDIO_CONFIG_DIR": str(home / "config"), "PATH": "/usr/bin:/bin",
            **({"XAUTHORITY": os.environ["XAUTHORITY"]} if "XAUTHORITY" in os.environ else {})}


def shown(program: str, cache: Path) -> float:
    folder = tempfile.mkdtemp(prefix="hpe-bench-")
    t0 = time.time()
    out = subprocess.run([program, "--quit-after-show"], cwd=folder, env=clean_env(cache), capture_output=True,
                         text=True, timeout=300)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("shown ")), None)
    if line is None:
        raise SystemExit(f"{program} --quit-after-show printed no 'shown' line:\n{out.stdout}\n{out.stderr[-2000:]}")
    return float(line.split()[1]) - t0


def self_test(program: str, cache: Path) -> tuple[float, float]:
    folder = tempfile.mkdtemp(prefix="hpe-bench-")
    t0 = time.monotonic()
    out = subprocess.run([program, "--self-test", "--timeout", "600"], cwd=folder, env=clean_env(cache),
                         capture_output=True, text=True, timeout=1200)
    total = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"{program} --self-test failed:\n{out.stdout}\n{out.stderr[-3000:]}")
    first = float(re.search(r"first frame ([0-9.]+) s", out.stdout).group(1))
    return first, total


def main(bundle: str, pip: str) -> None:
    if os.environ.get("HPE_STUDIO_CACHE"):  # a cache that already holds the demo dataset
        cache = Path(os.environ["HPE_STUDIO_CACHE"])
    else:
        cache = Path(tempfile.mkdtemp(prefix="hpe-bench-cache-"))
        print("making the demo dataset once (shared cache) ...", flush=True)
        self_test(pip, cache)
    results: dict[str, dict[str, list[float]]] = {name: {"shown": [], "first": [], "total": []}
                                                  for name in ("bundle", "pip")}
    for _ in range(REPEATS):
        for name, program in (("bundle", bundle), ("pip", pip)):
            results[name]["shown"].append(shown(program, cache))
            first, total = self_test(program, cache)
            results[name]["first"].append(first)
            results[name]["total"].append(total)
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    for key, label in (("shown", "launch → window shown"), ("first", "self-test: first frame"),
                       ("total", "self-test: whole run")):
        b, p = med["bundle"][key], med["pip"][key]
        print(f"{label:26s} bundle {b:6.2f} s   pip {p:6.2f} s   bundle/pip {b / p:5.2f}")
    for name in ("bundle", "pip"):
        print(name, {k: [round(x, 2) for x in v] for k, v in results[name].items()})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
