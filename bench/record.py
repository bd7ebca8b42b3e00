"""The one table of every benchmark's latest figures and their aims, kept in bench/README.md.

A benchmark run with ``--record`` calls :func:`record` with its figures; each row is keyed by
(benchmark, figure) and replaced in place, so the table always shows the latest run of each.
The file is rewritten atomically (``hpe_core.atomic``).
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
HEADER = ("| Benchmark | Figure | Latest | Aim | Run |", "|---|---|---|---|---|")


def _rows(text: str) -> dict[tuple[str, str], str]:
    body = text.split(START, 1)[1].split(END, 1)[0] if START in text else ""
    rows = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("Benchmark", "---"):
            rows[(cells[0], cells[1])] = line.strip()
    return rows


def record(bench: str, figures: list[tuple[str, str, str]], note: str = "", path: Path = README) -> None:
    """Put ``figures`` ((figure, latest, aim) each) of ``bench`` into the table of ``path``."""
    from hpe_core.atomic import atomic_write

    text = path.read_text(encoding="utf-8") if path.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    rows = _rows(text)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    run = f"{when}, {os.cpu_count()} CPUs, load {load:.1f}" + (f"; {note}" if note else "")
    for figure, latest, aim in figures:
        rows[(bench, figure)] = f"| {bench} | {figure} | {latest} | {aim} | {run} |"
    table = "\n".join([*HEADER, *(rows[k] for k in sorted(rows))])
    head, rest = text.split(START, 1)
    atomic_write(path, f"{head}{START}\n{table}\n{END}{rest.split(END, 1)[1]}")
    print(f"recorded {len(figures)} figure(s) of {bench} in {path}", file=sys.stderr)
